#!/usr/bin/env python3
"""PyTorch CPU baseline for `shoal bench`: the same model, data, batch and optimizer as the bench's plan.

It trains on the examples the bench wrote as NumPy files (--data), exactly those the Java systems read. Single
process (--workers 1, --threads T) or DistributedDataParallel over gloo (--workers W, one thread each,
the data split W ways, the batch per worker as in Shoal). Measures every epoch like the Java systems do
(training wall time without evaluation, test accuracy after the epoch, resident memory) and writes the
bench's SystemRun JSON to --result. Needs torch (Debian: python3-torch; scripts/install-pytorch).
"""
import argparse
import json
import os
import socket
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
import torch.nn.functional as F


def load(args):
    """The examples `shoal bench` wrote (PyTorchBaseline.writeData): those the JVM systems train on, as Shoal
    read them."""
    def tensor(name):
        return torch.from_numpy(np.load(os.path.join(args.data, name)))
    x, y, tx, ty = (tensor(n) for n in ("train-x.npy", "train-y.npy", "test-x.npy", "test-y.npy"))
    if args.model in SEQUENCE_MODELS:  # token ids, held as floats by Shoal
        x, tx = x.long(), tx.long()
    elif args.model == "lenet":
        x, tx = x.reshape(len(x), 1, 28, 28), tx.reshape(len(tx), 1, 28, 28)
    return x, y.long(), tx, ty.long()


class LstmClassifier(nn.Module):
    """Shoal's lstm-classifier: embedding, an LSTM, a dense layer on its last step."""

    def __init__(self, vocabulary, embedding, units, classes):
        super().__init__()
        self.embedding = nn.Embedding(vocabulary, embedding)
        self.lstm = nn.LSTM(embedding, units, batch_first=True)
        self.out = nn.Linear(units, classes)

    def forward(self, tokens):
        steps, _ = self.lstm(self.embedding(tokens))
        return self.out(steps[:, -1])


class AttentionClassifier(nn.Module):
    """Shoal's attention-classifier: embedding, multi-head self-attention (projections without biases, as DL4J's
    SelfAttentionLayer), max over time, dense ReLU layers, output layer."""

    def __init__(self, vocabulary, embedding, units, heads, hidden, classes):
        super().__init__()
        self.embedding = nn.Embedding(vocabulary, embedding)
        self.attention = nn.MultiheadAttention(units, heads, bias=False, batch_first=True)
        layers, width = [], units
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        self.head = nn.Sequential(*layers, nn.Linear(width, classes))

    def train(self, mode=True):
        # PyTorch 1.13's inference fast path for attention fails without biases (qkv_bias must be a Tensor); the
        # attention has no dropout, so its training mode computes the same outputs.
        super().train(mode)
        self.attention.train(True)
        return self

    def forward(self, tokens):
        x = self.embedding(tokens)
        attended, _ = self.attention(x, x, x, need_weights=False)
        return self.head(attended.max(dim=1).values)


SEQUENCE_MODELS = ("lstm-classifier", "attention-classifier")


def dl4j_like(model):
    """Initialises a sequence model as Shoal's job files do (DL4J's Xavier): normal weights of variance
    2 / (fan-in + fan-out) with DL4J's fans, zero biases, and the LSTM's forget gate biased to 1, DL4J's default.
    DL4J's fans are not PyTorch's: an embedding has fan-in 1 (one id in, std 0.18 at 64 dimensions, where PyTorch's
    xavier_normal_ gives 0.01 for a vocabulary of 20,000: 78.5% on IMDB after 3 epochs, 82.4% with DL4J's), and an
    LSTM's input and recurrent weights both have fan-in units and fan-out inputs + units."""
    for name, p in model.named_parameters():
        if p.dim() == 1:
            nn.init.zeros_(p)
            if name.startswith("lstm.bias_ih"):
                units = p.numel() // 4
                nn.init.ones_(p[units:2 * units].data)  # PyTorch's gate order: input, forget, cell, output
        elif name.startswith("embedding"):
            nn.init.normal_(p, std=(2 / (1 + p.shape[1])) ** 0.5)
        elif name.startswith("lstm.weight"):
            units = p.shape[0] // 4
            nn.init.normal_(p, std=(2 / (units + model.lstm.input_size + units)) ** 0.5)
        else:
            nn.init.xavier_normal_(p)
    return model


def build(args, features, classes):
    """The plan's model, initialised as DL4J initialises it: Xavier for the sequence models, He for the MLP's and
    LeNet's ReLU layers."""
    torch.manual_seed(args.seed)
    if args.model == "lstm-classifier":
        return dl4j_like(LstmClassifier(args.vocabulary, args.embedding, args.units, classes))
    if args.model == "attention-classifier":
        return dl4j_like(AttentionClassifier(args.vocabulary, args.embedding, args.units, args.heads, args.hidden,
                                             classes))
    layers = []
    if args.model == "lenet":
        layers += [nn.Conv2d(1, 20, 5), nn.ReLU(), nn.MaxPool2d(2),
                   nn.Conv2d(20, 50, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten()]
        width = 50 * 4 * 4
    else:
        width = features
    for h in args.hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    layers.append(nn.Linear(width, classes))
    model = nn.Sequential(*layers)
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)
    return model


