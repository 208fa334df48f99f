// CPU activations and softmax: forward against double references written here, backward against
// central finite differences of those references, extremes stay finite.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "test_util.h"

namespace {

using axon::Activation;
using axon::ActivationParams;
using axon::Shape;
using axon::Tensor;
using axon_test::central_diff;
using axon_test::kGradAtol;
using axon_test::kGradRtol;
using axon_test::near_ref;
using axon_test::random_doubles;
using axon_test::tensor_from;

constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;

// Forward tolerance: float math on float inputs.
constexpr double kRtol = 1e-5;
constexpr double kAtol = 1e-6;

const Activation kAll[] = {
    Activation::kIdentity,  Activation::kSigmoid, Activation::kTanh,     Activation::kRelu,
    Activation::kLeakyRelu, Activation::kElu,     Activation::kSelu,     Activation::kGelu,
    Activation::kSilu,      Activation::kSoftplus, Activation::kSoftsign, Activation::kHardSigmoid,
    Activation::kRelu6,     Activation::kHardtanh, Activation::kHardswish, Activation::kMish,
    Activation::kLogSigmoid, Activation::kGeluTanh,
};
static_assert(std::size(kAll) == axon::kActivationCount, "a new activation needs tests");

// An activation's constants in double: alpha (slope, ELU alpha, Hardtanh min, Softplus beta)
// and beta (Hardtanh max, Softplus threshold). A lone number is alpha.
struct Consts {
  double alpha = 0.0, beta = 0.0;
  Consts(double a = 0.0, double b = 0.0) : alpha(a), beta(b) {}  // NOLINT(google-explicit-constructor)
};

std::string name_of(Activation kind) { return std::string(axon::activation_name(kind)); }

// ---- double references ----------------------------------------------------------------------

double sigmoid_ref(double x) {
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1.0 + e);
}

double softplus_ref(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }

// The activation in double.
double act_ref(Activation kind, double x, Consts c) {
  switch (kind) {
    case Activation::kIdentity: return x;
    case Activation::kSigmoid: return sigmoid_ref(x);
    case Activation::kTanh: return std::tanh(x);
    case Activation::kRelu: return x > 0 ? x : 0.0;
    case Activation::kLeakyRelu: return x > 0 ? x : c.alpha * x;
    case Activation::kElu: return x > 0 ? x : c.alpha * std::expm1(x);
    case Activation::kSelu: return kSeluScale * (x > 0 ? x : kSeluAlpha * std::expm1(x));
    case Activation::kGelu: return 0.5 * x * std::erfc(-x / std::sqrt(2.0));  // x * Phi(x)
    case Activation::kSilu: return x * sigmoid_ref(x);
    case Activation::kSoftplus:  // log1p(exp(beta x)) / beta, x above the threshold
      return c.alpha * x > c.beta ? x : softplus_ref(c.alpha * x) / c.alpha;
    case Activation::kSoftsign: return x / (1.0 + std::abs(x));
    case Activation::kHardSigmoid: return std::clamp(x / 6.0 + 0.5, 0.0, 1.0);
    case Activation::kRelu6: return std::clamp(x, 0.0, 6.0);
    case Activation::kHardtanh: return std::clamp(x, c.alpha, c.beta);
    case Activation::kHardswish: return x * std::clamp(x + 3.0, 0.0, 6.0) / 6.0;
    case Activation::kMish: return x * std::tanh(softplus_ref(x));
    case Activation::kLogSigmoid: return -softplus_ref(-x);
    case Activation::kGeluTanh:
      return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / std::numbers::pi) * (x + 0.044715 * x * x * x)));
  }
  return NAN;
}

Consts default_alpha_ref(Activation kind) {
  switch (kind) {
    case Activation::kLeakyRelu: return 0.01;
    case Activation::kElu: return 1.0;
    case Activation::kHardtanh: return {-1.0, 1.0};
    case Activation::kSoftplus: return {1.0, 20.0};
    default: return 0.0;
  }
}

// True where the activation has a kink (no derivative) near x: finite differences skip these.
bool near_kink(Activation kind, double x) {
  constexpr double eps = 1e-3;
  switch (kind) {
    case Activation::kRelu:
    case Activation::kLeakyRelu:
    case Activation::kElu:
    case Activation::kSelu: return std::abs(x) < eps;
    case Activation::kHardSigmoid:
    case Activation::kHardswish: return std::abs(x - 3) < eps || std::abs(x + 3) < eps;
    case Activation::kRelu6: return std::abs(x) < eps || std::abs(x - 6) < eps;
    case Activation::kHardtanh: return std::abs(x - 1) < eps || std::abs(x + 1) < eps;
    default: return false;
  }
}

