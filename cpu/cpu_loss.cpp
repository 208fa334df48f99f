// Losses: the value (reduced as asked) and its gradient in one pass over the batch.
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

// What the label losses share: a row counts unless its label is ignore_index; its weight is its
// class's (1 without weights); a mean divides by the counted rows' summed weight.
struct LabelRows {
  const std::int32_t* label;
  const float* weight;  // [classes] or null
  std::int32_t ignore_index;
  bool counts(std::int64_t r) const { return label[r] != ignore_index; }
  double weight_of(std::int64_t c) const { return weight != nullptr ? static_cast<double>(weight[c]) : 1.0; }
};

// Checks every label before any work (so a bad one leaves the outputs untouched) and returns
// the factor each row's term is multiplied by: 1, or 1 / (summed weight) for a mean (0 when
// no row counts: value and gradient 0).
double label_scale(const char* name, const LabelRows& rows_of, std::int64_t rows, std::int64_t classes,
                   Reduction reduction) {
  double total_weight = 0.0;
  for (std::int64_t r = 0; r < rows; ++r) {
    if (!rows_of.counts(r)) continue;
    const std::int32_t label = rows_of.label[r];
    if (label < 0 || label >= classes) {
      throw ValueError(std::string("axon::") + name + "_loss: label " + std::to_string(label) + " of row " +
                       std::to_string(r) + " is outside [0, " + std::to_string(classes) + ")");
    }
    total_weight += rows_of.weight_of(label);
  }
  if (reduction != Reduction::kMean) return 1.0;
  return total_weight > 0.0 ? 1.0 / total_weight : 0.0;
}

// Softmax cross-entropy with integer labels, fused: per row, log-sum-exp once, then the term
// (1 - e) w_y (-log p_y) + (e / C) sum_k w_k (-log p_k), e the label smoothing, and its gradient
// (1 - e) w_y (p_c - [c = y]) + (e / C) (S p_c - w_c), S = sum_k w_k, times the scale.
// Returns the sum of the rows' scaled terms; row_values (Reduction::kNone) gets each row's.
double softmax_cross_entropy(const Tensor& logits, const LabelRows& rows_of, double scale, float smoothing,
                             const Tensor& grad, float* row_values) {
  const std::int64_t rows = logits.dim(0);
  const std::int64_t cols = logits.dim(1);
  const float* x = logits.data<float>();
  float* g = grad.defined() ? grad.data<float>() : nullptr;
  const double uniform = static_cast<double>(smoothing) / static_cast<double>(cols);  // e / C
  double weight_sum = static_cast<double>(cols);                                      // S
  if (rows_of.weight != nullptr) {
    weight_sum = 0.0;
    for (std::int64_t c = 0; c < cols; ++c) weight_sum += rows_of.weight[c];
  }
  // grad may be pred itself (in place): each row reads what it needs before writing.
  return parallel_reduce(
      parallel_rows(rows, cols), rows, 1, 0.0,
      [=](std::int64_t first, std::int64_t end) {
        double partial = 0.0;
        for (std::int64_t r = first; r < end; ++r) {
          const float* row = x + r * cols;
          float* grad_row = g != nullptr ? g + r * cols : nullptr;
          if (!rows_of.counts(r)) {
            if (grad_row != nullptr) std::fill(grad_row, grad_row + cols, 0.0f);
            if (row_values != nullptr) row_values[r] = 0.0f;
            continue;
          }
          const std::int64_t target = rows_of.label[r];
          float max = row[0];
          for (std::int64_t col = 1; col < cols; ++col) max = row[col] > max ? row[col] : max;
          const float target_logit = row[target];
          // The smoothing term's sum_k w_k (x_k - max), read before the row is overwritten.
          double weighted_shifted = 0.0;
          if (uniform != 0.0) {
            for (std::int64_t col = 0; col < cols; ++col) {
              weighted_shifted += rows_of.weight_of(col) * static_cast<double>(row[col] - max);
            }
          }
          // e_j = exp(x_j - max), kept in the gradient row; `others` excludes the label, so that
          // 1 - p_label = others / sum keeps its precision when the prediction is confident.
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
          const double log_sum = std::log(sum);
          const double label_weight = (1.0 - static_cast<double>(smoothing)) * rows_of.weight_of(target);
          double term = label_weight * (log_sum - static_cast<double>(target_logit - max));
          if (uniform != 0.0) term += uniform * (weight_sum * log_sum - weighted_shifted);
          if (row_values != nullptr) row_values[r] = static_cast<float>(term * scale);
          partial += term;
          if (grad_row == nullptr) continue;
          if (uniform == 0.0) {
            const double factor = scale * label_weight / sum;
            for (std::int64_t col = 0; col < cols; ++col) {
              grad_row[col] = static_cast<float>(static_cast<double>(grad_row[col]) * factor);
            }
            grad_row[target] = static_cast<float>(-others * factor);
          } else {
            const double inverse_sum = 1.0 / sum;
            for (std::int64_t col = 0; col < cols; ++col) {
              const double p = static_cast<double>(grad_row[col]) * inverse_sum;
              const double label_part = col == target ? -others * inverse_sum : p;  // p_c - [c = y]
              grad_row[col] = static_cast<float>(
                  scale * (label_weight * label_part + uniform * (weight_sum * p - rows_of.weight_of(col))));
            }
          }
        }
        return partial;
      },
      [](double a, double b) { return a + b; });
}

