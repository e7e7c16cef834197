#!/usr/bin/env python3
"""PyTorch CPU baseline for `shoal bench-kernel`: one training step (forward, backward, Adam) of the same models
on random minibatches, without data loading, timed like the Java kernel bench (a warm-up run, then the median of
--repeats runs of --steps steps). Prints one JSON line per model and thread count: {"model", "threads",
"msPerStep"}. With --serve it times on request instead, so that `shoal bench-kernel` can take turns between its
own paths and this one: each line read, {"model", "threads", "steps"}, is answered by {"msPerStep"} for that many
steps of that model (built once, its state kept between requests). The models are bench-pytorch.py's. Needs
torch (scripts/install-pytorch).
"""
import argparse
import importlib.util
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# The kernel bench's token classifiers (KernelBench.SEQUENCES): tokens, vocabulary, embedding, units (LSTM units or
# attention size), heads, hidden dense layers, classes.
SEQUENCES = {"lstm": (128, 2000, 64, 128, 1, [], 10), "lstm-imdb": (200, 20000, 64, 64, 1, [], 2),
             "attention-imdb": (200, 20000, 64, 64, 4, [64], 2)}
CLASSES = 10


def bench_pytorch():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench-pytorch.py")
    spec = importlib.util.spec_from_file_location("bench_pytorch", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def model_and_batch(name, batch, generator):
    if name in SEQUENCES:
        steps, vocabulary, embedding, units, heads, hidden, classes = SEQUENCES[name]
        x = torch.randint(0, vocabulary, (batch, steps), generator=generator)
        module = bench_pytorch()
        if name.startswith("attention"):
            return module.AttentionClassifier(vocabulary, embedding, units, heads, hidden, classes), x
        return module.LstmClassifier(vocabulary, embedding, units, classes), x
    hidden = [500] if name == "lenet" else [256, 128]
    args = argparse.Namespace(model=name, hidden=hidden, seed=1)
    x = torch.rand(batch, 784, generator=generator)
    return bench_pytorch().build(args, 784, CLASSES), x.reshape(batch, 1, 28, 28) if name == "lenet" else x


class Step:
    """Training steps of one model on one minibatch."""

    def __init__(self, name, batch):
        generator = torch.Generator().manual_seed(7)
        self.model, self.x = model_and_batch(name, batch, generator)
        classes = SEQUENCES[name][-1] if name in SEQUENCES else CLASSES
        self.y = torch.randint(0, classes, (batch,), generator=generator)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=0.001, weight_decay=1e-4)

    def ms_per_step(self, threads, steps):
        torch.set_num_threads(threads)
        start = time.perf_counter()
        for _ in range(steps):
            self.opt.zero_grad(set_to_none=True)
            F.cross_entropy(self.model(self.x), self.y).backward()
            self.opt.step()
        return (time.perf_counter() - start) * 1000 / steps


def measure(name, threads, args):
    step = Step(name, args.batch)
    step.ms_per_step(threads, max(3, args.steps // 3))
    return statistics.median(step.ms_per_step(threads, args.steps) for _ in range(args.repeats))


def serve(batch):
    steps = {}
    for line in sys.stdin:
        r = json.loads(line)
        key = (r["model"], r["threads"])
        if key not in steps:
            steps[key] = Step(r["model"], batch)
        print(json.dumps({"msPerStep": steps[key].ms_per_step(r["threads"], r["steps"])}), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="mlp,lenet,lstm")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--serve", action="store_true", help="time steps on request, one JSON line in, one out")
    args = p.parse_args()
    if args.serve:
        serve(args.batch)
        return
    for threads in [int(t) for t in args.threads.split(",")]:
        for name in args.models.split(","):
            print(json.dumps({"model": name, "threads": threads, "msPerStep": measure(name, threads, args)}),
                  flush=True)


if __name__ == "__main__":
    main()
