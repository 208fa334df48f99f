#!/usr/bin/env python3
"""PyTorch (the python package: PyPI's on a CPU machine, the GPU machine's own there) on the
whole-model cases of bench/model_bench.cpp: same shapes, same data sizes, same optimizer
(the CNN also in channels_last and with fused Adam, as configurations of their own).
Every thread count up to --threads is tried on the CPU (torch.set_num_threads); bench/
report_models.py keeps the best. Writes JSON {"cases": {"<case>/pytorch/<device>/t<n>": us}}.
--variants picks the PyTorch setups: eager (always), graphs (CUDA only: the whole training
step captured once with torch.cuda.graph and replayed, as PyTorch's docs show for whole-network
capture), compile (torch.compile(model) in "max-autotune-no-cudagraphs" mode on the CPU,
"reduce-overhead" on CUDA, which adds CUDA graphs; skipped with a note where it fails).
"""
import argparse
import json

import torch

from torch_peer import timed  # median of the samples after a warm-up (this folder)

MLP = [784, 256, 128, 10]
WIDE = [784, 1024, 1024, 1024, 1024, 10]
EPOCH = 60000


def mlp(sizes, device):
    torch.manual_seed(3)
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i + 2 < len(sizes):
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers).to(device)


def cnn(device):
    """The Fashion-MNIST CNN of bench/model_cases.h (examples/fashion_mnist_cnn.cpp)."""
    torch.manual_seed(3)
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.3), nn.Linear(128, 10)).to(device)


def cnn_cases(device, variant):
    """The CNN's step at batch 128 and inference at 1 and 1024, in every setup a user would try:
    NCHW and channels_last (oneDNN's preferred layout on the CPU), Adam's for-loop and fused
    implementations; each setup is its own configuration (".cl", ".fused"), the report keeps the best."""
    formats = [("", torch.contiguous_format), (".cl", torch.channels_last)]
    if variant == "graphs":
        formats = formats[:1]
    for tag, fmt in formats:
        for adam_tag, adam in (("", {}), (".fused", {"fused": True})):
            if variant == "graphs":  # capture needs Adam's device-side step count
                adam = {"capturable": True}
            model = cnn(device).to(memory_format=fmt)
            x = torch.rand(128, 1, 28, 28, device=device).contiguous(memory_format=fmt)
            y = torch.randint(0, 10, (128,), device=device)
            opt = torch.optim.Adam(model.parameters(), lr=1e-3, **adam)
            if variant == "graphs":
                yield "cnn_step_b128", graphed_step(model, opt, x, y), tag
                break
            yield "cnn_step_b128", step_fn(variant_model(model, variant, device), opt, x, y), tag + adam_tag
        if variant == "graphs":
            continue
        for batch in (1, 1024):
            model = variant_model(cnn(device).to(memory_format=fmt).eval(), variant, device)
            x = torch.rand(batch, 1, 28, 28, device=device).contiguous(memory_format=fmt)
            def infer(model=model, x=x):
                with torch.no_grad():
                    model(x)
            yield f"cnn_infer_b{batch}", infer, tag


def data(rows, sizes, device):
    return (torch.rand(rows, sizes[0], device=device),
            torch.randint(0, sizes[-1], (rows,), device=device))


def step_fn(model, opt, x, y):
    def step():
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return step


def graphed_step(model, opt, x, y):
    """The whole step (forward, loss, backward, update) as one CUDA graph, replayed."""
    static_x, static_y = x.clone(), y.clone()
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):  # warm up: optimizer state made outside the capture
        for _ in range(3):
            step_fn(model, opt, static_x, static_y)()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    opt.zero_grad(set_to_none=True)
    with torch.cuda.graph(graph):
        torch.nn.functional.cross_entropy(model(static_x), static_y).backward()
        opt.step()
    return graph.replay


def variant_model(model, variant, device):
    if variant == "compile":
        mode = "reduce-overhead" if device.type == "cuda" else "max-autotune-no-cudagraphs"
        return torch.compile(model, mode=mode)
    return model


