#!/usr/bin/env python3
"""Checks the ONNX files axon exported (tests/io/write_onnx_models.cpp): each passes
onnx.checker (full check, with shape inference) and onnxruntime predicts what axon predicted
on the same inputs at batch sizes 1, 3 and 5, within 1e-5 (absolute, plus 1e-5 relative).
  check_onnx.py FOLDER
Exits 77 (ctest's skip) where onnx or onnxruntime cannot be imported (tests/io/onnx_venv.sh
makes a virtual environment with onnxruntime; Debian's python3-onnx gives the checker)."""
import json
import pathlib
import struct
import sys

try:
    import numpy as np
    import onnx
    import onnxruntime as ort
except ImportError as error:
    print(f"skipped: {error}")
    sys.exit(77)


def load_safetensors(path):
    """float32 tensors of a safetensors file (the format is an 8-byte header length, a JSON
    header, the data), read without the safetensors package."""
    data = path.read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + size])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", (name, info["dtype"])
        begin, end = info["data_offsets"]
        out[name] = np.frombuffer(data[8 + size + begin:8 + size + end], dtype="<f4").reshape(info["shape"])
    return out


def main():
    folder = pathlib.Path(sys.argv[1])
    models = sorted(folder.glob("*.onnx"))
    if not models:
        print(f"no .onnx files in {folder}")
        return 1
    failures = 0
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # as written
    for path in models:
        model = onnx.load(str(path))
        try:
            onnx.checker.check_model(model, full_check=True)
        except Exception as error:  # the checker's own exception types vary by version
            print(f"{path.name}: onnx.checker: {error}")
            failures += 1
            continue
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        io = load_safetensors(folder / (path.stem + "_io.safetensors"))
        worst = 0.0
        for batch in (1, 3, 5):
            x, want = io[f"x{batch}"], io[f"y{batch}"]
            (got,) = session.run(["output"], {"input": x})
            if got.shape != want.shape:
                print(f"{path.name}: batch {batch}: onnxruntime gave {got.shape}, axon {want.shape}")
                failures += 1
                break
            excess = np.abs(got - want) - (1e-5 + 1e-5 * np.abs(want))
            worst = max(worst, float(np.abs(got - want).max()))
            if (excess > 0).any():
                print(f"{path.name}: batch {batch}: max |onnxruntime - axon| = {np.abs(got - want).max():.3g}")
                failures += 1
                break
        else:
            print(f"{path.name}: ok (max |onnxruntime - axon| = {worst:.2g})")
    print(f"{len(models) - failures} of {len(models)} models agree (onnx {onnx.__version__}, "
          f"onnxruntime {ort.__version__})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
