#!/usr/bin/env python3
"""PyTorch (the python package: PyPI's on a CPU machine, the GPU machine's own there) on the
whole-model cases of bench/model_bench.cpp: same shapes, same data sizes, same optimizer.
Every thread count up to --threads is tried on the CPU (torch.set_num_threads); bench/
report_models.py keeps the best. Writes JSON {"cases": {"<case>/pytorch/<device>/t<n>": us}}.
On CUDA, PyTorch eager only here (issue 13 adds CUDA graphs and torch.compile).
"""
import argparse
import json
import statistics
import time

import torch

MLP = [784, 256, 128, 10]
WIDE = [784, 1024, 1024, 1024, 1024, 10]
EPOCH = 60000


def timed(fn, device, min_time):
    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    for _ in range(2):
        fn()
    sync()
    samples, start = [], time.perf_counter()
    while time.perf_counter() - start < min_time or len(samples) < 3:
        t0 = time.perf_counter()
        fn()
        sync()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1e6


def mlp(sizes, device):
    torch.manual_seed(3)
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i + 2 < len(sizes):
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers).to(device)


def data(rows, sizes, device):
    return (torch.rand(rows, sizes[0], device=device),
            torch.randint(0, sizes[-1], (rows,), device=device))


def step_fn(model, opt, x, y):
    def step():
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return step


def cases(device, quick):
    gpu = device.type == "cuda"
    sgd = lambda params: torch.optim.SGD(params, lr=0.01, momentum=0.9)
    for batch in (128, 1024, 16384) if gpu else (128, 1024):
        model = mlp(MLP, device)
        x, y = data(batch, MLP, device)
        yield f"mlp_step_b{batch}", step_fn(model, sgd(model.parameters()), x, y)
    for batch in (1, 1024):
        model = mlp(MLP, device).eval()
        x, _ = data(batch, MLP, device)
        def infer(model=model, x=x):
            with torch.no_grad():
                model(x)
        yield f"mlp_infer_b{batch}", infer
    if quick:
        return
    for batch in (128, 1024):
        model = mlp(MLP, device)
        opt = sgd(model.parameters())
        x, y = data(EPOCH, MLP, device)
        def epoch(model=model, opt=opt, x=x, y=y, batch=batch):
            order = torch.randperm(EPOCH, device=device)
            for begin in range(0, EPOCH, batch):
                rows = order[begin:begin + batch]
                step_fn(model, opt, x.index_select(0, rows), y.index_select(0, rows))()
        yield f"mlp_epoch_b{batch}", epoch
    model = mlp(WIDE, device)
    x, y = data(4096, WIDE, device)
    yield "wide_step_b4096", step_fn(model, sgd(model.parameters()), x, y)
    for n, name in ((1_000_000, "1M"), (100_000_000, "100M")):
        w = torch.rand(n, device=device, requires_grad=True)
        w.grad = torch.rand(n, device=device) * 2 - 1
        yield f"sgd_momentum_{name}", sgd([w]).step
        yield f"adam_{name}", torch.optim.Adam([w], lr=1e-3).step


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--min-time", type=float, default=0.3)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    device = torch.device(args.device)
    dev = "cuda:0" if device.type == "cuda" else "cpu"
    counts = sorted({1, args.threads} | {t for t in (2, 4, 8, 16) if t < args.threads})
    results = {}
    print(f"torch {torch.__version__} on {dev}")
    for threads in counts if device.type == "cpu" else [torch.get_num_threads()]:
        torch.set_num_threads(threads)
        for name, fn in cases(device, args.quick):
            us = timed(fn, device, args.min_time)
            key = f"{name}/pytorch/{dev}/t{threads}"
            results[key] = us
            print(f"{key:50s} {us:12.1f} us", flush=True)
    with open(args.out, "w") as f:
        json.dump({"torch": torch.__version__, "cases": results}, f, indent=1)


if __name__ == "__main__":
    main()
