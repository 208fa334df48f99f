# Shared by scripts/run and scripts/test: where to build and how.
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${AXON_BUILD_DIR:-$repo_root/build}
jobs=${AXON_JOBS:-$(nproc)}
# nvcc is often installed outside PATH.
if ! command -v nvcc >/dev/null && [[ -x /usr/local/cuda/bin/nvcc ]]; then
  export PATH=/usr/local/cuda/bin:$PATH
fi

# configure [cmake args...]: a Release build in $build_dir.
configure() {
  cmake -S "$repo_root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
}

# build [targets...]: everything when none is named.
build() {
  local targets=()
  for target in "$@"; do targets+=(--target "$target"); done
  cmake --build "$build_dir" -j "$jobs" "${targets[@]}"
}
