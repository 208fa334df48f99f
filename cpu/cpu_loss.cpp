// Losses: the mean loss and its gradient in one pass over the batch.
#include <cmath>
#include <string>

#include "axon/error.h"
#include "core/src/kernels/loss_math.h"
#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"

namespace axon::cpu {

namespace {

// Softmax cross-entropy with integer labels, fused: per row, log-sum-exp once, then the loss
// term and (softmax - one_hot) / rows as the gradient.
double softmax_cross_entropy(const Tensor& logits, const Tensor& labels, const Tensor& grad) {
  const std::int64_t rows = logits.dim(0);
  const std::int64_t cols = logits.dim(1);
  const float* x = logits.data<float>();
  const std::int32_t* label = labels.data<std::int32_t>();
  float* g = grad.defined() ? grad.data<float>() : nullptr;
  // Labels are checked before any work, so a bad one leaves the outputs untouched.
  for (std::int64_t r = 0; r < rows; ++r) {
    if (label[r] < 0 || label[r] >= cols) {
      throw ValueError("axon::softmax_cross_entropy_loss: label " + std::to_string(label[r]) + " of row " +
                       std::to_string(r) + " is outside [0, " + std::to_string(cols) + ")");
    }
  }
  const double inverse_rows = 1.0 / static_cast<double>(rows);
  double total = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : total) if (parallel_rows(rows, cols))
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * cols;
    float max = row[0];
    for (std::int64_t col = 1; col < cols; ++col) max = row[col] > max ? row[col] : max;
    double sum = 0.0;
    for (std::int64_t col = 0; col < cols; ++col) sum += std::exp(static_cast<double>(row[col] - max));
    const double log_sum = std::log(sum);
    total += log_sum - static_cast<double>(row[label[r]] - max);
    if (g != nullptr) {
      float* grad_row = g + r * cols;
      for (std::int64_t col = 0; col < cols; ++col) {
        const double probability = std::exp(static_cast<double>(row[col] - max) - log_sum);
        grad_row[col] = static_cast<float>((probability - (col == label[r] ? 1.0 : 0.0)) * inverse_rows);
      }
    }
  }
  return total * inverse_rows;
}

}  // namespace

void CpuBackend::loss(LossKind kind, const LossParams& params, const Tensor& pred, const Tensor& target,
                      const Tensor& value, const Tensor& grad) {
  double mean = 0.0;
  if (kind == LossKind::kSoftmaxCrossEntropy) {
    mean = softmax_cross_entropy(pred, target, grad);
  } else {
    const std::int64_t n = pred.numel();
    const float* p = pred.data<float>();
    const float* t = target.data<float>();
    float* g = grad.defined() ? grad.data<float>() : nullptr;
    const float inverse_n = 1.0f / static_cast<float>(n);
    const float delta = params.huber_delta;
    double total = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : total) if (n >= kParallelElements)
    for (std::int64_t i = 0; i < n; ++i) {
      const kernels::LossTerm term = kernels::loss_term(kind, delta, p[i], t[i]);
      total += term.value;
      if (g != nullptr) g[i] = term.derivative * inverse_n;
    }
    mean = total / static_cast<double>(n);
  }
  value.data<float>()[0] = static_cast<float>(mean);
}

}  // namespace axon::cpu
