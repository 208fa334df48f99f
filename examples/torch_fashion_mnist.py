#!/usr/bin/env python3
"""A model trained in PyTorch, for axon to predict with: an nn.Sequential trained on Debian's
Fashion-MNIST and written by torch.onnx.export (torch's default exporter; since torch 2.9 the
torch.export one, with the weights in MODEL.onnx.data beside it). It prints PyTorch's test
accuracy; `fashion_mnist --import-onnx MODEL.onnx` (or fashion_mnist_cnn with --cnn) prints axon's.
  torch_fashion_mnist.py MODEL.onnx [--cnn] [--epochs N]
Needs torch, numpy, onnx and onnxscript (pip install, in a virtual environment)."""
import gzip
import sys

import numpy as np
import torch
import torch.nn as nn

folder = "/usr/share/datasets/fashion-mnist"
cnn = "--cnn" in sys.argv
epochs = int(sys.argv[sys.argv.index("--epochs") + 1]) if "--epochs" in sys.argv else 2


def load(prefix):
    images = np.frombuffer(gzip.open(f"{folder}/{prefix}-images-idx3-ubyte.gz").read()[16:], np.uint8)
    labels = np.frombuffer(gzip.open(f"{folder}/{prefix}-labels-idx1-ubyte.gz").read()[8:], np.uint8)
    x = torch.from_numpy(images.astype(np.float32) / 255).reshape((-1, 1, 28, 28) if cnn else (-1, 784))
    return x, torch.from_numpy(labels.astype(np.int64))


torch.manual_seed(1)
train_x, train_y = load("train")
test_x, test_y = load("t10k")
if cnn:
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(32 * 7 * 7, 10))
else:
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(epochs):
    model.train()
    for batch in torch.randperm(len(train_x)).split(128):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(train_x[batch]), train_y[batch]).backward()
        optimizer.step()
model.eval()
with torch.no_grad():
    accuracy = (model(test_x).argmax(1) == test_y).float().mean().item()
torch.onnx.export(model, (test_x[:2],), sys.argv[1], input_names=["input"], output_names=["output"],
                  dynamic_shapes=({0: torch.export.Dim("batch", min=1)},))
print(f"PyTorch {torch.__version__}: test accuracy {accuracy:.4f}; wrote {sys.argv[1]}")
