#!/usr/bin/env python3
"""A model that fashion_mnist or fashion_mnist_cnn exported (--export-onnx FILE) predicting the
Fashion-MNIST test set in onnxruntime: the accuracy it prints is the one axon printed.
  onnx_fashion_mnist.py MODEL.onnx [--images]   (--images: the CNN's [N, 1, 28, 28] input)
Needs numpy and onnxruntime (pip install onnxruntime, in a virtual environment)."""
import gzip
import sys

import numpy as np
import onnxruntime as ort

folder = "/usr/share/datasets/fashion-mnist"
images = np.frombuffer(gzip.open(f"{folder}/t10k-images-idx3-ubyte.gz").read()[16:], np.uint8)
labels = np.frombuffer(gzip.open(f"{folder}/t10k-labels-idx1-ubyte.gz").read()[8:], np.uint8)
x = (images.astype(np.float32) / 255).reshape((-1, 1, 28, 28) if "--images" in sys.argv else (-1, 784))
session = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
(logits,) = session.run(["output"], {"input": x})
print(f"onnxruntime {ort.__version__}: test accuracy {(logits.argmax(1) == labels).mean():.4f}")
