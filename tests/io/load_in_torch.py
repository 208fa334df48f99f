#!/usr/bin/env python3
"""Loads a model file axon wrote into PyTorch and checks its predictions against axon's.
  load_in_torch.py WEIGHTS.safetensors IO.safetensors
Exits 77 (ctest's skip) where torch or safetensors cannot be imported."""
import sys

try:
    import torch
    from safetensors.torch import load_file
except ImportError:
    print("torch or safetensors is not importable here: skipped")
    sys.exit(77)

weights, io = load_file(sys.argv[1]), load_file(sys.argv[2])
model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3), torch.nn.Tanh())
model.load_state_dict(weights, strict=True)
with torch.no_grad():
    got = model(io["input"])
error = (got - io["output"]).abs().max().item()
print(f"max |torch - axon| = {error:.3g}")
sys.exit(0 if error <= 1e-5 else 1)