// x in [low, high] away from kinks, as float-exact doubles.
std::vector<double> smooth_inputs(Activation kind, std::size_t n, double low, double high,
                                  std::uint32_t seed) {
  auto x = random_doubles(n, low, high, seed);
  for (auto& v : x) {
    while (near_kink(kind, v)) v = static_cast<float>(v + 0.01);
  }
  return x;
}

std::vector<double> forward_ref(Activation kind, const std::vector<double>& x, Consts alpha) {
  std::vector<double> y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = act_ref(kind, x[i], alpha);
  return y;
}

// g * f'(x), with f' from central differences of the double reference.
std::vector<double> backward_fd(Activation kind, const std::vector<double>& x,
                                const std::vector<double>& g, Consts alpha) {
  std::vector<double> out(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    out[i] = g[i] * central_diff([&](double v) { return act_ref(kind, v, alpha); }, x[i]);
  }
  return out;
}

// Runs forward and backward of one activation on x and checks both.
void check_activation(Activation kind, const Shape& shape, const std::vector<double>& x,
                      ActivationParams params, Consts alpha_ref, std::uint32_t seed) {
  const Tensor xt = tensor_from(shape, x);
  const auto want_y = forward_ref(kind, x, alpha_ref);
  const Tensor y = axon::activation(kind, xt, params);
  EXPECT_EQ(y.shape(), shape);
  EXPECT_TRUE(near_ref(y, want_y, kRtol, kAtol)) << "forward";

  // activation_out into a preallocated output.
  const Tensor y2 = Tensor::full(shape, 99.0f);
  axon::activation_out(kind, xt, y2, params);
  EXPECT_TRUE(near_ref(y2, want_y, kRtol, kAtol)) << "activation_out";

  // Backward, given y = f(x) from the reference (rounded to float as a tensor holds it).
  const auto g = random_doubles(x.size(), -1, 1, seed);
  const Tensor yt = tensor_from(shape, want_y);
  const Tensor gt = tensor_from(shape, g);
  const auto want_gx = backward_fd(kind, x, g, alpha_ref);
  const Tensor gx = axon::activation_backward(kind, xt, yt, gt, params);
  EXPECT_EQ(gx.shape(), shape);
  EXPECT_TRUE(near_ref(gx, want_gx, kGradRtol, kGradAtol)) << "backward";
  const Tensor gx2 = Tensor::full(shape, -99.0f);
  axon::activation_backward_out(kind, xt, yt, gt, gx2, params);
  EXPECT_TRUE(near_ref(gx2, want_gx, kGradRtol, kGradAtol)) << "activation_backward_out";

  // Inputs untouched.
  EXPECT_TRUE(near_ref(xt, x, 0, 0));
  EXPECT_TRUE(near_ref(gt, g, 0, 0));
}

// ---- per-activation tests -------------------------------------------------------------------

class CpuActivation : public ::testing::TestWithParam<Activation> {};

TEST_P(CpuActivation, ForwardAndBackwardOnRandomInputs) {
  const Activation kind = GetParam();
  const Consts alpha = default_alpha_ref(kind);
  std::uint32_t seed = 10 + static_cast<std::uint32_t>(kind) * 100;
  const Shape shapes[] = {{1, 1}, {7}, {5, 1001}, {2, 3, 5}, {100003}};
  for (const Shape& shape : shapes) {
    SCOPED_TRACE(shape.str());
    const auto x = smooth_inputs(kind, static_cast<std::size_t>(shape.numel()), -4, 4, ++seed);
    check_activation(kind, shape, x, {}, alpha, ++seed);
  }
}

TEST_P(CpuActivation, WideRange) {
  // Far tails where naive formulas lose precision or overflow.
  const Activation kind = GetParam();
  const auto x = smooth_inputs(kind, 2001, -30, 30, 77 + static_cast<std::uint32_t>(kind));
  check_activation(kind, {2001}, x, {}, default_alpha_ref(kind), 78);
}

