#include "axon/nn/metrics.h"

#include <new>

#include "axon/error.h"
#include "axon/ops.h"
#include "core/src/host_memory.h"

namespace axon::nn {

std::vector<std::int32_t> predicted_labels(const Tensor& logits) { return argmax_rows(logits).to_int_vector(); }

namespace {
void check_lengths(const char* what, const std::vector<std::int32_t>& predicted, const std::vector<std::int32_t>& truth) {
  if (predicted.size() != truth.size()) {
    throw ValueError(std::string(what) + ": " + std::to_string(predicted.size()) + " predicted labels but " +
                     std::to_string(truth.size()) + " true ones");
  }
  if (truth.empty()) throw ValueError(std::string(what) + ": no labels");
}
}  // namespace

double accuracy(const std::vector<std::int32_t>& predicted, const std::vector<std::int32_t>& truth) {
  check_lengths("nn::accuracy", predicted, truth);
  std::int64_t right = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) right += predicted[i] == truth[i];
  return static_cast<double>(right) / static_cast<double>(truth.size());
}

ConfusionMatrix::ConfusionMatrix(const std::vector<std::int32_t>& predicted, const std::vector<std::int32_t>& truth,
                                 int classes)
    : classes_(classes) {
  check_lengths("nn::ConfusionMatrix", predicted, truth);
  if (classes < 1) throw ValueError("nn::ConfusionMatrix: needs classes >= 1, got " + std::to_string(classes));
  // classes^2 counters: refused as OutOfMemory when the machine cannot hold them.
  const std::string request = "nn::ConfusionMatrix of " + std::to_string(classes) + " classes";
  detail::check_host_request(request, static_cast<long double>(classes) * classes * sizeof(std::int64_t));
  try {
    counts_.assign(static_cast<std::size_t>(classes) * static_cast<std::size_t>(classes), 0);
  } catch (const std::bad_alloc&) {
    throw OutOfMemory(request + ": cannot allocate its counts", static_cast<std::size_t>(classes) * classes * 8, 0);
  }
  for (std::size_t i = 0; i < truth.size(); ++i) {
    const std::int32_t t = truth[i], p = predicted[i];
    if (t < 0 || t >= classes || p < 0 || p >= classes) {
      throw ValueError("nn::ConfusionMatrix: sample " + std::to_string(i) + " has label " + std::to_string(t) +
                       " predicted as " + std::to_string(p) + ", outside [0, " + std::to_string(classes) + ")");
    }
    ++counts_[static_cast<std::size_t>(t) * static_cast<std::size_t>(classes) + static_cast<std::size_t>(p)];
  }
  total_ = static_cast<std::int64_t>(truth.size());
}

std::int64_t ConfusionMatrix::count(int truth, int predicted) const {
  if (truth < 0 || truth >= classes_ || predicted < 0 || predicted >= classes_) {
    throw ValueError("ConfusionMatrix::count: class outside [0, " + std::to_string(classes_) + ")");
  }
  return counts_[static_cast<std::size_t>(truth) * static_cast<std::size_t>(classes_) + static_cast<std::size_t>(predicted)];
}

double ConfusionMatrix::precision(int c) const {
  std::int64_t predicted_c = 0;
  for (int t = 0; t < classes_; ++t) predicted_c += count(t, c);
  return predicted_c == 0 ? 0.0 : static_cast<double>(count(c, c)) / static_cast<double>(predicted_c);
}

double ConfusionMatrix::recall(int c) const {
  std::int64_t actual_c = 0;
  for (int p = 0; p < classes_; ++p) actual_c += count(c, p);
  return actual_c == 0 ? 0.0 : static_cast<double>(count(c, c)) / static_cast<double>(actual_c);
}

double ConfusionMatrix::f1(int c) const {
  const double p = precision(c), r = recall(c);
  return p + r == 0.0 ? 0.0 : 2.0 * p * r / (p + r);
}

namespace {
template <class F>
double mean_over(int classes, F per_class) {
  double total = 0.0;
  for (int c = 0; c < classes; ++c) total += per_class(c);
  return total / classes;
}
}  // namespace

double ConfusionMatrix::macro_precision() const { return mean_over(classes_, [&](int c) { return precision(c); }); }
double ConfusionMatrix::macro_recall() const { return mean_over(classes_, [&](int c) { return recall(c); }); }
double ConfusionMatrix::macro_f1() const { return mean_over(classes_, [&](int c) { return f1(c); }); }

double ConfusionMatrix::accuracy() const {
  std::int64_t right = 0;
  for (int c = 0; c < classes_; ++c) right += count(c, c);
  return static_cast<double>(right) / static_cast<double>(total_);
}

}  // namespace axon::nn
