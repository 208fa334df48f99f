// Reductions: over the whole tensor (two passes: per-block partials, then one block sums them in
// a fixed order), per row (one block per row), argmax per row, and the bias gradient (column
// sums, two passes over row chunks). Deterministic: no atomics, fixed reduction trees. Sums
// accumulate in double, as the CPU backend's do.
#include <cmath>

#include "cuda/cuda_check.h"
#include "cuda/cuda_common.cuh"
#include "cuda/column_sums.cuh"

namespace axon::cuda {

namespace {

__global__ void finish_sum_kernel(const double* partials, std::int64_t count, double divisor, float* out) {
  __shared__ double shared_d[32];
  double total = 0.0;
  for (std::int64_t i = threadIdx.x; i < count; i += blockDim.x) total += partials[i];
  total = block_reduce(total, SumOp{}, 0.0, shared_d);
  if (threadIdx.x == 0) *out = static_cast<float>(total / divisor);
}

__global__ void partial_sum_kernel(const float* x, std::int64_t n, bool vec, double* partials) {
  __shared__ double shared_d[32];
  const std::int64_t start = global_thread(), stride = grid_stride();
  const std::int64_t n4 = vec ? n / 4 : 0;
  double total = 0.0;
  for (std::int64_t i = start; i < n4; i += stride) {
    const float4 v = reinterpret_cast<const float4*>(x)[i];
    total += (static_cast<double>(v.x) + static_cast<double>(v.y)) +
             (static_cast<double>(v.z) + static_cast<double>(v.w));
  }
  for (std::int64_t i = n4 * 4 + start; i < n; i += stride) total += static_cast<double>(x[i]);
  total = block_reduce(total, SumOp{}, 0.0, shared_d);
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

__global__ void partial_max_kernel(const float* x, std::int64_t n, float* partials) {
  __shared__ float shared_f[32];
  float best = -INFINITY;
  for (std::int64_t i = global_thread(); i < n; i += grid_stride()) best = MaxOp{}(best, x[i]);
  best = block_reduce(best, MaxOp{}, -INFINITY, shared_f);
  if (threadIdx.x == 0) partials[blockIdx.x] = best;
}

__global__ void finish_max_kernel(const float* partials, std::int64_t count, float* out) {
  __shared__ float shared_f[32];
  float best = -INFINITY;
  for (std::int64_t i = threadIdx.x; i < count; i += blockDim.x) best = MaxOp{}(best, partials[i]);
  best = block_reduce(best, MaxOp{}, -INFINITY, shared_f);
  if (threadIdx.x == 0) *out = best;
}

// One block per row. Max propagates NaN (MaxOp), as the CPU's row loop: a NaN anywhere in the
// row makes its max NaN.
__global__ void reduce_rows_kernel(ReduceOp op, const float* x, float* out, std::int64_t rows,
                                   std::int64_t cols) {
  __shared__ float shared_f[32];
  __shared__ double shared_d[32];
  for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* row = x + r * cols;
    if (op == ReduceOp::kMax) {
      float best = -INFINITY;
      for (std::int64_t c = threadIdx.x; c < cols; c += blockDim.x) best = MaxOp{}(best, row[c]);
      best = block_reduce(best, MaxOp{}, -INFINITY, shared_f);
      if (threadIdx.x == 0) out[r] = best;
    } else {
      double total = 0.0;
      for (std::int64_t c = threadIdx.x; c < cols; c += blockDim.x) total += static_cast<double>(row[c]);
      total = block_reduce(total, SumOp{}, 0.0, shared_d);
      if (threadIdx.x == 0) {
        out[r] = static_cast<float>(op == ReduceOp::kMean ? total / static_cast<double>(cols) : total);
      }
    }
  }
}

// The better of two (value, index) candidates, as the CPU's argmax (the first NaN if the row
// has one, else the first index of the largest value): NaN beats any number, and between two
// NaNs or two equal values the smaller index wins. Associative and commutative, so any
// reduction tree gives the CPU's answer.
__device__ __forceinline__ void arg_combine(float& value, std::int64_t& index, float other_value,
                                            std::int64_t other_index) {
  const bool nan = value != value;
  const bool other_nan = other_value != other_value;
  bool take;
  if (other_nan) {
    take = !nan || other_index < index;
  } else {
    take = !nan && (other_value > value || (other_value == value && other_index < index));
  }
  if (take) {
    value = other_value;
    index = other_index;
  }
}

__global__ void argmax_rows_kernel(const float* x, std::int32_t* out, std::int64_t rows, std::int64_t cols) {
  __shared__ float shared_value[32];
  __shared__ std::int64_t shared_index[32];
  constexpr std::int64_t kNoIndex = 0x7fffffffffffffffLL;  // "no candidate yet"
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  const int warps = blockDim.x >> 5;
  for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* row = x + r * cols;
    float value = -INFINITY;
    std::int64_t index = kNoIndex;
    for (std::int64_t c = threadIdx.x; c < cols; c += blockDim.x) arg_combine(value, index, row[c], c);
    for (int offset = 16; offset > 0; offset >>= 1) {
      const float other_value = __shfl_down_sync(0xffffffffu, value, offset);
      const std::int64_t other_index = __shfl_down_sync(0xffffffffu, index, offset);
      arg_combine(value, index, other_value, other_index);
    }
    __syncthreads();  // the previous row's reads of shared_* are done
    if (lane == 0) {
      shared_value[warp] = value;
      shared_index[warp] = index;
    }
    __syncthreads();
    if (warp == 0) {
      value = lane < warps ? shared_value[lane] : -INFINITY;
      index = lane < warps ? shared_index[lane] : kNoIndex;
      for (int offset = 16; offset > 0; offset >>= 1) {
        const float other_value = __shfl_down_sync(0xffffffffu, value, offset);
        const std::int64_t other_index = __shfl_down_sync(0xffffffffu, index, offset);
        arg_combine(value, index, other_value, other_index);
      }
      // Every column was combined, so index is a real column (kNoIndex only if cols == 0).
      if (lane == 0) out[r] = static_cast<std::int32_t>(index == kNoIndex ? 0 : index);
    }
  }
}

// The second pass of column_sums.cuh: out[col] = sum over chunks, in chunk order.
__global__ void column_finish_kernel(const double* partials, std::int64_t chunks, std::int64_t cols,
                                     float* out) {
  for (std::int64_t col = global_thread(); col < cols; col += grid_stride()) {
    double total = 0.0;
    for (std::int64_t chunk = 0; chunk < chunks; ++chunk) total += partials[chunk * cols + col];
    out[col] = static_cast<float>(total);
  }
}

}  // namespace

