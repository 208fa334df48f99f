// Row-wise softmax / log-softmax and their gradients (one block per row), and the losses.
// Every sum is a fixed-order reduction (warp shuffles, then a single-block second pass over
// per-block or per-row partials): the same inputs give the same bits on every run. No float
// atomics. The formulas follow cpu/cpu_activation.cpp and cpu/cpu_loss.cpp (max in float,
// sums of exponentials in double), with exp evaluated in float.
#include <cmath>

#include "core/src/kernels/loss_math.h"
#include "cuda/cuda_check.h"
#include "cuda/cuda_common.cuh"

namespace axon::cuda {

namespace {

__device__ __forceinline__ float row_max(const float* row, std::int64_t cols, float* shared) {
  float best = -INFINITY;
  for (std::int64_t c = threadIdx.x; c < cols; c += blockDim.x) best = MaxOp{}(best, row[c]);
  return block_reduce(best, MaxOp{}, -INFINITY, shared);
}

// Sum over the row of exp(x - max), each exp in float, accumulated in double.
__device__ __forceinline__ double row_sum_exp(const float* row, std::int64_t cols, float max,
                                              double* shared) {
  double sum = 0.0;
  for (std::int64_t c = threadIdx.x; c < cols; c += blockDim.x) sum += static_cast<double>(expf(row[c] - max));
  return block_reduce(sum, SumOp{}, 0.0, shared);
}

__global__ void softmax_kernel(bool log, const float* x, float* y, std::int64_t rows, std::int64_t cols) {
  __shared__ float shared_f[32];
  __shared__ double shared_d[32];
  for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* in = x + r * cols;
    float* out = y + r * cols;
    const float max = row_max(in, cols, shared_f);
    const double sum = row_sum_exp(in, cols, max, shared_d);
    if (log) {
      const double log_sum = ::log(sum);
      for (std::int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
        out[c] = static_cast<float>(static_cast<double>(in[c] - max) - log_sum);
      }
    } else {
      const double inverse = 1.0 / sum;
      for (std::int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
        out[c] = static_cast<float>(static_cast<double>(expf(in[c] - max)) * inverse);
      }
    }
  }
}

// softmax:     dx = y * (dy - sum(dy * y))
// log_softmax: dx = dy - exp(y) * sum(dy)
__global__ void softmax_backward_kernel(bool log, const float* y, const float* grad_y, float* grad_x,
                                        std::int64_t rows, std::int64_t cols) {
  __shared__ double shared_d[32];
  for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* out = y + r * cols;
    const float* g = grad_y + r * cols;
    float* result = grad_x + r * cols;
    double partial = 0.0;
    for (std::int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
      partial += log ? static_cast<double>(g[c]) : static_cast<double>(g[c]) * out[c];
    }
    const float total = static_cast<float>(block_reduce(partial, SumOp{}, 0.0, shared_d));
    for (std::int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
      result[c] = log ? g[c] - expf(out[c]) * total : out[c] * (g[c] - total);
    }
  }
}

