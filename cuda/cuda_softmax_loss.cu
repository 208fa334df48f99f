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

// Pass 1 of an elementwise loss: each block sums its terms (double) into partials[blockIdx.x],
// or (per_term) writes each term, and writes the gradient d term / d pred * grad_scale where
// grad is not null. BCE's probabilities outside [0, 1] lower *probability_flag to the index.
__global__ void pointwise_loss_kernel(LossKind kind, float huber_delta, const float* pred,
                                      const float* target, const float* pos_weight, std::int64_t columns,
                                      float* grad, float grad_scale, std::int64_t n, double* partials,
                                      float* per_term, unsigned long long* probability_flag) {
  __shared__ double shared_d[32];
  double total = 0.0;
  for (std::int64_t i = global_thread(); i < n; i += grid_stride()) {
    const float p = pred[i];
    if (probability_flag != nullptr && (p < 0.0f || p > 1.0f)) {
      atomicMin(probability_flag, static_cast<unsigned long long>(i));
    }
    const float weight = pos_weight != nullptr ? pos_weight[i % columns] : 1.0f;
    const kernels::LossTerm term = kernels::loss_term(kind, huber_delta, p, target[i], weight);
    total += static_cast<double>(term.value);
    if (per_term != nullptr) per_term[i] = term.value;
    if (grad != nullptr) grad[i] = term.derivative * grad_scale;
  }
  if (partials == nullptr) return;
  total = block_reduce(total, SumOp{}, 0.0, shared_d);
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

// One block: checks the labels (the smallest bad row lowers *error_flag to row << 32 | label)
// and writes scale[0], each row term's factor: 1, or for a mean 1 / (summed class weight of the
// rows that count), 0 when none counts. scale[1] gets S, the sum of all class weights.
__global__ void label_scale_kernel(const std::int32_t* labels, const float* weight, std::int64_t rows,
                                   std::int64_t cols, std::int32_t ignore_index, bool mean, double* scale,
                                   unsigned long long* error_flag) {
  __shared__ double shared_d[32];
  double total = 0.0;
  for (std::int64_t r = threadIdx.x; r < rows; r += blockDim.x) {
    const std::int32_t label = labels[r];
    if (label == ignore_index) continue;
    if (label < 0 || label >= cols) {
      atomicMin(error_flag, (static_cast<unsigned long long>(r) << 32) |
                                static_cast<unsigned long long>(static_cast<std::uint32_t>(label)));
      continue;
    }
    total += weight != nullptr ? static_cast<double>(weight[label]) : 1.0;
  }
  total = block_reduce(total, SumOp{}, 0.0, shared_d);
  double weight_sum = static_cast<double>(cols);
  if (weight != nullptr) {
    double partial = 0.0;
    for (std::int64_t c = threadIdx.x; c < cols; c += blockDim.x) partial += static_cast<double>(weight[c]);
    weight_sum = block_reduce(partial, SumOp{}, 0.0, shared_d);
  }
  if (threadIdx.x == 0) {
    scale[0] = !mean ? 1.0 : (total > 0.0 ? 1.0 / total : 0.0);
    scale[1] = weight_sum;
  }
}

__device__ __forceinline__ double class_weight(const float* weight, std::int64_t c) {
  return weight != nullptr ? static_cast<double>(weight[c]) : 1.0;
}

// Pass 1 of softmax cross-entropy, one block per row, as cpu/cpu_loss.cpp: the row's term
// (1 - e) w_y (-log p_y) + (e / C) sum_k w_k (-log p_k) into row_loss[r] (and, for kNone, its
// scaled float into per_row[r]) and, where grad is not null, its gradient times scale[0]. A row
// labelled ignore_index has term and gradient 0; a bad label makes the term NaN (it is flagged).
__global__ void softmax_cross_entropy_kernel(const float* logits, const std::int32_t* labels,
                                             const float* weight, const double* scale, float smoothing,
                                             std::int32_t ignore_index, float* grad, double* row_loss,
                                             float* per_row, std::int64_t rows, std::int64_t cols) {
  __shared__ float shared_f[32];
  __shared__ double shared_d[32];
  const double uniform = static_cast<double>(smoothing) / static_cast<double>(cols);
  for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* row = logits + r * cols;
    float* grad_row = grad != nullptr ? grad + r * cols : nullptr;
    const std::int32_t label = labels[r];
    if (label == ignore_index) {
      if (threadIdx.x == 0) {
        row_loss[r] = 0.0;
        if (per_row != nullptr) per_row[r] = 0.0f;
      }
      if (grad_row != nullptr) {
        for (std::int64_t c = threadIdx.x; c < cols; c += blockDim.x) grad_row[c] = 0.0f;
      }
      continue;
    }
    const bool bad = label < 0 || label >= cols;
    // Read before the block reductions: their barriers order these reads before any thread of
    // the block writes the gradient row, which may be the logits row itself (grad == pred).
    const float label_logit = (threadIdx.x == 0 && !bad) ? row[label] : 0.0f;
    const float max = row_max(row, cols, shared_f);
    double weighted_shifted = 0.0;  // sum_k w_k (x_k - max), the smoothing term's
    if (uniform != 0.0) {
      double partial = 0.0;
      for (std::int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
        partial += class_weight(weight, c) * static_cast<double>(row[c] - max);
      }
      weighted_shifted = block_reduce(partial, SumOp{}, 0.0, shared_d);
    }
    double others = 0.0;  // sum of exp(x_k - max) over k != label: 1 - p_label = others / sum
    {
      double partial = 0.0;
      for (std::int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
        partial += c == label ? 0.0 : static_cast<double>(expf(row[c] - max));
      }
      others = block_reduce(partial, SumOp{}, 0.0, shared_d);
    }
    const double sum = row_sum_exp(row, cols, max, shared_d);
    const double log_sum = ::log(sum);
    const double factor = scale[0];
    const double label_weight = bad ? 0.0 : (1.0 - static_cast<double>(smoothing)) * class_weight(weight, label);
    if (threadIdx.x == 0) {
      double term = label_weight * (log_sum - static_cast<double>(label_logit - max));
      if (uniform != 0.0) term += uniform * (scale[1] * log_sum - weighted_shifted);
      if (bad) term = NAN;
      row_loss[r] = term;
      if (per_row != nullptr) per_row[r] = static_cast<float>(term * factor);
    }
    if (grad_row != nullptr) {
      const double inverse_sum = 1.0 / sum;
      for (std::int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
        const double p = static_cast<double>(expf(row[c] - max)) * inverse_sum;
        const double label_part = c == label ? -others * inverse_sum : p;  // p_c - [c = y]
        double g = label_weight * label_part;
        if (uniform != 0.0) g += uniform * (scale[1] * p - class_weight(weight, c));
        grad_row[c] = bad ? NAN : static_cast<float>(factor * g);
      }
    }
  }
}