def lstm_cases(device, variant):
    """The LSTM and GRU steps of bench/model_cases.h: nn.LSTM / nn.GRU(128, 256, batch_first=True)
    on [64, 100, 128], mean-squared error over every step's output, Adam (PyTorch's native
    recurrent layers on the CPU, cuDNN's on CUDA)."""
    for name, module in (("lstm", torch.nn.LSTM), ("gru", torch.nn.GRU)):
        torch.manual_seed(3)
        rnn = module(128, 256, batch_first=True).to(device)
        x = torch.rand(64, 100, 128, device=device)
        target = torch.rand(64, 100, 256, device=device)
        opt = torch.optim.Adam(rnn.parameters(), lr=1e-3)
        model = variant_model(rnn, variant, device)

        def step(model=model, opt=opt, x=x, target=target):
            opt.zero_grad(set_to_none=True)
            torch.nn.functional.mse_loss(model(x)[0], target).backward()
            opt.step()
        yield f"{name}_step_b64_t100", step


def cases(device, quick, variant="eager"):
    gpu = device.type == "cuda"
    sgd = lambda params: torch.optim.SGD(params, lr=0.01, momentum=0.9)
    for batch in (128, 1024, 16384) if gpu else (128, 1024):
        model = mlp(MLP, device)
        x, y = data(batch, MLP, device)
        opt = sgd(model.parameters())
        if variant == "graphs":
            yield f"mlp_step_b{batch}", graphed_step(model, opt, x, y)
        else:
            yield f"mlp_step_b{batch}", step_fn(variant_model(model, variant, device), opt, x, y)
    yield from cnn_cases(device, variant)
    if variant != "graphs":
        yield from lstm_cases(device, variant)
    if variant == "graphs":
        model = mlp(WIDE, device)
        x, y = data(4096, WIDE, device)
        yield "wide_step_b4096", graphed_step(model, sgd(model.parameters()), x, y)
        return
    for batch in (1, 1024):
        model = variant_model(mlp(MLP, device).eval(), variant, device)
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
        model = variant_model(model, variant, device)
        x, y = data(EPOCH, MLP, device)
        def epoch(model=model, opt=opt, x=x, y=y, batch=batch):
            order = torch.randperm(EPOCH, device=device)
            for begin in range(0, EPOCH, batch):
                rows = order[begin:begin + batch]
                step_fn(model, opt, x.index_select(0, rows), y.index_select(0, rows))()
        yield f"mlp_epoch_b{batch}", epoch
    model = mlp(WIDE, device)
    x, y = data(4096, WIDE, device)
    yield "wide_step_b4096", step_fn(variant_model(model, variant, device), sgd(model.parameters()), x, y)
    if variant != "eager":
        return
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
    parser.add_argument("--variants", default="eager",
                        help="comma-separated: eager, graphs (CUDA), compile")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    device = torch.device(args.device)
    dev = "cuda:0" if device.type == "cuda" else "cpu"
    counts = sorted({1, args.threads} | {t for t in (2, 4, 8, 16) if t < args.threads})
    results = {}
    print(f"torch {torch.__version__} on {dev}")
    for variant in args.variants.split(","):
        if variant == "graphs" and device.type != "cuda":
            print("graphs: CUDA only, skipped")
            continue
        impl = "pytorch" if variant == "eager" else f"pytorch_{variant}"
        for threads in counts if device.type == "cpu" else [torch.get_num_threads()]:
            torch.set_num_threads(threads)
            try:
                for name, fn, *tag in cases(device, args.quick, variant):
                    us = timed(fn, device, args.min_time, min_samples=3)
                    key = f"{name}/{impl}/{dev}/t{threads}{tag[0] if tag else ''}"
                    results[key] = us
                    print(f"{key:50s} {us:12.1f} us", flush=True)
            except Exception as error:  # torch.compile where it does not run: say so, go on
                print(f"{impl}: failed ({type(error).__name__}: {str(error)[:200]}), skipped", flush=True)
    with open(args.out, "w") as f:
        json.dump({"torch": torch.__version__, "cases": results}, f, indent=1)


if __name__ == "__main__":
    main()