// Pass 1 of an elementwise loss: each block sums its terms (double) into partials[blockIdx.x]
// and writes the gradient d term / d pred * (1/n) where grad is not null.
__global__ void pointwise_loss_kernel(LossKind kind, float huber_delta, const float* pred,
                                      const float* target, float* grad, float inverse_n,
                                      std::int64_t n, double* partials) {
  __shared__ double shared_d[32];
  double total = 0.0;
  for (std::int64_t i = global_thread(); i < n; i += grid_stride()) {
    const kernels::LossTerm term = kernels::loss_term(kind, huber_delta, pred[i], target[i]);
    total += static_cast<double>(term.value);
    if (grad != nullptr) grad[i] = term.derivative * inverse_n;
  }
  total = block_reduce(total, SumOp{}, 0.0, shared_d);
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

// Pass 1 of softmax cross-entropy, one block per row: row_loss[r] = logsumexp(x_r) - x_r[label]
// and, where grad is not null, grad_r = (softmax(x_r) - one_hot(label)) / rows. A label outside
// [0, cols) makes the row's loss NaN, its gradient softmax / rows, and lowers *error_flag to
// (row << 32 | label), so the smallest bad row is the one reported.
__global__ void softmax_cross_entropy_kernel(const float* logits, const std::int32_t* labels,
                                             float* grad, double* row_loss, std::int64_t rows,
                                             std::int64_t cols, double inverse_rows,
                                             unsigned long long* error_flag) {
  __shared__ float shared_f[32];
  __shared__ double shared_d[32];
  for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* row = logits + r * cols;
    const std::int32_t label = labels[r];
    const bool bad = label < 0 || label >= cols;
    // Read before the block reductions: their barriers order this read before any thread of
    // the block writes the gradient row, which may be the logits row itself (grad == pred).
    const float label_logit = (threadIdx.x == 0 && !bad) ? row[label] : 0.0f;
    const float max = row_max(row, cols, shared_f);
    const double sum = row_sum_exp(row, cols, max, shared_d);
    const double log_sum = ::log(sum);
    if (threadIdx.x == 0) {
      if (bad) {
        atomicMin(error_flag, (static_cast<unsigned long long>(r) << 32) |
                                  static_cast<unsigned long long>(static_cast<std::uint32_t>(label)));
        row_loss[r] = NAN;
      } else {
        row_loss[r] = log_sum - static_cast<double>(label_logit - max);
      }
    }
    if (grad != nullptr) {
      float* grad_row = grad + r * cols;
      const double inverse_sum = 1.0 / sum;
      for (std::int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
        const double probability = static_cast<double>(expf(row[c] - max)) * inverse_sum;
        const double one_hot = (!bad && c == label) ? 1.0 : 0.0;
        grad_row[c] = static_cast<float>((probability - one_hot) * inverse_rows);
      }
    }
  }
}

}  // namespace

void launch_softmax(const LaunchConfig& lc, bool log, const float* x, float* y, std::int64_t rows,
                    std::int64_t cols) {
  if (rows <= 0 || cols <= 0) return;
  softmax_kernel<<<row_grid(rows), row_threads(cols), 0, lc.stream>>>(log, x, y, rows, cols);
  AXON_KERNEL_CHECK("softmax_kernel");
}

void launch_softmax_backward(const LaunchConfig& lc, bool log, const float* y, const float* grad_y,
                             float* grad_x, std::int64_t rows, std::int64_t cols) {
  if (rows <= 0 || cols <= 0) return;
  softmax_backward_kernel<<<row_grid(rows), row_threads(cols), 0, lc.stream>>>(log, y, grad_y, grad_x,
                                                                                rows, cols);
  AXON_KERNEL_CHECK("softmax_backward_kernel");
}

void launch_pointwise_loss(const LaunchConfig& lc, CachingAllocator& allocator, LossKind kind,
                           float huber_delta, const float* pred, const float* target, float* value,
                           float* grad, std::int64_t n) {
  if (n <= 0) {  // the free function refuses an empty batch; a mean over nothing is NaN
    launch_finish_sum(lc, nullptr, 0, 0.0, value);
    return;
  }
  const int blocks = grid_for(lc, n);
  ScratchBuffer partials(allocator, sizeof(double) * static_cast<std::size_t>(blocks));
  const float inverse_n = 1.0f / static_cast<float>(n);  // as the CPU: the gradient scale in float
  pointwise_loss_kernel<<<blocks, kThreads, 0, lc.stream>>>(kind, huber_delta, pred, target, grad,
                                                            inverse_n, n, partials.as<double>());
  AXON_KERNEL_CHECK("pointwise_loss_kernel");
  launch_finish_sum(lc, partials.as<double>(), blocks, static_cast<double>(n), value);
}

void launch_softmax_cross_entropy(const LaunchConfig& lc, CachingAllocator& allocator,
                                  const float* logits, const std::int32_t* labels, float* value,
                                  float* grad, std::int64_t rows, std::int64_t cols,
                                  unsigned long long* error_flag) {
  if (rows <= 0) {
    launch_finish_sum(lc, nullptr, 0, 0.0, value);
    return;
  }
  // cols == 0 cannot come from the free function (pred would be empty); the kernel would flag
  // every label as out of range.
  ScratchBuffer row_loss(allocator, sizeof(double) * static_cast<std::size_t>(rows));
  softmax_cross_entropy_kernel<<<row_grid(rows), row_threads(cols), 0, lc.stream>>>(
      logits, labels, grad, row_loss.as<double>(), rows, cols, 1.0 / static_cast<double>(rows),
      error_flag);
  AXON_KERNEL_CHECK("softmax_cross_entropy_kernel");
  launch_finish_sum(lc, row_loss.as<double>(), rows, static_cast<double>(rows), value);
}

}  // namespace axon::cuda