TEST_P(CpuActivation, SpecialPoints) {
  // Forward only at kinks and simple points.
  const Activation kind = GetParam();
  const std::vector<double> x{0.0, -0.0, 1.0, -1.0, 3.0, -3.0, 6.0, -6.0, 0.5, -0.5, 1e-3, -1e-3};
  const Tensor y = axon::activation(kind, tensor_from({static_cast<std::int64_t>(x.size())}, x));
  EXPECT_TRUE(near_ref(y, forward_ref(kind, x, default_alpha_ref(kind)), kRtol, kAtol));
}

TEST_P(CpuActivation, ExtremesAreFiniteAndCorrect) {
  const Activation kind = GetParam();
  // +-88/89 straddle the float overflow of exp (e^88.7 > FLT_MAX).
  const std::vector<double> x{100.0, -100.0, 1e4, -1e4, 50.0, -50.0, 88.0, -88.0, 89.0, -89.0};
  const Shape shape{static_cast<std::int64_t>(x.size())};
  const Consts alpha = default_alpha_ref(kind);
  const Tensor xt = tensor_from(shape, x);
  const Tensor y = axon::activation(kind, xt);
  EXPECT_TRUE(axon_test::all_finite(y));
  EXPECT_TRUE(near_ref(y, forward_ref(kind, x, alpha), kRtol, kAtol));

  std::vector<double> g(x.size(), 1.0);
  for (std::size_t i = 0; i < g.size(); i += 2) g[i] = -0.5;
  const Tensor gx =
      axon::activation_backward(kind, xt, tensor_from(shape, forward_ref(kind, x, alpha)),
                                tensor_from(shape, g));
  EXPECT_TRUE(axon_test::all_finite(gx));
  EXPECT_TRUE(near_ref(gx, backward_fd(kind, x, g, alpha), kGradRtol, kGradAtol));
}

// NaN in, NaN out, as PyTorch (ReLU and hard sigmoid turned NaN into 0 before: a NaN feature
// then trained with a finite loss and the NaN guard never fired). Through the plain op, the
// fused Dense forward (both GEMM libraries) and a long enough tensor for the vector loops.
TEST_P(CpuActivation, NanStaysNan) {
  const Activation kind = GetParam();
  std::vector<float> values(67, 0.5f);
  for (std::size_t i = 0; i < values.size(); i += 3) values[i] = std::numeric_limits<float>::quiet_NaN();
  const Tensor x = Tensor::from_vector({static_cast<std::int64_t>(values.size())}, std::span<const float>(values));
  const std::vector<float> y = axon::activation(kind, x).to_vector();
  for (std::size_t i = 0; i < values.size(); i += 3) EXPECT_TRUE(std::isnan(y[i])) << "element " << i << ": " << y[i];
  // The fused forward: a NaN input row stays NaN after the product and f.
  std::vector<float> rows(4 * 3, 1.0f);
  rows[3] = std::numeric_limits<float>::quiet_NaN();  // row 1
  const Tensor xr = Tensor::from_vector({4, 3}, std::span<const float>(rows));
  for (const axon::CpuGemm engine : {axon::CpuGemm::kOneDnn, axon::CpuGemm::kOpenBlas}) {
    const axon::CpuGemm saved = axon::cpu_gemm();
    axon::set_cpu_gemm(engine);
    const Tensor y_fused = Tensor::empty({4, 2});
    axon::linear_out(kind, xr, Tensor::full({2, 3}, 0.25f), Tensor::zeros({2}), Tensor(), y_fused);
    axon::set_cpu_gemm(saved);
    const std::vector<float> got = y_fused.to_vector();
    EXPECT_TRUE(std::isnan(got[2]) && std::isnan(got[3])) << axon::cpu_gemm_name(engine) << ": " << got[2];
    EXPECT_FALSE(std::isnan(got[0])) << axon::cpu_gemm_name(engine);
  }
}

TEST_P(CpuActivation, EmptyTensor) {
  const Tensor x = Tensor::zeros({0, 5});
  const Tensor y = axon::activation(GetParam(), x);
  EXPECT_EQ(y.shape(), (Shape{0, 5}));
  EXPECT_EQ(axon::activation_backward(GetParam(), x, y, x).shape(), (Shape{0, 5}));
}

INSTANTIATE_TEST_SUITE_P(All, CpuActivation, ::testing::ValuesIn(kAll),
                         [](const auto& info) { return name_of(info.param); });

// ---- parameters -----------------------------------------------------------------------------

TEST(CpuActivationParams, Defaults) {
  EXPECT_FLOAT_EQ(axon::default_alpha(Activation::kLeakyRelu), 0.01f);
  EXPECT_FLOAT_EQ(axon::default_alpha(Activation::kElu), 1.0f);
}

