#pragma once
// Device-side helpers shared by the kernels: grid sizing, grid-stride indices, alignment tests,
// and deterministic warp/block reductions (a fixed tree: the same inputs give the same bits).
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "cuda/cuda_kernels.h"

namespace axon::cuda {

inline constexpr int kThreads = 256;

inline std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

// Blocks for a grid-stride loop over `items` with `threads` per block: at least 1.
inline int grid_for(const LaunchConfig& lc, std::int64_t items, int threads = kThreads) {
  const std::int64_t wanted = ceil_div(items, threads);
  return static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(wanted, lc.max_blocks)));
}

// Blocks for one-block-per-row kernels (rows looped with a stride of gridDim.x).
inline int row_grid(std::int64_t rows) {
  return static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(rows, 65535)));
}

// Threads for a block that walks one row of `cols`: a multiple of 32, 32..256.
inline int row_threads(std::int64_t cols) {
  int threads = 32;
  while (threads < kThreads && threads < cols) threads *= 2;
  return threads;
}

inline bool aligned16(const void* pointer) {
  return (reinterpret_cast<std::uintptr_t>(pointer) & 15u) == 0;
}

__device__ __forceinline__ std::int64_t global_thread() {
  return static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}

__device__ __forceinline__ std::int64_t grid_stride() {
  return static_cast<std::int64_t>(gridDim.x) * blockDim.x;
}

struct SumOp {
  template <class T>
  __device__ __forceinline__ T operator()(T a, T b) const { return a + b; }
};

// The max of the CPU backend (cpu/cpu_reduce.cpp): NaN propagates, as in PyTorch: a NaN on
// either side wins, so a NaN anywhere makes the max NaN whatever the reduction tree. -inf is the
// identity. Used for softmax's row max too, where any NaN makes the whole row NaN either way.
struct MaxOp {
  __device__ __forceinline__ float operator()(float best, float v) const {
    if (best != best) return best;
    if (v != v) return v;
    return v > best ? v : best;
  }
};

template <class T, class Op>
__device__ __forceinline__ T warp_reduce(T value, Op op) {
  for (int offset = 16; offset > 0; offset >>= 1) {
    value = op(value, __shfl_down_sync(0xffffffffu, value, offset));
  }
  return value;
}

// The reduction of `value` over the block, returned to every thread. blockDim.x is a multiple of
// 32 (at most 1024); every thread of the block must call it; `shared` holds 32 values. May be
// called repeatedly with the same `shared`.
template <class T, class Op>
__device__ T block_reduce(T value, Op op, T identity, T* shared) {
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  const int warps = blockDim.x >> 5;
  value = warp_reduce(value, op);
  __syncthreads();  // the previous call's readers of shared[0] are done
  if (lane == 0) shared[warp] = value;
  __syncthreads();
  if (warp == 0) {
    T partial = lane < warps ? shared[lane] : identity;
    partial = warp_reduce(partial, op);
    if (lane == 0) shared[0] = partial;
  }
  __syncthreads();
  return shared[0];
}

}  // namespace axon::cuda
