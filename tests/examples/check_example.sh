#!/usr/bin/env bash
# check_example.sh EXAMPLE_BINARY OUT_DIR FIELD... -- [ARGS...]
# Runs an example with --metrics and checks that it exits 0 and that its JSON holds each FIELD.
set -euo pipefail
binary=$1 out=$2
shift 2
fields=()
while (($#)) && [[ $1 != -- ]]; do fields+=("$1"); shift; done
(($#)) && shift
mkdir -p "$out"
metrics="$out/$(basename "$binary").json"
rm -f "$metrics"
"$binary" --metrics "$metrics" "$@"
for field in "${fields[@]}"; do
  grep -q "\"$field\": " "$metrics" || { echo "check_example: $metrics lacks \"$field\"" >&2; cat "$metrics" >&2; exit 1; }
done
echo "check_example: $(basename "$binary") ok: $(cat "$metrics")"
