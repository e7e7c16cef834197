#!/usr/bin/env python3
"""PyTorch CPU baseline for `shoal bench`: the same model, data, batch and optimizer as the bench's plan.

Single process (--workers 1, --threads T) or DistributedDataParallel over gloo (--workers W, one thread each,
the data split W ways, the batch per worker as in Shoal). Measures every epoch like the Java systems do
(training wall time without evaluation, test accuracy after the epoch, resident memory) and writes the
bench's SystemRun JSON to --result. Needs torch (Debian: python3-torch; scripts/install-pytorch).
"""
import argparse
import gzip
import json
import os
import socket
import struct
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
import torch.nn.functional as F


def read_idx(path, limit=None):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        zero, dtype, rank = struct.unpack(">HBB", f.read(4))
        if zero != 0 or dtype != 0x08:
            sys.exit(f"{path}: not an unsigned-byte IDX file (magic {zero:#x} {dtype:#x})")
        dims = struct.unpack(">" + "I" * rank, f.read(4 * rank))
        data = np.frombuffer(f.read(), dtype=np.uint8).reshape(dims)
    return data if limit is None else data[:limit]


def load(args):
    limit = args.train_limit if args.train_limit > 0 else None
    x = read_idx(args.train_images, limit).astype(np.float32) / 255.0
    y = read_idx(args.train_labels, limit).astype(np.int64)
    tx = read_idx(args.test_images).astype(np.float32) / 255.0
    ty = read_idx(args.test_labels).astype(np.int64)
    shape = (1, 28, 28) if args.model == "lenet" else (-1,)
    x = torch.from_numpy(x).reshape(len(x), *shape)
    tx = torch.from_numpy(tx).reshape(len(tx), *shape)
    return x, torch.from_numpy(y), tx, torch.from_numpy(ty)


def build(args, features, classes):
    torch.manual_seed(args.seed)
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
        for i in range(0, len(tx), 1000):
            correct += (model(tx[i:i + 1000]).argmax(1) == ty[i:i + 1000]).sum().item()
    model.train()
    return correct / len(tx)


def train(rank, args, result):
    torch.set_num_threads(args.threads)
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
            acc = accuracy(model, tx, ty)
            epochs.append({"epoch": epoch, "examples": len(x), "trainSeconds": seconds, "testAccuracy": acc,
                           "rssMb": int(rss.item())})
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
    for name in ("train-images", "train-labels", "test-images", "test-labels", "result"):
        p.add_argument("--" + name, required=True)
    p.add_argument("--train-limit", type=int, default=0, help="first N training examples (0: all)")
    p.add_argument("--model", choices=("mlp", "lenet"), default="mlp")
    p.add_argument("--hidden", type=lambda s: [int(v) for v in s.split(",") if v], default=[256, 128])
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
    args = p.parse_args()
    if args.workers > 1:
        os.environ["MASTER_ADDR"] = "127.0.0.1"
        os.environ["MASTER_PORT"] = str(free_port())
        mp.spawn(train, args=(args, args.result), nprocs=args.workers)
    else:
        train(0, args, args.result)


if __name__ == "__main__":
    main()
