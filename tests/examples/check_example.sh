#!/usr/bin/env bash
# check_example.sh EXAMPLE_BINARY OUT_DIR FIELD... -- [ARGS...]
# Runs an example with --metrics and checks that it exits 0 and that its JSON holds each FIELD;
# a FIELD written NAME>=VALUE must also hold a number of at least VALUE. With
# AXON_EXAMPLE_LAUNCHER set (e.g. "mpiexec -np 2"), the example runs under that launcher.
set -euo pipefail
binary=$1 out=$2
shift 2
fields=()
while (($#)) && [[ $1 != -- ]]; do fields+=("$1"); shift; done
(($#)) && shift
mkdir -p "$out"
metrics="$out/$(basename "$binary").json"
rm -f "$metrics"
# (the launcher's words split on purpose)
${AXON_EXAMPLE_LAUNCHER:-} "$binary" --metrics "$metrics" "$@"
for field in "${fields[@]}"; do
  name=${field%%>=*}
  grep -q "\"$name\": " "$metrics" || { echo "check_example: $metrics lacks \"$name\"" >&2; cat "$metrics" >&2; exit 1; }
  if [[ $field == *">="* ]]; then
    value=$(sed -n "s/.*\"$name\": \([-0-9.eE+]*\).*/\1/p" "$metrics")
    awk -v got="$value" -v least="${field#*>=}" 'BEGIN { exit !(got + 0 >= least + 0) }' ||
      { echo "check_example: $name is $value, below ${field#*>=}" >&2; exit 1; }
  fi
done
echo "check_example: $(basename "$binary") ok: $(cat "$metrics")"