TEST(CpuActivationParams, LeakyReluDefaultSlope) {
  const std::vector<double> x{-2.0, -0.5, 0.25, 3.0, -100.0};
  EXPECT_TRUE(near_ref(axon::leaky_relu(tensor_from({5}, x)),
                       {-0.02, -0.005, 0.25, 3.0, -1.0}, kRtol, kAtol));
}

TEST(CpuActivationParams, LeakyReluCustomSlope) {
  const auto x = smooth_inputs(Activation::kLeakyRelu, 1001, -4, 4, 5);
  check_activation(Activation::kLeakyRelu, {1001}, x, {0.2f}, 0.2, 6);
  EXPECT_TRUE(near_ref(axon::leaky_relu(tensor_from({1001}, x), 0.2f),
                       forward_ref(Activation::kLeakyRelu, x, 0.2), kRtol, kAtol));
  // A slope of 0 is plain ReLU (0 is a value, not "the default").
  check_activation(Activation::kLeakyRelu, {1001}, x, {0.0f}, 0.0, 7);
}

TEST(CpuActivationParams, EluDefaultAndCustomAlpha) {
  const auto x = smooth_inputs(Activation::kElu, 1001, -4, 4, 8);
  EXPECT_TRUE(near_ref(axon::elu(tensor_from({1001}, x)), forward_ref(Activation::kElu, x, 1.0),
                       kRtol, kAtol));
  check_activation(Activation::kElu, {1001}, x, {0.5f}, 0.5, 9);
  check_activation(Activation::kElu, {1001}, x, {2.0f}, 2.0, 10);
  EXPECT_TRUE(near_ref(axon::elu(tensor_from({1001}, x), 0.5f),
                       forward_ref(Activation::kElu, x, 0.5), kRtol, kAtol));
}

TEST(CpuActivationParams, AlphaIgnoredByFixedActivations) {
  // SELU's constants are fixed; the others have no constant. An alpha must not change them.
  for (Activation kind : {Activation::kSelu, Activation::kSigmoid, Activation::kGelu, Activation::kRelu,
                          Activation::kRelu6, Activation::kHardswish, Activation::kMish, Activation::kGeluTanh}) {
    SCOPED_TRACE(name_of(kind));
    const auto x = smooth_inputs(kind, 101, -4, 4, 11);
    check_activation(kind, {101}, x, {0.3f}, default_alpha_ref(kind), 12);
  }
}

TEST(CpuActivationParams, ConvenienceWrappers) {
  const auto x = smooth_inputs(Activation::kRelu, 37, -4, 4, 13);
  const Tensor xt = tensor_from({37}, x);
  const struct {
    Activation kind;
    Tensor (*fn)(const Tensor&);
  } cases[] = {
      {Activation::kIdentity, axon::identity}, {Activation::kSigmoid, axon::sigmoid},
      {Activation::kTanh, axon::tanh},         {Activation::kRelu, axon::relu},
      {Activation::kSelu, axon::selu},         {Activation::kGelu, axon::gelu},
      {Activation::kSilu, axon::silu},
      {Activation::kSoftsign, axon::softsign}, {Activation::kHardSigmoid, axon::hard_sigmoid},
      {Activation::kRelu6, axon::relu6},       {Activation::kHardswish, axon::hardswish},
      {Activation::kMish, axon::mish},         {Activation::kLogSigmoid, axon::log_sigmoid},
      {Activation::kGeluTanh, axon::gelu_tanh},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(name_of(c.kind));
    EXPECT_TRUE(near_ref(c.fn(xt), forward_ref(c.kind, x, default_alpha_ref(c.kind)), kRtol, kAtol));
  }
  EXPECT_TRUE(near_ref(axon::softplus(xt), forward_ref(Activation::kSoftplus, x, {1.0, 20.0}), kRtol, kAtol));
  EXPECT_TRUE(near_ref(axon::hardtanh(xt), forward_ref(Activation::kHardtanh, x, {-1.0, 1.0}), kRtol, kAtol));
}