def optimizer(args, model):
    # L2 on weights only, as DL4J's l2 does by default.
    weights = [p for n, p in model.named_parameters() if n.endswith("weight")]
    biases = [p for n, p in model.named_parameters() if n.endswith("bias")]
    groups = [{"params": weights, "weight_decay": args.l2}, {"params": biases, "weight_decay": 0.0}]
    if args.updater == "adam":
        return torch.optim.Adam(groups, lr=args.lr, betas=(args.beta1, args.beta2), eps=args.epsilon)
    if args.updater == "momentum":
        return torch.optim.SGD(groups, lr=args.lr, momentum=args.momentum, nesterov=True)
    if args.updater == "rmsprop":
        return torch.optim.RMSprop(groups, lr=args.lr, alpha=args.rms_decay, eps=args.epsilon)
    return torch.optim.SGD(groups, lr=args.lr)


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return 0


def accuracy(model, tx, ty):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(tx), 256):
            correct += (model(tx[i:i + 256]).argmax(1) == ty[i:i + 256]).sum().item()
    model.train()
    return correct / len(tx)


def train(rank, args, result):
    torch.set_num_threads(args.threads)
    if args.flush_denormal and not torch.set_flush_denormal(True):
        raise SystemExit("--flush-denormal: this CPU has no flush-to-zero mode")
    distributed = args.workers > 1
    if distributed:
        dist.init_process_group("gloo", rank=rank, world_size=args.workers)
    x, y, tx, ty = load(args)
    classes = int(max(y.max().item(), ty.max().item())) + 1
    model = build(args, x[0].numel(), classes)
    params = sum(p.numel() for p in model.parameters())
    net = nn.parallel.DistributedDataParallel(model) if distributed else model
    opt = optimizer(args, model)
    schedule = torch.optim.lr_scheduler.StepLR(opt, step_size=args.decay_every, gamma=args.decay)
    # Each worker gets every workers-th example of a seeded permutation, as Shoal's placement does.
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(args.seed))
    mine = order[rank::args.workers]
    steps = (len(order) + args.workers * args.batch - 1) // (args.workers * args.batch)
    epochs = []
    for epoch in range(1, args.epochs + 1):
        perm = mine[torch.randperm(len(mine), generator=torch.Generator().manual_seed(args.seed * 1000 + epoch))]
        if distributed:
            dist.barrier()
        start = time.perf_counter()
        for s in range(steps):
            idx = perm[s * args.batch:(s + 1) * args.batch]
            if len(idx) == 0:  # the shorter worker's last step: DDP needs every worker in every all-reduce
                idx = perm[:1]
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(net(x[idx]), y[idx]).backward()
            opt.step()
        if distributed:
            dist.barrier()
        seconds = time.perf_counter() - start
        schedule.step()
        rss = torch.tensor([rss_mb()], dtype=torch.int64)
        if distributed:
            dist.all_reduce(rss)
        if rank == 0:
            t0 = time.perf_counter()
            acc = accuracy(model, tx, ty)
            measured = {"epoch": epoch, "examples": len(x), "trainSeconds": seconds, "testAccuracy": acc,
                        "rssMb": int(rss.item()), "steps": steps, "evalSeconds": time.perf_counter() - t0}
            if not distributed:  # one process computes all the time; DDP's all-reduce runs inside backward()
                measured.update(computeSeconds=seconds, exchangeSeconds=0.0)
            epochs.append(measured)
            print(f"epoch {epoch}/{args.epochs}  {len(x) / seconds:,.0f} ex/s  test accuracy {100 * acc:.2f}%"
                  f"  RSS {int(rss.item()):,} MB", flush=True)
    if rank == 0:
        # A ring all-reduce of float gradients: each worker sends 2 (W - 1) / W of them per step.
        sent = 2 * (args.workers - 1) * 4 * params // args.workers if distributed else 0
        with open(result, "w") as f:
            json.dump({"epochs": epochs, "bytesPerStepPerWorker": sent}, f, indent=2)
    if distributed:
        dist.destroy_process_group()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="folder of train-x.npy, train-y.npy, test-x.npy, test-y.npy")
    p.add_argument("--result", required=True)
    p.add_argument("--model", choices=("mlp", "lenet") + SEQUENCE_MODELS, default="mlp")
    p.add_argument("--hidden", type=lambda s: [int(v) for v in s.split(",") if v], default=[256, 128])
    p.add_argument("--vocabulary", type=int, default=0, help="sequence models: token ids there are")
    p.add_argument("--embedding", type=int, default=64, help="sequence models: vector per token")
    p.add_argument("--units", type=int, default=64, help="sequence models: LSTM units or attention size")
    p.add_argument("--heads", type=int, default=4, help="attention-classifier: heads")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch", type=int, default=128, help="examples per step per worker")
    p.add_argument("--updater", choices=("sgd", "momentum", "adam", "rmsprop"), default="adam")
    p.add_argument("--lr", type=float, default=0.002)
    p.add_argument("--decay", type=float, default=1.0, help="learning rate factor every --decay-every epochs")
    p.add_argument("--decay-every", type=int, default=1)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--beta1", type=float, default=0.9)
    p.add_argument("--beta2", type=float, default=0.999)
    p.add_argument("--rms-decay", type=float, default=0.95)
    p.add_argument("--epsilon", type=float, default=1e-8)
    p.add_argument("--l2", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--workers", type=int, default=1, help="1: one process; more: DDP over gloo")
    p.add_argument("--threads", type=int, default=1, help="torch threads per process")
    p.add_argument("--flush-denormal", action="store_true",
                   help="torch.set_flush_denormal(True): the CPU flushes subnormal floats to zero")
    args = p.parse_args()
    if args.workers > 1:
        os.environ["MASTER_ADDR"] = "127.0.0.1"
        os.environ["MASTER_PORT"] = str(free_port())
        mp.spawn(train, args=(args, args.result), nprocs=args.workers)
    else:
        train(0, args, args.result)


if __name__ == "__main__":
    main()