void launch_finish_sum(const LaunchConfig& lc, const double* partials, std::int64_t count,
                       double divisor, float* out) {
  finish_sum_kernel<<<1, kThreads, 0, lc.stream>>>(partials, count, divisor, out);
  AXON_KERNEL_CHECK("finish_sum_kernel");
}

void launch_reduce_all(const LaunchConfig& lc, CachingAllocator& allocator, ReduceOp op,
                       const float* x, float* out, std::int64_t n) {
  if (op == ReduceOp::kMax) {
    if (n <= 0) {  // the free function refuses this; the CPU gives -inf
      launch_fill_f32(lc, out, 1, -INFINITY);
      return;
    }
    const int blocks = grid_for(lc, n);
    ScratchBuffer partials(allocator, sizeof(float) * static_cast<std::size_t>(blocks));
    partial_max_kernel<<<blocks, kThreads, 0, lc.stream>>>(x, n, partials.as<float>());
    AXON_KERNEL_CHECK("partial_max_kernel");
    finish_max_kernel<<<1, kThreads, 0, lc.stream>>>(partials.as<float>(), blocks, out);
    AXON_KERNEL_CHECK("finish_max_kernel");
    return;
  }
  // sum of nothing is 0; mean of nothing is 0/0 = NaN (as the CPU)
  const double divisor = op == ReduceOp::kMean ? static_cast<double>(n) : 1.0;
  if (n <= 0) {
    launch_finish_sum(lc, nullptr, 0, divisor, out);
    return;
  }
  const bool vec = aligned16(x);
  const int blocks = grid_for(lc, vec ? ceil_div(n, 4) : n);
  ScratchBuffer partials(allocator, sizeof(double) * static_cast<std::size_t>(blocks));
  partial_sum_kernel<<<blocks, kThreads, 0, lc.stream>>>(x, n, vec, partials.as<double>());
  AXON_KERNEL_CHECK("partial_sum_kernel");
  launch_finish_sum(lc, partials.as<double>(), blocks, divisor, out);
}

void launch_reduce_rows(const LaunchConfig& lc, ReduceOp op, const float* x, float* out,
                        std::int64_t rows, std::int64_t cols) {
  if (rows <= 0) return;
  if (cols <= 0) {  // as the CPU: an empty row reduces to 0
    launch_fill_f32(lc, out, rows, 0.0f);
    return;
  }
  reduce_rows_kernel<<<row_grid(rows), row_threads(cols), 0, lc.stream>>>(op, x, out, rows, cols);
  AXON_KERNEL_CHECK("reduce_rows_kernel");
}

void launch_argmax_rows(const LaunchConfig& lc, const float* x, std::int32_t* out,
                        std::int64_t rows, std::int64_t cols) {
  if (rows <= 0) return;
  if (cols <= 0) {  // the free function refuses this; the CPU gives 0
    launch_fill_i32(lc, out, rows, 0);
    return;
  }
  argmax_rows_kernel<<<row_grid(rows), row_threads(cols), 0, lc.stream>>>(x, out, rows, cols);
  AXON_KERNEL_CHECK("argmax_rows_kernel");
}

namespace {
struct ReadAt {
  const float* data;
  __device__ float operator()(std::int64_t i) const { return data[i]; }
};
}  // namespace

void launch_bias_grad(const LaunchConfig& lc, CachingAllocator& allocator, const float* grad,
                      float* out, std::int64_t rows, std::int64_t cols) {
  launch_column_sums(lc, allocator, ReadAt{grad}, rows, cols, out);
}

void launch_column_sums_finish(const LaunchConfig& lc, const double* partials, std::int64_t chunks,
                               std::int64_t cols, float* out) {
  if (cols <= 0) return;
  column_finish_kernel<<<grid_for(lc, cols), kThreads, 0, lc.stream>>>(partials, chunks, cols, out);
  AXON_KERNEL_CHECK("column_finish_kernel");
}

}  // namespace axon::cuda