// The two-constant activations with constants of their own: Hardtanh's limits, Softplus's beta
// and threshold (beta x above the threshold is x itself), forward and backward.
TEST(CpuActivationParams, HardtanhLimitsAndSoftplusBetaAndThreshold) {
  const auto x = random_doubles(1001, -4, 4, 31);
  auto away = x;
  for (auto& v : away) {
    while (std::abs(v - 0.5) < 1e-3 || std::abs(v + 2) < 1e-3) v = static_cast<float>(v + 0.01);
  }
  check_activation(Activation::kHardtanh, {1001}, away, {-2.0f, 0.5f}, Consts{-2.0, 0.5}, 32);
  EXPECT_TRUE(near_ref(axon::hardtanh(tensor_from({1001}, away), -2.0f, 0.5f),
                       forward_ref(Activation::kHardtanh, away, {-2.0, 0.5}), kRtol, kAtol));
  auto smooth = x;
  for (auto& v : smooth) {
    while (std::abs(2.0 * v - 3.0) < 1e-2) v = static_cast<float>(v + 0.02);  // the threshold's step
  }
  check_activation(Activation::kSoftplus, {1001}, smooth, {2.0f, 3.0f}, Consts{2.0, 3.0}, 33);
  check_activation(Activation::kSoftplus, {1001}, smooth, {-1.5f, 20.0f}, Consts{-1.5, 20.0}, 34);
  const std::vector<float> above = axon::softplus(tensor_from({2}, std::vector<double>{2.0, 1.0}), 2.0f, 3.0f).to_vector();
  EXPECT_EQ(above[0], 2.0f);  // 2 x = 4 > 3: x itself
  EXPECT_NEAR(above[1], std::log1p(std::exp(2.0)) / 2.0, 1e-6);
  const Tensor xt = tensor_from({2}, std::vector<double>{1.0, 2.0});
  axon_test::expect_error<axon::ValueError>([&] { (void)axon::hardtanh(xt, 1.0f, 1.0f); }, {"hardtanh", "min_val", "max_val"});
  axon_test::expect_error<axon::ValueError>([&] { (void)axon::softplus(xt, 0.0f); }, {"softplus", "beta"});
  axon_test::expect_error<axon::ValueError>(
      [&] { (void)axon::softplus(xt, 1.0f, std::numeric_limits<float>::infinity()); }, {"softplus", "threshold", "finite"});
}

// ---- softmax / log_softmax ------------------------------------------------------------------

// Row-wise over the last axis, in double.
std::vector<double> softmax_ref(const std::vector<double>& x, std::size_t cols, bool log) {
  std::vector<double> y(x.size());
  for (std::size_t r = 0; r * cols < x.size(); ++r) {
    const double* row = x.data() + r * cols;
    double m = row[0];
    for (std::size_t c = 1; c < cols; ++c) m = std::max(m, row[c]);
    double s = 0;
    for (std::size_t c = 0; c < cols; ++c) s += std::exp(row[c] - m);
    for (std::size_t c = 0; c < cols; ++c) {
      y[r * cols + c] = log ? row[c] - m - std::log(s) : std::exp(row[c] - m) / s;
    }
  }
  return y;
}

// d/dx of sum(g * softmax(x)) (or log_softmax), by central differences, one row at a time.
std::vector<double> softmax_backward_fd(const std::vector<double>& x, const std::vector<double>& g,
                                        std::size_t cols, bool log) {
  std::vector<double> out(x.size());
  for (std::size_t r = 0; r * cols < x.size(); ++r) {
    const std::vector<double> row(x.begin() + r * cols, x.begin() + (r + 1) * cols);
    const std::vector<double> grow(g.begin() + r * cols, g.begin() + (r + 1) * cols);
    const auto loss = [&](const std::vector<double>& v) {
      const auto y = softmax_ref(v, cols, log);
      double s = 0;
      for (std::size_t c = 0; c < cols; ++c) s += grow[c] * y[c];
      return s;
    };
    const auto fd = axon_test::fd_gradient(loss, row);
    std::copy(fd.begin(), fd.end(), out.begin() + r * cols);
  }
  return out;
}

class CpuSoftmax : public ::testing::TestWithParam<bool> {  // param: log_softmax
 protected:
  bool log() const { return GetParam(); }
  Tensor forward(const Tensor& x) const { return log() ? axon::log_softmax(x) : axon::softmax(x); }
  void forward_out(const Tensor& x, const Tensor& y) const {
    if (log()) {
      axon::log_softmax_out(x, y);
    } else {
      axon::softmax_out(x, y);
    }
  }
  Tensor backward(const Tensor& y, const Tensor& g) const {
    return log() ? axon::log_softmax_backward(y, g) : axon::softmax_backward(y, g);
  }
};

