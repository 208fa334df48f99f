#!/usr/bin/env bash
# Installs the built axon into a scratch prefix, then configures, builds and runs an outside
# project that uses find_package(axon) and links axon::axon.
# Usage: install_test.sh BUILD_DIR CONSUMER_SOURCE_DIR WORK_DIR [GENERATOR]
set -euo pipefail
build_dir=$1 consumer_dir=$2 work_dir=$3 generator=${4:-}
rm -rf "$work_dir"
cmake --install "$build_dir" --prefix "$work_dir/prefix" >/dev/null
args=(-S "$consumer_dir" -B "$work_dir/consumer-build" -DCMAKE_PREFIX_PATH="$work_dir/prefix")
[[ -n $generator ]] && args+=(-G "$generator")
cmake "${args[@]}" >/dev/null
cmake --build "$work_dir/consumer-build" >/dev/null
"$work_dir/consumer-build/consumer"
