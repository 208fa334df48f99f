#!/usr/bin/env python3
"""PyTorch's DistributedDataParallel on the CPU (gloo), the peer of `mpirun -np W fashion_mnist
--distributed` (scripts/bench-dist): the same MLP 784-256-128-10, Adam(1e-3), batch 128 per rank,
cross-entropy, Fashion-MNIST's 60000 training images from Debian's IDX files, each epoch's
order from DistributedSampler (padded, as axon pads). Its best in-memory loop: the whole set is
one tensor and a batch is index_select of it (no DataLoader workers to compete for the cores).

  torch_ddp.py --ranks W --threads T --epochs E --out FILE.json

Writes {"ranks", "threads", "epochs", "samples_per_second", "epoch_seconds": [...]} (rank 0's
clock; the first epoch included, as axon's train_seconds is).
"""
import argparse
import gzip
import json
import os
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def find(stem):
    for name in (stem, stem + ".gz"):
        if os.path.exists(os.path.join(DATA, name)):
            return os.path.join(DATA, name)
    raise FileNotFoundError(f"neither {DATA}/{stem} nor {DATA}/{stem}.gz exists")


def worker(rank, args, port, result_queue):
    torch.set_num_threads(args.threads)
    if args.ranks > 1:
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=args.ranks)
    x = torch.from_numpy(read_idx(find("train-images-idx3-ubyte")).reshape(-1, 784).astype(np.float32) / 255.0)
    y = torch.from_numpy(read_idx(find("train-labels-idx1-ubyte")).astype(np.int64))
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128),
                                torch.nn.ReLU(), torch.nn.Linear(128, 10))
    if args.ranks > 1:
        model = torch.nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    sampler = torch.utils.data.DistributedSampler(range(len(x)), num_replicas=args.ranks, rank=rank, shuffle=True, seed=1)
    epoch_seconds = []
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        order = torch.tensor(list(iter(sampler)))
        if args.ranks > 1:
            dist.barrier()
        start = time.perf_counter()
        for begin in range(0, len(order), args.batch):
            idx = order[begin:begin + args.batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x.index_select(0, idx)), y.index_select(0, idx))
            loss.backward()
            opt.step()
        if args.ranks > 1:
            dist.barrier()
        epoch_seconds.append(time.perf_counter() - start)
    if rank == 0:
        samples = len(order) * args.ranks * args.epochs
        result_queue.put({"ranks": args.ranks, "threads": args.threads, "epochs": args.epochs,
                          "samples_per_second": samples / sum(epoch_seconds), "epoch_seconds": epoch_seconds,
                          "torch": torch.__version__, "backend": "gloo" if args.ranks > 1 else "none"})
    if args.ranks > 1:
        dist.destroy_process_group()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    context = mp.get_context("spawn")
    queue = context.SimpleQueue()
    port = 29500 + os.getpid() % 1000
    processes = [context.Process(target=worker, args=(r, args, port, queue)) for r in range(args.ranks)]
    for p in processes:
        p.start()
    for p in processes:
        p.join()
        if p.exitcode != 0:
            raise SystemExit(f"torch_ddp: a rank exited with {p.exitcode}")
    result = queue.get()
    with open(args.out, "w") as f:
        json.dump(result, f)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
