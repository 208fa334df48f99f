# Sourced by scripts/gpu-check and scripts/gpu-profile, which run on a lent GPU machine from the
# repository root: what scripts/gpu-prepare carried (.gpu-carry/prefix.tgz) put on the paths, the
# sm_90 configure, and a time budget that every phase's timeout comes from.
# Needs: $budget (seconds) set by the caller before `capped` is used.
# scripts/gpu-prepare packs the prefix; it is unpacked once, beside the carry rather than in it
# (so a rehearsed carry stays small), with tar, or python's tarfile where tar lacks gzip.
gpu_prefix=$PWD/.gpu-prefix/prefix
gpu_arch_dir=lib/x86_64-linux-gnu
if [[ ! -d $gpu_prefix && -f $PWD/.gpu-carry/prefix.tgz ]]; then
  mkdir -p "$PWD/.gpu-prefix"
  tar xzf "$PWD/.gpu-carry/prefix.tgz" -C "$PWD/.gpu-prefix" 2>/dev/null ||
    python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' \
      "$PWD/.gpu-carry/prefix.tgz" "$PWD/.gpu-prefix"
fi
export PATH=/usr/local/cuda/bin:$PATH
export LD_LIBRARY_PATH=$gpu_prefix/$gpu_arch_dir:$gpu_prefix/$gpu_arch_dir/openblas-openmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
gpu_started=$(date +%s)

# capped SECONDS: SECONDS, or what is left of the budget less 20 s for packing the logs, if less.
capped() {
  local left=$((budget - ($(date +%s) - gpu_started) - 20))
  ((left < $1)) && echo $((left > 1 ? left : 1)) || echo "$1"
}

# gpu_configure BUILD_DIR: a Release build for sm_90 against the carried oneDNN, OpenBLAS,
# GoogleTest and Google Benchmark.
gpu_configure() {
  timeout "$(capped 60)" cmake -S . -B "$1" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAXON_CUDA=ON \
    -DCMAKE_CUDA_ARCHITECTURES=90 \
    -DGTest_DIR="$gpu_prefix/$gpu_arch_dir/cmake/GTest" \
    -Dbenchmark_DIR="$gpu_prefix/$gpu_arch_dir/cmake/benchmark" \
    -DAXON_OPENBLAS_LIBRARY="$gpu_prefix/$gpu_arch_dir/openblas-openmp/libopenblas.so" \
    -DAXON_CBLAS_INCLUDE_DIR="$gpu_prefix/include/x86_64-linux-gnu/openblas-openmp" \
    -DAXON_ONEDNN_LIBRARY="$gpu_prefix/$gpu_arch_dir/libdnnl.so" \
    -DAXON_ONEDNN_INCLUDE_DIR="$gpu_prefix/include"
}