TEST_P(CpuSoftmax, ForwardAndBackward) {
  const Shape shapes[] = {{1, 1}, {5, 1001}, {3, 7}, {2, 3, 5}, {7}, {1001, 3}, {4, 1}};
  std::uint32_t seed = log() ? 500 : 600;
  for (const Shape& shape : shapes) {
    SCOPED_TRACE(shape.str());
    const std::size_t cols = static_cast<std::size_t>(shape.cols());
    const auto x = random_doubles(static_cast<std::size_t>(shape.numel()), -5, 5, ++seed);
    const auto want_y = softmax_ref(x, cols, log());
    const Tensor xt = tensor_from(shape, x);
    const Tensor y = forward(xt);
    EXPECT_EQ(y.shape(), shape);
    EXPECT_TRUE(near_ref(y, want_y, kRtol, kAtol)) << "forward";
    const Tensor y2 = Tensor::full(shape, 3.0f);
    forward_out(xt, y2);
    EXPECT_TRUE(near_ref(y2, want_y, kRtol, kAtol)) << "_out";

    const auto g = random_doubles(x.size(), -1, 1, ++seed);
    const Tensor gx = backward(tensor_from(shape, want_y), tensor_from(shape, g));
    EXPECT_EQ(gx.shape(), shape);
    EXPECT_TRUE(near_ref(gx, softmax_backward_fd(x, g, cols, log()), kGradRtol, kGradAtol))
        << "backward";
  }
}

TEST_P(CpuSoftmax, ShiftInvariantAndLargeInputsFinite) {
  // Rows with +-1e4 entries: a naive exp overflows. Results must be finite and correct.
  const std::vector<double> x{1e4,  -1e4, 0.0,  5e3, 1e4,   // two maxima
                              -1e4, -1e4, -1e4, -1e4, -1e4,  // all equal, very negative
                              1e4,  1e4 - 1, 1e4 - 2, 1e4 - 3, 1e4 - 4,
                              100,  -100, 50,   -50,  0};
  const Shape shape{4, 5};
  const Tensor y = forward(tensor_from(shape, x));
  EXPECT_TRUE(axon_test::all_finite(y));
  const auto want = softmax_ref(x, 5, log());
  EXPECT_TRUE(near_ref(y, want, kRtol, kAtol));
  const auto g = random_doubles(x.size(), -1, 1, 31);
  const Tensor gx = backward(tensor_from(shape, want), tensor_from(shape, g));
  EXPECT_TRUE(axon_test::all_finite(gx));
  EXPECT_TRUE(near_ref(gx, softmax_backward_fd(x, g, 5, log()), kGradRtol, kGradAtol));
}

TEST_P(CpuSoftmax, EmptyRows) {
  const Tensor y = forward(Tensor::zeros({0, 4}));
  EXPECT_EQ(y.shape(), (Shape{0, 4}));
}

INSTANTIATE_TEST_SUITE_P(Kinds, CpuSoftmax, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "log_softmax" : "softmax"; });

TEST(CpuSoftmaxRows, SoftmaxRowsSumToOne) {
  const auto x = random_doubles(5 * 1001, -20, 20, 41);
  const auto y = axon::softmax(tensor_from({5, 1001}, x)).to_vector();
  for (int r = 0; r < 5; ++r) {
    double s = 0;
    for (int c = 0; c < 1001; ++c) s += y[static_cast<std::size_t>(r * 1001 + c)];
    EXPECT_NEAR(s, 1.0, 1e-5) << "row " << r;
  }
}

}  // namespace

namespace {

// alpha: NaN (the default) picks the kind's default; a negative value is used as given; an
// infinite one is refused.
TEST(CpuActivationAlpha, NegativeIsUsedAndInfiniteThrows) {
  const axon::Tensor x = axon::Tensor::from_vector({2}, std::vector<float>{-2.0f, 3.0f});
  EXPECT_EQ(axon::leaky_relu(x, -0.5f).to_vector(), (std::vector<float>{1.0f, 3.0f}));
  EXPECT_EQ(axon::activation(axon::Activation::kLeakyRelu, x).to_vector(), (std::vector<float>{-0.02f, 3.0f}));
  axon_test::expect_error<axon::ValueError>(
      [&] { (void)axon::activation(axon::Activation::kElu, x, {std::numeric_limits<float>::infinity()}); },
      {"elu", "alpha", "finite"});
}

}  // namespace
