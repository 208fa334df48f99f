// CPU losses: values against double references, gradients against central finite differences
// of those references, extremes, label checks, and the mean convention.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "test_util.h"

namespace {

using axon::LossKind;
using axon::LossParams;
using axon::Shape;
using axon::Tensor;
using axon_test::expect_error;
using axon_test::fd_gradient;
using axon_test::int_tensor_from;
using axon_test::kGradAtol;
using axon_test::kGradRtol;
using axon_test::near_ref;
using axon_test::random_doubles;
using axon_test::tensor_from;

constexpr double kRtol = 1e-5;
constexpr double kAtol = 1e-6;

// ---- double references ----------------------------------------------------------------------

double elementwise_term(LossKind kind, double p, double t, double delta) {
  const double d = p - t;
  switch (kind) {
    case LossKind::kMse: return d * d;
    case LossKind::kMae: return std::abs(d);
    case LossKind::kHuber:
      return std::abs(d) <= delta ? 0.5 * d * d : delta * (std::abs(d) - 0.5 * delta);
    case LossKind::kBceWithLogits:
      // -(t log sigmoid(p) + (1 - t) log(1 - sigmoid(p))), written so it cannot overflow.
      return std::max(p, 0.0) - p * t + std::log1p(std::exp(-std::abs(p)));
    default: return NAN;
  }
}

double elementwise_loss_ref(LossKind kind, const std::vector<double>& p,
                            const std::vector<double>& t, double delta) {
  double s = 0;
  for (std::size_t i = 0; i < p.size(); ++i) s += elementwise_term(kind, p[i], t[i], delta);
  return s / static_cast<double>(p.size());
}

double ce_loss_ref(const std::vector<double>& logits, const std::vector<std::int32_t>& labels,
                   std::size_t classes) {
  double total = 0;
  for (std::size_t r = 0; r < labels.size(); ++r) {
    const double* row = logits.data() + r * classes;
    double m = row[0];
    for (std::size_t c = 1; c < classes; ++c) m = std::max(m, row[c]);
    double s = 0;
    for (std::size_t c = 0; c < classes; ++c) s += std::exp(row[c] - m);
    total += m + std::log(s) - row[static_cast<std::size_t>(labels[r])];
  }
  return total / static_cast<double>(labels.size());
}

// Moves predictions off the points where the loss has no derivative (|d| = 0 for MAE, |d| =
// delta for Huber's second derivative), so central differences are accurate.
std::vector<double> away_from_kinks(LossKind kind, std::vector<double> p,
                                    const std::vector<double>& t, double delta) {
  for (std::size_t i = 0; i < p.size(); ++i) {
    const auto bad = [&](double v) {
      const double d = std::abs(v - t[i]);
      return (kind == LossKind::kMae && d < 1e-3) ||
             (kind == LossKind::kHuber && std::abs(d - delta) < 1e-3);
    };
    while (bad(p[i])) p[i] = static_cast<float>(p[i] + 0.01);
  }
  return p;
}

// ---- elementwise losses ---------------------------------------------------------------------

struct ElementwiseCase {
  LossKind kind;
  float delta;
  std::string label;
};

void PrintTo(const ElementwiseCase& c, std::ostream* out) { *out << c.label; }

class CpuElementwiseLoss : public ::testing::TestWithParam<ElementwiseCase> {};

TEST_P(CpuElementwiseLoss, ValueAndGradient) {
  const auto& param = GetParam();
  const LossParams params{param.delta};
  const Shape shapes[] = {{1, 1}, {7, 13}, {3, 1001}, {2, 3, 5}, {11}};
  std::uint32_t seed = 300 + static_cast<std::uint32_t>(param.kind) * 10;
  for (const Shape& shape : shapes) {
    SCOPED_TRACE(shape.str());
    const std::size_t n = static_cast<std::size_t>(shape.numel());
    const bool bce = param.kind == LossKind::kBceWithLogits;
    const auto t = bce ? random_doubles(n, 0, 1, ++seed) : random_doubles(n, -2, 2, ++seed);
    const auto p = away_from_kinks(param.kind, random_doubles(n, -3, 3, ++seed), t, param.delta);
    const Tensor pt = tensor_from(shape, p), tt = tensor_from(shape, t);

    const double want = elementwise_loss_ref(param.kind, p, t, param.delta);
    const auto want_grad = fd_gradient(
        [&](const std::vector<double>& v) {
          return elementwise_loss_ref(param.kind, v, t, param.delta);
        },
        p);

    const axon::LossResult r = axon::loss(param.kind, pt, tt, params);
    ASSERT_TRUE(r.value.defined());
    ASSERT_TRUE(r.grad.defined());
    EXPECT_EQ(r.value.numel(), 1);
    EXPECT_EQ(r.value.dtype(), axon::DType::kFloat32);
    EXPECT_EQ(r.grad.shape(), shape);
    EXPECT_TRUE(near_ref(r.value, {want}, kRtol, kAtol)) << "value";
    EXPECT_TRUE(near_ref(r.grad, want_grad, kGradRtol, kGradAtol)) << "grad";
    // The gradient of a mean is O(1/n): check it relative to that scale too.
    std::vector<double> scaled_want(n), scaled_got(n);
    const auto got = axon_test::values_of(r.grad);
    for (std::size_t i = 0; i < n; ++i) {
      scaled_want[i] = want_grad[i] * static_cast<double>(n);
      scaled_got[i] = got[i] * static_cast<double>(n);
    }
    EXPECT_TRUE(near_ref(scaled_got, scaled_want, kGradRtol, 1e-5)) << "n * grad";

    // loss_value is the same value; loss_out writes preallocated outputs.
    EXPECT_FLOAT_EQ(axon::loss_value(param.kind, pt, tt, params).item(), r.value.item());
    const Tensor value = Tensor::full({1}, 42.0f), grad = Tensor::full(shape, 42.0f);
    axon::loss_out(param.kind, pt, tt, value, grad, params);
    EXPECT_TRUE(near_ref(value, {want}, kRtol, kAtol)) << "loss_out value";
    EXPECT_TRUE(near_ref(grad, want_grad, kGradRtol, kGradAtol)) << "loss_out grad";
    // Inputs untouched.
    EXPECT_TRUE(near_ref(pt, p, 0, 0));
    EXPECT_TRUE(near_ref(tt, t, 0, 0));
  }
}

TEST_P(CpuElementwiseLoss, LargeInputCrossesThreadThreshold) {
  const auto& param = GetParam();
  const std::size_t n = 100003;
  const bool bce = param.kind == LossKind::kBceWithLogits;
  const auto t = bce ? random_doubles(n, 0, 1, 61) : random_doubles(n, -2, 2, 61);
  const auto p = away_from_kinks(param.kind, random_doubles(n, -3, 3, 62), t, param.delta);
  const Shape shape{static_cast<std::int64_t>(n)};
  const axon::LossResult r =
      axon::loss(param.kind, tensor_from(shape, p), tensor_from(shape, t), {param.delta});
  EXPECT_TRUE(near_ref(r.value, {elementwise_loss_ref(param.kind, p, t, param.delta)}, 1e-5, 1e-6));
  // Per-element derivative of the mean, from FD of one term (the loss is separable).
  std::vector<double> want(n);
  for (std::size_t i = 0; i < n; ++i) {
    want[i] = axon_test::central_diff(
                  [&](double v) { return elementwise_term(param.kind, v, t[i], param.delta); },
                  p[i]) /
              static_cast<double>(n);
  }
  EXPECT_TRUE(near_ref(r.grad, want, kGradRtol, 1e-10));
}

TEST_P(CpuElementwiseLoss, IsAMean) {
  // Repeating the batch leaves the value unchanged and halves the gradient.
  const auto& param = GetParam();
  const bool bce = param.kind == LossKind::kBceWithLogits;
  const auto t = bce ? random_doubles(15, 0, 1, 71) : random_doubles(15, -2, 2, 71);
  const auto p = away_from_kinks(param.kind, random_doubles(15, -3, 3, 72), t, param.delta);
  auto p2 = p, t2 = t;
  p2.insert(p2.end(), p.begin(), p.end());
  t2.insert(t2.end(), t.begin(), t.end());
  const auto once = axon::loss(param.kind, tensor_from({3, 5}, p), tensor_from({3, 5}, t), {param.delta});
  const auto twice = axon::loss(param.kind, tensor_from({6, 5}, p2), tensor_from({6, 5}, t2), {param.delta});
  EXPECT_NEAR(twice.value.item(), once.value.item(), 1e-5 * std::abs(once.value.item()) + 1e-7);
  const auto g1 = once.grad.to_vector(), g2 = twice.grad.to_vector();
  for (std::size_t i = 0; i < g1.size(); ++i) {
    EXPECT_NEAR(g2[i], 0.5 * g1[i], 1e-6 * std::abs(g1[i]) + 1e-9) << i;
    EXPECT_NEAR(g2[i + 15], 0.5 * g1[i], 1e-6 * std::abs(g1[i]) + 1e-9) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, CpuElementwiseLoss,
    ::testing::Values(ElementwiseCase{LossKind::kMse, 1.0f, "mse"},
                      ElementwiseCase{LossKind::kMae, 1.0f, "mae"},
                      ElementwiseCase{LossKind::kHuber, 1.0f, "huber_delta1"},
                      ElementwiseCase{LossKind::kHuber, 0.5f, "huber_delta0_5"},
                      ElementwiseCase{LossKind::kBceWithLogits, 1.0f, "bce_with_logits"}),
    [](const auto& info) { return info.param.label; });

TEST(CpuLoss, MseKnownValue) {
  // ((1-0)^2 + (-2-1)^2 + (0.5-0.5)^2 + (3-1)^2) / 4 = (1 + 9 + 0 + 4) / 4 = 3.5
  const auto r = axon::loss(LossKind::kMse, tensor_from({2, 2}, std::vector<double>{1, -2, 0.5, 3}),
                            tensor_from({2, 2}, std::vector<double>{0, 1, 0.5, 1}));
  EXPECT_FLOAT_EQ(r.value.item(), 3.5f);
  EXPECT_TRUE(near_ref(r.grad, {0.5, -1.5, 0.0, 1.0}, 1e-6, 1e-7));  // 2 d / n
}

TEST(CpuLoss, HuberKnownValues) {
  // d = {0.4, -2, 3}: delta 1 -> {0.08, 1.5, 2.5}; delta 0.5 -> {0.08, 0.875, 1.375}.
  const Tensor p = tensor_from({3}, std::vector<double>{0.4, -2, 3});
  const Tensor t = Tensor::zeros({3});
  EXPECT_NEAR(axon::loss_value(LossKind::kHuber, p, t).item(), (0.08 + 1.5 + 2.5) / 3, 1e-6);
  EXPECT_NEAR(axon::loss_value(LossKind::kHuber, p, t, {0.5f}).item(),
              (0.08 + 0.875 + 1.375) / 3, 1e-6);
  // Default params are delta 1.
  EXPECT_FLOAT_EQ(axon::loss_value(LossKind::kHuber, p, t).item(),
                  axon::loss_value(LossKind::kHuber, p, t, {1.0f}).item());
}

TEST(CpuLoss, BceExtremeLogits) {
  const std::vector<double> p{100, 100, -100, -100, 100, -100, 1e4, -1e4};
  const std::vector<double> t{1, 0, 1, 0, 0.3, 0.7, 0.25, 0.5};
  const Shape shape{8};
  const auto r = axon::loss(LossKind::kBceWithLogits, tensor_from(shape, p), tensor_from(shape, t));
  EXPECT_TRUE(axon_test::all_finite(r.value));
  EXPECT_TRUE(axon_test::all_finite(r.grad));
  const double want = elementwise_loss_ref(LossKind::kBceWithLogits, p, t, 1.0);
  EXPECT_TRUE(near_ref(r.value, {want}, kRtol, kAtol));
  // Gradient: (sigmoid(p) - t) / n, via FD of the reference.
  const auto want_grad = fd_gradient(
      [&](const std::vector<double>& v) {
        return elementwise_loss_ref(LossKind::kBceWithLogits, v, t, 1.0);
      },
      p);
  EXPECT_TRUE(near_ref(r.grad, want_grad, kGradRtol, kGradAtol));
}

TEST(CpuLoss, BceKnownValueAtZeroLogit) {
  // sigmoid(0) = 0.5: -log(0.5) = log 2 for any target.
  const auto r = axon::loss(LossKind::kBceWithLogits, Tensor::zeros({3}),
                            tensor_from({3}, std::vector<double>{0, 0.5, 1}));
  EXPECT_NEAR(r.value.item(), std::log(2.0), 1e-6);
  EXPECT_TRUE(near_ref(r.grad, {0.5 / 3, 0.0, -0.5 / 3}, 1e-6, 1e-7));
}

// ---- softmax cross-entropy ------------------------------------------------------------------

TEST(CpuCrossEntropy, ValueAndGradient) {
  const Shape shapes[] = {{1, 1}, {4, 7}, {3, 1001}, {65, 10}, {1, 2}};
  std::uint32_t seed = 800;
  for (const Shape& shape : shapes) {
    SCOPED_TRACE(shape.str());
    const std::size_t rows = static_cast<std::size_t>(shape[0]);
    const std::size_t classes = static_cast<std::size_t>(shape[1]);
    const auto logits = random_doubles(rows * classes, -4, 4, ++seed);
    const auto labels = axon_test::random_labels(rows, static_cast<int>(classes), ++seed);
    const Tensor pt = tensor_from(shape, logits);
    const Tensor lt = int_tensor_from({shape[0]}, labels);
    const double want = ce_loss_ref(logits, labels, classes);
    const auto want_grad = fd_gradient(
        [&](const std::vector<double>& v) { return ce_loss_ref(v, labels, classes); }, logits);

    const auto r = axon::loss(LossKind::kSoftmaxCrossEntropy, pt, lt);
    EXPECT_EQ(r.value.numel(), 1);
    EXPECT_EQ(r.grad.shape(), shape);
    EXPECT_TRUE(near_ref(r.value, {want}, kRtol, kAtol)) << "value";
    EXPECT_TRUE(near_ref(r.grad, want_grad, kGradRtol, kGradAtol)) << "grad";
    EXPECT_FLOAT_EQ(axon::loss_value(LossKind::kSoftmaxCrossEntropy, pt, lt).item(),
                    r.value.item());
    const Tensor value = Tensor::full({1}, -5.0f), grad = Tensor::full(shape, -5.0f);
    axon::loss_out(LossKind::kSoftmaxCrossEntropy, pt, lt, value, grad);
    EXPECT_TRUE(near_ref(value, {want}, kRtol, kAtol)) << "loss_out value";
    EXPECT_TRUE(near_ref(grad, want_grad, kGradRtol, kGradAtol)) << "loss_out grad";
    EXPECT_EQ(lt.to_int_vector(), labels);  // labels untouched
  }
}

TEST(CpuCrossEntropy, LargeBatch) {
  // Many rows: crosses a row-parallel threshold. Gradient rows are independent: FD row by row.
  const std::size_t rows = 4099, classes = 5;
  const auto logits = random_doubles(rows * classes, -4, 4, 91);
  const auto labels = axon_test::random_labels(rows, static_cast<int>(classes), 92);
  const auto r = axon::loss(LossKind::kSoftmaxCrossEntropy,
                            tensor_from({static_cast<std::int64_t>(rows), 5}, logits),
                            int_tensor_from({static_cast<std::int64_t>(rows)}, labels));
  EXPECT_TRUE(near_ref(r.value, {ce_loss_ref(logits, labels, classes)}, kRtol, kAtol));
  std::vector<double> want(rows * classes);
  for (std::size_t row = 0; row < rows; ++row) {
    const std::vector<double> x(logits.begin() + row * classes, logits.begin() + (row + 1) * classes);
    const std::vector<std::int32_t> l{labels[row]};
    const auto g = fd_gradient([&](const std::vector<double>& v) { return ce_loss_ref(v, l, classes); }, x);
    for (std::size_t c = 0; c < classes; ++c) want[row * classes + c] = g[c] / static_cast<double>(rows);
  }
  EXPECT_TRUE(near_ref(r.grad, want, kGradRtol, 1e-10));
}

TEST(CpuCrossEntropy, ExtremeLogitsFinite) {
  const std::vector<double> logits{1e4, -1e4, 0,      // label 0: loss 0
                                   1e4, -1e4, 0,      // label 1: loss 2e4
                                   -1e4, -1e4, -1e4,  // all equal: loss log 3
                                   1e4, 1e4, -1e4};   // two maxima, label 1: log 2
  const std::vector<std::int32_t> labels{0, 1, 2, 1};
  const auto r = axon::loss(LossKind::kSoftmaxCrossEntropy, tensor_from({4, 3}, logits),
                            int_tensor_from({4}, labels));
  EXPECT_TRUE(axon_test::all_finite(r.value));
  EXPECT_TRUE(axon_test::all_finite(r.grad));
  const double want = ce_loss_ref(logits, labels, 3);
  EXPECT_NEAR(want, (0 + 2e4 + std::log(3.0) + std::log(2.0)) / 4, 1e-9);  // the reference itself
  EXPECT_TRUE(near_ref(r.value, {want}, kRtol, kAtol));
  const auto want_grad =
      fd_gradient([&](const std::vector<double>& v) { return ce_loss_ref(v, labels, 3); }, logits);
  EXPECT_TRUE(near_ref(r.grad, want_grad, kGradRtol, kGradAtol));
}

TEST(CpuCrossEntropy, LabelOutOfRange) {
  const Tensor logits = tensor_from({4, 3}, random_doubles(12));
  expect_error<axon::ValueError>(
      [&] {
        (void)axon::loss(LossKind::kSoftmaxCrossEntropy, logits,
                         int_tensor_from({4}, {0, 1, 7, 0}));
      },
      {"label 7", "row 2"});
  expect_error<axon::ValueError>(
      [&] {
        (void)axon::loss(LossKind::kSoftmaxCrossEntropy, logits,
                         int_tensor_from({4}, {-1, 1, 2, 0}));
      },
      {"label -1", "row 0"});
  // classes itself is out of range too.
  expect_error<axon::ValueError>(
      [&] {
        (void)axon::loss_value(LossKind::kSoftmaxCrossEntropy, logits,
                               int_tensor_from({4}, {0, 1, 2, 3}));
      },
      {"label 3", "row 3"});
}

TEST(CpuCrossEntropy, IsAMeanOverRows) {
  const auto logits = random_doubles(3 * 4, -2, 2, 95);
  const std::vector<std::int32_t> labels{3, 0, 2};
  auto logits2 = logits;
  logits2.insert(logits2.end(), logits.begin(), logits.end());
  auto labels2 = labels;
  labels2.insert(labels2.end(), labels.begin(), labels.end());
  const auto once = axon::loss(LossKind::kSoftmaxCrossEntropy, tensor_from({3, 4}, logits),
                               int_tensor_from({3}, labels));
  const auto twice = axon::loss(LossKind::kSoftmaxCrossEntropy, tensor_from({6, 4}, logits2),
                                int_tensor_from({6}, labels2));
  EXPECT_NEAR(twice.value.item(), once.value.item(), 1e-5 * std::abs(once.value.item()));
  const auto g1 = once.grad.to_vector(), g2 = twice.grad.to_vector();
  for (std::size_t i = 0; i < g1.size(); ++i) {
    EXPECT_NEAR(g2[i], 0.5 * g1[i], 1e-6 * std::abs(g1[i]) + 1e-9) << i;
    EXPECT_NEAR(g2[i + 12], 0.5 * g1[i], 1e-6 * std::abs(g1[i]) + 1e-9) << i;
  }
  // Each gradient row sums to zero (softmax minus one-hot, over rows).
  for (int r = 0; r < 3; ++r) {
    double s = 0;
    for (int c = 0; c < 4; ++c) s += g1[static_cast<std::size_t>(r * 4 + c)];
    EXPECT_NEAR(s, 0.0, 1e-7) << "row " << r;
  }
}

TEST(CpuCrossEntropy, OneClassIsZeroLoss) {
  const auto r = axon::loss(LossKind::kSoftmaxCrossEntropy,
                            tensor_from({3, 1}, std::vector<double>{5, -2, 0.5}),
                            int_tensor_from({3}, {0, 0, 0}));
  EXPECT_NEAR(r.value.item(), 0.0, 1e-7);
  EXPECT_TRUE(near_ref(r.grad, {0, 0, 0}, 0, 1e-7));
}

// ---- options: reductions, class weights, ignored rows, label smoothing, pos_weight --------

// torch's weighted, smoothed cross-entropy (NLL: log_probs given, no smoothing) as a sum of row
// terms and the mean's divisor (the counted rows' summed weights).
struct LabelLossRef {
  double sum = 0, divisor = 0;
  std::vector<double> rows;
};

LabelLossRef label_loss_ref(bool nll, const std::vector<double>& x, const std::vector<std::int32_t>& labels,
                            const std::vector<double>& weight, std::size_t classes, double smoothing,
                            std::int32_t ignore_index) {
  LabelLossRef out;
  for (std::size_t r = 0; r < labels.size(); ++r) {
    if (labels[r] == ignore_index) {
      out.rows.push_back(0);
      continue;
    }
    const auto y = static_cast<std::size_t>(labels[r]);
    const double* row = x.data() + r * classes;
    std::vector<double> log_p(classes);
    if (nll) {
      log_p.assign(row, row + classes);
    } else {
      double m = row[0], s = 0;
      for (std::size_t c = 1; c < classes; ++c) m = std::max(m, row[c]);
      for (std::size_t c = 0; c < classes; ++c) s += std::exp(row[c] - m);
      for (std::size_t c = 0; c < classes; ++c) log_p[c] = row[c] - m - std::log(s);
    }
    double term = -(1 - smoothing) * weight[y] * log_p[y];
    for (std::size_t c = 0; c < classes; ++c) term -= smoothing / static_cast<double>(classes) * weight[c] * log_p[c];
    out.rows.push_back(term);
    out.sum += term;
    out.divisor += weight[y];
  }
  return out;
}

TEST(CpuLossOptions, LabelLossesWithWeightsIgnoredRowsAndSmoothing) {
  const std::size_t rows = 9, classes = 5;
  const auto logits = random_doubles(rows * classes, -3, 3, 4100);
  auto labels = axon_test::random_labels(rows, static_cast<int>(classes), 4101);
  labels[1] = -100;
  labels[5] = -100;
  const std::vector<double> weight{0.3, 1.0, 2.0, 0.6, 1.4};
  const Tensor weight_t = tensor_from({5}, weight);
  for (const bool nll : {false, true}) {
    for (const double smoothing : nll ? std::vector<double>{0.0} : std::vector<double>{0.0, 0.15, 1.0}) {
      for (const axon::Reduction reduction : {axon::Reduction::kMean, axon::Reduction::kSum, axon::Reduction::kNone}) {
        SCOPED_TRACE(std::string(nll ? "nll" : "ce") + " smoothing " + std::to_string(smoothing) + " " +
                     std::string(axon::reduction_name(reduction)));
        const auto reduce = [&](const std::vector<double>& v) {
          const LabelLossRef ref = label_loss_ref(nll, v, labels, weight, classes, smoothing, -100);
          return reduction == axon::Reduction::kMean ? ref.sum / ref.divisor : ref.sum;
        };
        const LossKind kind = nll ? LossKind::kNll : LossKind::kSoftmaxCrossEntropy;
        const LossParams params{.reduction = reduction, .label_smoothing = static_cast<float>(smoothing)};
        const auto r = axon::loss(kind, tensor_from({9, 5}, logits), int_tensor_from({9}, labels), params, weight_t);
        if (reduction == axon::Reduction::kNone) {
          EXPECT_TRUE(near_ref(r.value, label_loss_ref(nll, logits, labels, weight, classes, smoothing, -100).rows,
                               kRtol, kAtol));
        } else {
          EXPECT_TRUE(near_ref(r.value, {reduce(logits)}, kRtol, kAtol)) << "value";
        }
        // none's gradient is that of the terms' sum
        EXPECT_TRUE(near_ref(r.grad, fd_gradient(reduce, logits), kGradRtol, kGradAtol)) << "grad";
      }
    }
  }
}

TEST(CpuLossOptions, BinaryCrossEntropies) {
  const Shape shape{6, 4};
  const auto t = random_doubles(24, 0, 1, 4200);
  const auto logits = random_doubles(24, -4, 4, 4201);
  const auto probabilities = random_doubles(24, 0.05, 0.95, 4202);
  const std::vector<double> pos_weight{0.5, 1.0, 2.0, 4.0};
  const auto with_logits = [&](const std::vector<double>& x) {
    double s = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double p = 1 / (1 + std::exp(-x[i]));
      s -= pos_weight[i % 4] * t[i] * std::log(p) + (1 - t[i]) * std::log(1 - p);
    }
    return s;
  };
  const auto bce = [&](const std::vector<double>& p) {
    double s = 0;
    for (std::size_t i = 0; i < p.size(); ++i) s -= t[i] * std::log(p[i]) + (1 - t[i]) * std::log(1 - p[i]);
    return s;
  };
  for (const axon::Reduction reduction : {axon::Reduction::kMean, axon::Reduction::kSum}) {
    SCOPED_TRACE(std::string(axon::reduction_name(reduction)));
    const double n = reduction == axon::Reduction::kMean ? 24.0 : 1.0;
    const auto r = axon::loss(LossKind::kBceWithLogits, tensor_from(shape, logits), tensor_from(shape, t),
                              {.reduction = reduction}, tensor_from({4}, pos_weight));
    EXPECT_TRUE(near_ref(r.value, {with_logits(logits) / n}, kRtol, kAtol));
    EXPECT_TRUE(near_ref(r.grad, fd_gradient([&](const std::vector<double>& v) { return with_logits(v) / n; }, logits),
                         kGradRtol, kGradAtol));
    const auto b = axon::loss(LossKind::kBce, tensor_from(shape, probabilities), tensor_from(shape, t),
                              {.reduction = reduction});
    EXPECT_TRUE(near_ref(b.value, {bce(probabilities) / n}, kRtol, kAtol));
    EXPECT_TRUE(near_ref(b.grad, fd_gradient([&](const std::vector<double>& v) { return bce(v) / n; }, probabilities),
                         kGradRtol, kGradAtol));
  }
}

}  // namespace
