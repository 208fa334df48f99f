#!/usr/bin/env python3
"""Joins axon_bench_ops JSON and torch_peer.py JSON in a folder into one table of ratios.

ratio = torch time / axon time: above 1 means axon is faster.
Usage: summarize.py FOLDER
"""
import json
import pathlib
import sys


def main():
    folder = pathlib.Path(sys.argv[1])
    axon_file, torch_file = folder / "axon_bench_ops.json", folder / "torch_peer.json"
    if not axon_file.exists():
        print("summarize: no axon_bench_ops.json")
        return
    axon = {}
    for b in json.loads(axon_file.read_text())["benchmarks"]:
        if b.get("run_type", "iteration") != "iteration":
            continue
        # "gemm/cpu/256/real_time" -> "gemm/cpu/256"
        key = "/".join(b["name"].split("/")[:3])
        scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}[b.get("time_unit", "ns")]
        axon[key] = b["real_time"] * scale
    peer = json.loads(torch_file.read_text())["cases"] if torch_file.exists() else {}
    print(f"{'case':42s} {'axon us':>11s} {'torch us':>11s} {'torch/axon':>10s}")
    for key, t in axon.items():
        p = peer.get(key)
        ratio = f"{p / t:10.2f}" if p else f"{'-':>10s}"
        print(f"{key:42s} {t:11.2f} {p if p else float('nan'):11.2f} {ratio}")


if __name__ == "__main__":
    main()
