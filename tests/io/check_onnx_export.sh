#!/bin/sh
# ctest's io.onnx_export_runs_in_onnxruntime: writes axon's ONNX exports (WRITER FOLDER) and
# checks them (check_onnx.py) in a virtual environment made here once (VENV): Debian's python3
# with its site packages (python3-onnx: the checker; numpy) and onnxruntime from PyPI. Skips
# (77) where Debian's python3-onnx is missing or onnxruntime cannot be installed.
#   check_onnx_export.sh WRITER FOLDER VENV
set -eu
writer=$1 folder=$2 venv=$3
here=$(dirname "$0")
if ! [ -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import onnx, onnxruntime' 2>/dev/null; then
  /usr/bin/python3 -c 'import onnx' 2>/dev/null || { echo "skipped: Debian's python3-onnx is not installed"; exit 77; }
  rm -rf "$venv"
  if ! { /usr/bin/python3 -m venv --system-site-packages "$venv" && "$venv/bin/pip" install -q onnxruntime; }; then
    echo "skipped: cannot make $venv with onnxruntime from PyPI"
    exit 77
  fi
fi
"$writer" "$folder"
exec "$venv/bin/python" "$here/check_onnx.py" "$folder"