// Pass 1 of NLL, one block per row: term -w_y x_y, gradient -w_y scale[0] at the label, 0 elsewhere.
__global__ void nll_kernel(const float* log_probs, const std::int32_t* labels, const float* weight,
                           const double* scale, std::int32_t ignore_index, float* grad, double* row_loss,
                           float* per_row, std::int64_t rows, std::int64_t cols) {
  for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const std::int32_t label = labels[r];
    const bool counts = label != ignore_index;
    const bool bad = counts && (label < 0 || label >= cols);
    const double w = counts && !bad ? class_weight(weight, label) : 0.0;
    // Read before the barrier below, which orders it before the gradient row (maybe pred's) is written.
    const double term = bad ? NAN : (counts ? -w * static_cast<double>(log_probs[r * cols + label]) : 0.0);
    __syncthreads();
    if (threadIdx.x == 0) {
      row_loss[r] = term;
      if (per_row != nullptr) per_row[r] = static_cast<float>(term * scale[0]);
    }
    if (grad != nullptr) {
      float* grad_row = grad + r * cols;
      for (std::int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
        grad_row[c] = (counts && c == label) ? (bad ? NAN : static_cast<float>(-w * scale[0])) : 0.0f;
      }
    }
  }
}

// *out = (float)(sum of row_loss in a fixed order * scale[0]), one block.
__global__ void finish_label_loss_kernel(const double* row_loss, std::int64_t rows, const double* scale,
                                         float* out) {
  __shared__ double shared_d[32];
  double total = 0.0;
  for (std::int64_t i = threadIdx.x; i < rows; i += blockDim.x) total += row_loss[i];
  total = block_reduce(total, SumOp{}, 0.0, shared_d);
  if (threadIdx.x == 0) *out = static_cast<float>(total * scale[0]);
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
                           const LossParams& params, const float* pred, const float* target,
                           const float* pos_weight, std::int64_t columns, float* value, float* grad,
                           std::int64_t n, unsigned long long* probability_flag) {
  const bool per_term = params.reduction == Reduction::kNone;
  if (n <= 0) {  // the free function refuses an empty batch; a mean over nothing is NaN
    if (!per_term) launch_finish_sum(lc, nullptr, 0, 0.0, value);
    return;
  }
  const int blocks = grid_for(lc, n);
  // As the CPU: the mean's gradient scale 1/n in float.
  const bool mean = params.reduction == Reduction::kMean;
  const float grad_scale = mean ? 1.0f / static_cast<float>(n) : 1.0f;
  if (per_term) {
    pointwise_loss_kernel<<<blocks, kThreads, 0, lc.stream>>>(kind, params.huber_delta, pred, target, pos_weight,
                                                              columns, grad, grad_scale, n, nullptr, value,
                                                              probability_flag);
    AXON_KERNEL_CHECK("pointwise_loss_kernel");
    return;
  }
  ScratchBuffer partials(allocator, sizeof(double) * static_cast<std::size_t>(blocks));
  pointwise_loss_kernel<<<blocks, kThreads, 0, lc.stream>>>(kind, params.huber_delta, pred, target, pos_weight,
                                                            columns, grad, grad_scale, n, partials.as<double>(),
                                                            nullptr, probability_flag);
  AXON_KERNEL_CHECK("pointwise_loss_kernel");
  launch_finish_sum(lc, partials.as<double>(), blocks, mean ? static_cast<double>(n) : 1.0, value);
}

