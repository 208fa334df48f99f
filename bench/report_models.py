#!/usr/bin/env python3
"""The whole-model table: axon beside each peer's best configuration, as ratios.

Reads FOLDER/axon_bench_models.json (Google Benchmark: "<case>/<impl>/<device>/<config>") and,
when present, FOLDER/torch_models*.json (bench/peers/torch_models.py). For every case and device:
axon's time, samples/s, its GEMM-only time as a fraction of the step ("of GEMM floor": 1.0 would
mean nothing but GEMMs), the share of the step spent in the optimizer's update (from the
no_update case: forward, loss and backward alone), that no-update step against its GEMMs, and
peer time / axon time for the hand-written BLAS MLP, libtorch and
PyTorch, each at its fastest configuration (named beside it). Above 1: axon is faster.
With repetitions in the JSON, each case's median over them is used.
Usage: report_models.py FOLDER  (prints markdown)
"""
import json
import pathlib
import sys

SCALE = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}
PEERS = [("blas", "hand BLAS MLP"), ("libtorch", "libtorch"), ("pytorch", "PyTorch"),
         ("pytorch_graphs", "PyTorch CUDA graphs"), ("pytorch_compile", "torch.compile")]


def load(folder):
    times, rates, context = {}, {}, {}
    path = folder / "axon_bench_models.json"
    if path.exists():
        doc = json.loads(path.read_text())
        context = doc.get("context", {})
        # With repetitions (scripts/bench interleaves them at random), the median of each case.
        medians = any(b.get("aggregate_name") == "median" for b in doc["benchmarks"])
        for b in doc["benchmarks"]:
            if b.get("error_occurred"):
                continue
            if medians and b.get("aggregate_name") != "median":
                continue
            if not medians and b.get("run_type", "iteration") != "iteration":
                continue
            parts = b.get("run_name", b["name"]).split("/")
            key = tuple(parts[:4])  # case, impl, device, config
            times[key] = b["real_time"] * SCALE[b.get("time_unit", "ns")]
            rates[key] = b.get("samples_per_second") or b.get("parameters_per_second")
    torch_version = None
    for torch_file in sorted(folder.glob("torch_models*.json")):  # one file per peer run
        doc = json.loads(torch_file.read_text())
        torch_version = doc.get("torch", torch_version)
        for name, us in doc["cases"].items():
            times[tuple(name.split("/")[:4])] = us
    return times, rates, context, torch_version


def best(times, case, impl, device):
    found = [(t, cfg) for (c, i, d, cfg), t in times.items() if (c, i, d) == (case, impl, device)]
    return min(found) if found else None


def main():
    folder = pathlib.Path(sys.argv[1])
    times, rates, context, torch_version = load(folder)
    rows = sorted({(c, d) for (c, i, d, _) in times if i == "axon"}, key=lambda k: (k[1], k[0]))
    # Only the peers this run measured get a column.
    present = {i for (_, i, _, _) in times}
    peers = [(p, n) for p, n in PEERS if p in present]
    names = dict(peers)
    if torch_version and "pytorch" in names:
        names["pytorch"] = f"PyTorch {torch_version}"
    if "libtorch" in names:
        names["libtorch"] = "libtorch 1.13"
    print("| " + " | ".join(["case", "device", "axon", "axon rate", "GEMM-only / axon", "update share",
                             "GEMM-only / no-update step"] +
                            [f"{names[p]} / axon" for p, _ in peers]) + " |")
    print("|---|---|---|---|---|---|---|" + "---|" * len(peers))
    for case, device in rows:
        axon = best(times, case, "axon", device)
        t, cfg = axon
        rate = rates.get((case, "axon", device, cfg))
        unit = "params/s" if case.startswith(("sgd", "adam")) else "samples/s"
        rate_text = f"{rate / 1e6:.2f} M {unit}" if rate and rate >= 1e6 else (f"{rate / 1e3:.1f} k {unit}" if rate else "")
        floor = best(times, case, "gemm_only", device)
        floor_text = f"{floor[0] / t:.2f}" if floor else ""
        # The no-update step in axon's own configuration (same threads), else its best.
        bare_time = times.get((case, "no_update", device, cfg))
        bare = (bare_time, cfg) if bare_time is not None else best(times, case, "no_update", device)
        update_text = f"{1 - bare[0] / t:.0%}" if bare else ""  # below 0: noise
        bare_text = f"{floor[0] / bare[0]:.2f}" if floor and bare else ""
        cells = []
        for peer, _ in peers:
            p = best(times, case, peer, device)
            cells.append(f"{p[0] / t:.2f} ({p[1]})" if p else "")
        print("| " + " | ".join([case, device, f"{t:,.0f} µs ({cfg})", rate_text, floor_text, update_text,
                                 bare_text] + cells) + " |")
    print()
    print("Ratios are peer time / axon time: above 1, axon is faster. Each peer at its fastest "
          "configuration (tN: N threads; libtorch tNbM: N intra-op threads, M OpenBLAS threads).")
    if context:
        print(f"\nMachine: {context.get('num_cpus')} CPUs at {context.get('mhz_per_cpu')} MHz; "
              f"{context.get('threading', '')}")


if __name__ == "__main__":
    main()
