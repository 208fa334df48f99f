#!/usr/bin/env bash
# check_onnx_round_trip.sh EXAMPLE_BINARY OUT_DIR -- [ARGS...]
# Trains an image example briefly and exports it (--export-onnx), then evaluates the exported
# file with the same example's --import-onnx: both must report the same test accuracy.
set -euo pipefail
binary=$1 out=$2
shift 2
(($#)) && [[ $1 == -- ]] && shift
mkdir -p "$out"
name=$(basename "$binary")
model="$out/$name.onnx"
rm -f "$model" "$out/$name.trained.json" "$out/$name.imported.json"
"$binary" --metrics "$out/$name.trained.json" --export-onnx "$model" "$@"
"$binary" --metrics "$out/$name.imported.json" --import-onnx "$model" --device cpu
accuracy() { sed -n 's/.*"test_accuracy": \([-0-9.eE+]*\).*/\1/p' "$1"; }
trained=$(accuracy "$out/$name.trained.json") imported=$(accuracy "$out/$name.imported.json")
[[ -n $trained && $trained == "$imported" ]] ||
  { echo "check_onnx_round_trip: trained $trained, imported from ONNX $imported" >&2; exit 1; }
echo "check_onnx_round_trip: $name ok: test accuracy $trained trained and imported from ONNX"