void launch_label_loss(const LaunchConfig& lc, CachingAllocator& allocator, LossKind kind,
                       const LossParams& params, const float* pred, const std::int32_t* labels,
                       const float* weight, float* value, float* grad, std::int64_t rows, std::int64_t cols,
                       unsigned long long* error_flag) {
  const bool per_row = params.reduction == Reduction::kNone;
  if (rows <= 0) {
    if (!per_row) launch_finish_sum(lc, nullptr, 0, 0.0, value);
    return;
  }
  // cols == 0 cannot come from the free function (pred would be empty).
  // One scratch block: [0, 2) the scale and S, then the rows' terms.
  ScratchBuffer scratch(allocator, sizeof(double) * static_cast<std::size_t>(rows + 2));
  double* scale = scratch.as<double>();
  double* row_loss = scale + 2;
  label_scale_kernel<<<1, kThreads, 0, lc.stream>>>(labels, weight, rows, cols, params.ignore_index,
                                                    params.reduction == Reduction::kMean, scale, error_flag);
  AXON_KERNEL_CHECK("label_scale_kernel");
  float* per_row_value = per_row ? value : nullptr;
  if (kind == LossKind::kNll) {
    nll_kernel<<<row_grid(rows), row_threads(cols), 0, lc.stream>>>(pred, labels, weight, scale, params.ignore_index,
                                                                   grad, row_loss, per_row_value, rows, cols);
    AXON_KERNEL_CHECK("nll_kernel");
  } else {
    softmax_cross_entropy_kernel<<<row_grid(rows), row_threads(cols), 0, lc.stream>>>(
        pred, labels, weight, scale, params.label_smoothing, params.ignore_index, grad, row_loss, per_row_value,
        rows, cols);
    AXON_KERNEL_CHECK("softmax_cross_entropy_kernel");
  }
  if (per_row) return;
  finish_label_loss_kernel<<<1, kThreads, 0, lc.stream>>>(row_loss, rows, scale, value);
  AXON_KERNEL_CHECK("finish_label_loss_kernel");
}

}  // namespace axon::cuda
