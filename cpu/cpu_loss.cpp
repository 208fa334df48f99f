// Losses: the mean loss and its gradient in one pass over the batch.
#include <cmath>
#include <string>

#include "axon/error.h"
#include "cpu/vector_math.h"  // first: gives the math calls below their vector versions
#include "core/src/kernels/loss_math.h"
#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"

namespace axon::cpu {

namespace {

// out[j] = exp(x[j] - shift)
AXON_VECTOR_CLONES void exp_shifted(const float* x, float shift, float* out, std::int64_t n) {
#pragma omp simd
  for (std::int64_t j = 0; j < n; ++j) out[j] = std::exp(x[j] - shift);
}

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
  // grad may be pred itself (in place): each row reads its label's logit before writing.
  const double total = parallel_reduce(
      parallel_rows(rows, cols), rows, 1, 0.0,
      [=](std::int64_t first, std::int64_t end) {
        double partial = 0.0;
        for (std::int64_t r = first; r < end; ++r) {
          const float* row = x + r * cols;
          const std::int64_t target = label[r];
          float max = row[0];
          for (std::int64_t col = 1; col < cols; ++col) max = row[col] > max ? row[col] : max;
          const float target_logit = row[target];
          // e_j = exp(x_j - max), kept in the gradient row; `others` excludes the label, so that
          // 1 - p_label = others / sum keeps its precision when the prediction is confident.
          float* grad_row = g != nullptr ? g + r * cols : nullptr;
          double sum = 0.0, others = 0.0;
          if (grad_row != nullptr) {
            exp_shifted(row, max, grad_row, cols);  // vectorised, then summed in order
            for (std::int64_t col = 0; col < cols; ++col) {
              sum += grad_row[col];
              others += col == target ? 0.0 : grad_row[col];
            }
          } else {
            for (std::int64_t col = 0; col < cols; ++col) {
              const float e = std::exp(row[col] - max);
              sum += e;
              others += col == target ? 0.0 : e;
            }
          }
          partial += std::log(sum) - static_cast<double>(target_logit - max);
          if (grad_row != nullptr) {
            const double scale = inverse_rows / sum;
            for (std::int64_t col = 0; col < cols; ++col) {
              grad_row[col] = static_cast<float>(static_cast<double>(grad_row[col]) * scale);
            }
            grad_row[target] = static_cast<float>(-others * scale);
          }
        }
        return partial;
      },
      [](double a, double b) { return a + b; });
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
    const double total = parallel_reduce(
        n >= kParallelElements, n, 16, 0.0,
        [=](std::int64_t begin, std::int64_t end) {
          double partial = 0.0;
          for (std::int64_t i = begin; i < end; ++i) {
            const kernels::LossTerm term = kernels::loss_term(kind, delta, p[i], t[i]);
            partial += term.value;
            if (g != nullptr) g[i] = term.derivative * inverse_n;
          }
          return partial;
        },
        [](double a, double b) { return a + b; });
    mean = total / static_cast<double>(n);
  }
  value.data<float>()[0] = static_cast<float>(mean);
}

}  // namespace axon::cpu
