#!/usr/bin/env python3
"""PyTorch eager on the same cases as bench/ops_bench.cpp (same shapes, same machine).

Prints one line per case with the median time per iteration in microseconds and writes JSON.
Compare with axon_bench_ops's real_time for the case of the same name: ratio = torch / axon.
"""
import argparse
import json
import statistics
import time

import torch


def timed(fn, device, min_time=0.2, min_samples=5):
    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    for _ in range(3):
        fn()
    sync()
    samples, start = [], time.perf_counter()
    while time.perf_counter() - start < min_time or len(samples) < min_samples:
        t0 = time.perf_counter()
        fn()
        sync()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1e6


def cases(device):
    gpu = device.type == "cuda"
    big = 1 << 26 if gpu else 1 << 22
    for n in (256, 1024, 4096 if gpu else 2048):
        a, b = torch.rand(n, n, device=device), torch.rand(n, n, device=device)
        c = torch.empty(n, n, device=device)
        yield f"gemm/{n}", lambda a=a, b=b, c=c: torch.mm(a, b, out=c)
    for n in (1 << 16, big):
        x, y, z = (torch.rand(n, device=device) for _ in range(3))
        yield f"copy/{n}", lambda x=x, y=y: y.copy_(x)
        yield f"add/{n}", lambda x=x, y=y, z=z: torch.add(x, y, out=z)
        yield f"relu/{n}", lambda x=x, z=z: torch.clamp(x, min=0, out=z)
        yield f"gelu/{n}", lambda x=x: torch.nn.functional.gelu(x)
    for rows in (256, 65536):
        logits = torch.randn(rows, 10, device=device, requires_grad=True)
        labels = torch.arange(rows, device=device) % 10

        def ce(logits=logits, labels=labels):
            loss = torch.nn.functional.cross_entropy(logits, labels)
            (g,) = torch.autograd.grad(loss, logits)
            return g
        yield f"softmax_cross_entropy/{rows}", ce
    for batch in (64, 256, 1024):
        model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10)).to(device)
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        x = torch.rand(batch, 784, device=device)
        y = torch.arange(batch, device=device) * 7 % 10

        def step(model=model, opt=opt, x=x, y=y):
            opt.zero_grad(set_to_none=False)
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        yield f"mlp_step_784_256_10/{batch}", step


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="torch_peer.json")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = [torch.device("cpu")] + ([torch.device("cuda:0")] if torch.cuda.is_available() else [])
    results = {"torch": torch.__version__, "threads": torch.get_num_threads(), "cases": {}}
    for device in devices:
        name = "cpu" if device.type == "cpu" else "cuda:0"
        for case, fn in cases(device):
            op, size = case.split("/")
            key = f"{op}/{name}/{size}"
            results["cases"][key] = timed(fn, device)
            print(f"{key:45s} {results['cases'][key]:12.2f} us", flush=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