// Negative log-likelihood of log-probabilities: the term -w_y x_y, its gradient -w_y at the label.
double nll(const Tensor& log_probs, const LabelRows& rows_of, double scale, const Tensor& grad,
           float* row_values) {
  const std::int64_t rows = log_probs.dim(0);
  const std::int64_t cols = log_probs.dim(1);
  const float* x = log_probs.data<float>();
  float* g = grad.defined() ? grad.data<float>() : nullptr;
  return parallel_reduce(
      parallel_rows(rows, cols), rows, 1, 0.0,
      [=](std::int64_t first, std::int64_t end) {
        double partial = 0.0;
        for (std::int64_t r = first; r < end; ++r) {
          const bool counts = rows_of.counts(r);
          const std::int64_t target = counts ? rows_of.label[r] : 0;
          const double w = counts ? rows_of.weight_of(target) : 0.0;
          const double term = counts ? -w * static_cast<double>(x[r * cols + target]) : 0.0;  // read first
          if (row_values != nullptr) row_values[r] = static_cast<float>(term * scale);
          partial += term;
          if (g == nullptr) continue;
          float* grad_row = g + r * cols;
          std::fill(grad_row, grad_row + cols, 0.0f);
          if (counts) grad_row[target] = static_cast<float>(-w * scale);
        }
        return partial;
      },
      [](double a, double b) { return a + b; });
}

// BCE on probabilities: torch refuses p outside [0, 1]; so do we, before any work. NaN passes
// (it propagates, for the NaN guard to see).
void check_probabilities(const float* p, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) {
    if (p[i] < 0.0f || p[i] > 1.0f) {
      throw ValueError("axon::bce_loss: pred element " + std::to_string(i) + " is " + std::to_string(p[i]) +
                       ", outside [0, 1] (BCE takes probabilities; BCE with logits takes logits)");
    }
  }
}

}  // namespace

void CpuBackend::loss(LossKind kind, const LossParams& params, const Tensor& pred, const Tensor& target,
                      const Tensor& weight, const Tensor& value, const Tensor& grad) {
  const Reduction reduction = params.reduction;
  float* values = value.data<float>();
  float* per_term = reduction == Reduction::kNone ? values : nullptr;
  const float* w = weight.defined() ? weight.data<float>() : nullptr;
  if (kernels::takes_labels(kind)) {
    const LabelRows rows_of{target.data<std::int32_t>(), w, params.ignore_index};
    const double scale = label_scale(loss_name(kind).data(), rows_of, pred.dim(0), pred.dim(1), reduction);
    const double total = kind == LossKind::kNll
        ? nll(pred, rows_of, scale, grad, per_term)
        : softmax_cross_entropy(pred, rows_of, scale, params.label_smoothing, grad, per_term);
    if (per_term == nullptr) values[0] = static_cast<float>(total * scale);
    return;
  }
  const std::int64_t n = pred.numel();
  const float* p = pred.data<float>();
  const float* t = target.data<float>();
  if (kind == LossKind::kBce) check_probabilities(p, n);
  float* g = grad.defined() ? grad.data<float>() : nullptr;
  // The mean's 1/n in float, as the gradient has always been scaled.
  const float grad_scale = reduction == Reduction::kMean ? 1.0f / static_cast<float>(n) : 1.0f;
  const float delta = params.huber_delta;
  const std::int64_t columns = pred.dim(pred.rank() - 1);  // pos_weight's axis
  const double total = parallel_reduce(
      n >= kParallelElements, n, 16, 0.0,
      [=](std::int64_t begin, std::int64_t end) {
        double partial = 0.0;
        for (std::int64_t i = begin; i < end; ++i) {
          const float pos_weight = w != nullptr ? w[i % columns] : 1.0f;
          const kernels::LossTerm term = kernels::loss_term(kind, delta, p[i], t[i], pos_weight);
          partial += term.value;
          if (per_term != nullptr) per_term[i] = term.value;
          if (g != nullptr) g[i] = term.derivative * grad_scale;
        }
        return partial;
      },
      [](double a, double b) { return a + b; });
  if (per_term == nullptr) {
    values[0] = static_cast<float>(reduction == Reduction::kMean ? total / static_cast<double>(n) : total);
  }
}

}  // namespace axon::cpu
