#pragma once
// Deterministic column sums, the shape of every bias gradient: out[col] = sum over rows of
// value_at(r * cols + col). Two passes, no float atomics:
//   1. the rows are cut into chunks; one thread per (chunk, column) sums its chunk in double, in
//      row order (threads of a warp take neighbouring columns, so each row is read coalesced);
//   2. one thread per column adds the chunks' partials in chunk order.
// value_at is a small device functor; it may also write (the fused backward writes grad_pre).
#include <algorithm>
#include <cstdint>

#include "cuda/cuda_check.h"
#include "cuda/cuda_common.cuh"
#include "cuda/cuda_memory.h"

namespace axon::cuda {

template <class ValueAt>
__global__ void column_partials_kernel(ValueAt value_at, std::int64_t rows, std::int64_t cols,
                                       std::int64_t rows_per_chunk, double* partials) {
  const std::int64_t col = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (col >= cols) return;
  const std::int64_t chunk = blockIdx.y;
  const std::int64_t begin = chunk * rows_per_chunk;
  const std::int64_t end = begin + rows_per_chunk < rows ? begin + rows_per_chunk : rows;
  double total = 0.0;
  for (std::int64_t r = begin; r < end; ++r) total += static_cast<double>(value_at(r * cols + col));
  partials[chunk * cols + col] = total;
}

template <class ValueAt>
void launch_column_sums(const LaunchConfig& lc, CachingAllocator& allocator, ValueAt value_at,
                        std::int64_t rows, std::int64_t cols, float* out) {
  if (cols <= 0) return;
  if (rows <= 0) {  // a sum over no rows
    launch_fill_f32(lc, out, cols, 0.0f);
    return;
  }
  // Enough chunks to fill the device when there are few columns, none shorter than 64 rows.
  const std::int64_t chunks = std::min<std::int64_t>(ceil_div(rows, 64), 128);
  const std::int64_t rows_per_chunk = ceil_div(rows, chunks);
  ScratchBuffer partials(allocator, sizeof(double) * static_cast<std::size_t>(chunks * cols));
  const dim3 grid(static_cast<unsigned>(ceil_div(cols, kThreads)), static_cast<unsigned>(chunks));
  column_partials_kernel<<<grid, kThreads, 0, lc.stream>>>(value_at, rows, cols, rows_per_chunk,
                                                           partials.as<double>());
  AXON_KERNEL_CHECK("column_partials_kernel");
  launch_column_sums_finish(lc, partials.as<double>(), chunks, cols, out);
}

}  // namespace axon::cuda
