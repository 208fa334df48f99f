// The fused Dense ops on the CPU: linear (GEMM + bias + activation), bias_activation, and
// activation_backward_bias_grad, against double references written here; the backward's
// derivative against central differences of the reference activation.
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "test_util.h"

namespace {

using axon::Activation;
using axon::Tensor;
using axon_test::central_diff;
using axon_test::expect_error;
using axon_test::near_ref;
using axon_test::random_doubles;
using axon_test::tensor_from;

// A few activations that cover the kinds of formula: none, piecewise, saturating, erf-based.
double act_ref(Activation kind, double x) {
  switch (kind) {
    case Activation::kIdentity: return x;
    case Activation::kRelu: return x > 0 ? x : 0;
    case Activation::kLeakyRelu: return x > 0 ? x : 0.01 * x;
    case Activation::kTanh: return std::tanh(x);
    case Activation::kGelu: return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
    default: ADD_FAILURE() << "no reference for this activation"; return 0;
  }
}

const Activation kKinds[] = {Activation::kIdentity, Activation::kRelu, Activation::kLeakyRelu,
                             Activation::kTanh, Activation::kGelu};

struct Dims {
  std::int64_t batch, in, out;
};
// 1x1, odd sizes, and one large enough to take the threaded paths.
const Dims kDims[] = {{1, 1, 1}, {7, 13, 5}, {33, 17, 65}, {300, 40, 130}};

TEST(CpuFused, LinearMatchesReference) {
  for (const Activation kind : kKinds) {
    for (const Dims d : kDims) {
      const auto x = random_doubles(static_cast<std::size_t>(d.batch * d.in), -1, 1, 1);
      const auto w = random_doubles(static_cast<std::size_t>(d.in * d.out), -1, 1, 2);
      const auto b = random_doubles(static_cast<std::size_t>(d.out), -1, 1, 3);
      std::vector<double> pre_ref(static_cast<std::size_t>(d.batch * d.out));
      std::vector<double> y_ref(pre_ref.size());
      for (std::int64_t r = 0; r < d.batch; ++r) {
        for (std::int64_t c = 0; c < d.out; ++c) {
          double sum = b[static_cast<std::size_t>(c)];
          for (std::int64_t k = 0; k < d.in; ++k) {
            sum += x[static_cast<std::size_t>(r * d.in + k)] * w[static_cast<std::size_t>(c * d.in + k)];
          }
          pre_ref[static_cast<std::size_t>(r * d.out + c)] = sum;
          y_ref[static_cast<std::size_t>(r * d.out + c)] = act_ref(kind, sum);
        }
      }
      const Tensor pre = Tensor::full({d.batch, d.out}, NAN);  // must be overwritten everywhere
      const Tensor y = Tensor::full({d.batch, d.out}, NAN);
      // w is [out, in], as nn.Linear stores it.
      axon::linear_out(kind, tensor_from({d.batch, d.in}, x), tensor_from({d.out, d.in}, w),
                       tensor_from({d.out}, b), pre, y);
      const double tol = 1e-5 * std::sqrt(static_cast<double>(d.in));
      EXPECT_TRUE(near_ref(pre, pre_ref, tol, tol)) << axon::activation_name(kind) << " " << d.batch << "x" << d.in << "x" << d.out;
      EXPECT_TRUE(near_ref(y, y_ref, tol, tol)) << axon::activation_name(kind) << " " << d.batch << "x" << d.in << "x" << d.out;
      // Without pre (inference): the same y, nothing else written.
      const Tensor y_only = Tensor::full({d.batch, d.out}, NAN);
      axon::linear_out(kind, tensor_from({d.batch, d.in}, x), tensor_from({d.out, d.in}, w),
                       tensor_from({d.out}, b), Tensor(), y_only);
      EXPECT_TRUE(near_ref(y_only, y_ref, tol, tol)) << "no pre: " << axon::activation_name(kind);
    }
  }
}

TEST(CpuFused, BiasActivationMatchesReference) {
  for (const Activation kind : kKinds) {
    for (const Dims d : kDims) {
      const auto x = random_doubles(static_cast<std::size_t>(d.batch * d.out), -3, 3, 4);
      const auto b = random_doubles(static_cast<std::size_t>(d.out), -1, 1, 5);
      std::vector<double> pre_ref(x.size()), y_ref(x.size());
      for (std::size_t i = 0; i < x.size(); ++i) {
        // float addition, as the op does: the reference rounds the sum to float first
        pre_ref[i] = static_cast<float>(static_cast<float>(x[i]) + static_cast<float>(b[i % static_cast<std::size_t>(d.out)]));
        y_ref[i] = act_ref(kind, pre_ref[i]);
      }
      const Tensor pre = Tensor::empty({d.batch, d.out});
      const Tensor y = Tensor::empty({d.batch, d.out});
      axon::bias_activation_out(kind, tensor_from({d.batch, d.out}, x), tensor_from({d.out}, b), pre, y);
      EXPECT_TRUE(near_ref(pre, pre_ref, 0, 0)) << axon::activation_name(kind);
      EXPECT_TRUE(near_ref(y, y_ref, 1e-5, 1e-6)) << axon::activation_name(kind);
    }
  }
}

TEST(CpuFused, BackwardBiasGradMatchesFiniteDifferences) {
  for (const Activation kind : kKinds) {
    for (const Dims d : kDims) {
      const std::size_t n = static_cast<std::size_t>(d.batch * d.out);
      auto pre = random_doubles(n, -3, 3, 6);
      for (auto& v : pre) {  // keep finite differences away from the kinks of relu / leaky relu
        if (std::abs(v) < 1e-3) v = 0.5;
      }
      const auto grad_y = random_doubles(n, -1, 1, 7);
      std::vector<double> y(n), grad_pre_ref(n), grad_bias_ref(static_cast<std::size_t>(d.out), 0.0);
      for (std::size_t i = 0; i < n; ++i) {
        y[i] = static_cast<float>(act_ref(kind, pre[i]));
        grad_pre_ref[i] = grad_y[i] * central_diff([&](double v) { return act_ref(kind, v); }, pre[i]);
        grad_bias_ref[i % static_cast<std::size_t>(d.out)] += grad_pre_ref[i];
      }
      const Tensor grad_pre = Tensor::empty({d.batch, d.out});
      const Tensor grad_bias = Tensor::full({d.out}, NAN);
      axon::activation_backward_bias_grad_out(kind, tensor_from({d.batch, d.out}, pre), tensor_from({d.batch, d.out}, y),
                                              tensor_from({d.batch, d.out}, grad_y), grad_pre, grad_bias);
      EXPECT_TRUE(near_ref(grad_pre, grad_pre_ref, 1e-4, 1e-5)) << axon::activation_name(kind);
      const double bias_tol = 1e-4 * std::sqrt(static_cast<double>(d.batch));
      EXPECT_TRUE(near_ref(grad_bias, grad_bias_ref, bias_tol, bias_tol)) << axon::activation_name(kind);
    }
  }
}

TEST(CpuFused, BiasGradientDoesNotDependOnThreadCount) {
  const std::int64_t rows = 513, cols = 257;
  const Tensor pre = Tensor::uniform({rows, cols}, -2, 2);
  const Tensor y = axon::tanh(pre);
  const Tensor grad_y = Tensor::uniform({rows, cols}, -1, 1);
  std::vector<float> results[2];
  const int saved = axon::num_threads();
  for (int threads : {1, 2}) {
    axon::set_num_threads(threads);
    const Tensor grad_pre = Tensor::empty({rows, cols});
    const Tensor grad_bias = Tensor::empty({cols});
    axon::activation_backward_bias_grad_out(Activation::kTanh, pre, y, grad_y, grad_pre, grad_bias);
    results[threads - 1] = grad_bias.to_vector();
  }
  axon::set_num_threads(saved);
  EXPECT_EQ(results[0], results[1]);
}

TEST(CpuFused, EmptyBatches) {
  const Tensor x = Tensor::empty({0, 3});
  const Tensor w = Tensor::uniform({4, 3}, -1, 1);
  const Tensor b = Tensor::uniform({4}, -1, 1);
  const Tensor pre = Tensor::empty({0, 4}), y = Tensor::empty({0, 4});
  EXPECT_NO_THROW(axon::linear_out(Activation::kRelu, x, w, b, pre, y));
  const Tensor grad_bias = Tensor::full({4}, NAN);
  axon::activation_backward_bias_grad_out(Activation::kRelu, pre, y, pre, Tensor::empty({0, 4}), grad_bias);
  EXPECT_TRUE(near_ref(grad_bias, {0, 0, 0, 0}, 0, 0));  // a sum over no rows
  // No inputs (in = 0): pre = bias.
  const Tensor pre2 = Tensor::empty({2, 4}), y2 = Tensor::empty({2, 4});
  axon::linear_out(Activation::kIdentity, Tensor::empty({2, 0}), Tensor::empty({4, 0}), b, pre2, y2);
  const auto bias = b.to_vector();
  std::vector<double> expected;
  for (int r = 0; r < 2; ++r) expected.insert(expected.end(), bias.begin(), bias.end());
  EXPECT_TRUE(near_ref(y2, expected, 0, 0));
}

TEST(CpuFused, ErrorsNameTheOpAndShapes) {
  const Tensor x = Tensor::uniform({4, 3}, -1, 1);
  const Tensor w = Tensor::uniform({2, 5}, -1, 1);
  const Tensor b = Tensor::uniform({2}, -1, 1);
  const Tensor out = Tensor::empty({4, 2});
  expect_error<axon::ShapeError>([&] { axon::linear_out(Activation::kRelu, x, w, b, out, out); },
                                 {"linear_relu", "[4, 3]", "[2, 5]"});
  const Tensor w2 = Tensor::uniform({2, 3}, -1, 1);
  expect_error<axon::ShapeError>([&] { axon::linear_out(Activation::kRelu, x, w2, Tensor::empty({3}), out, out); },
                                 {"linear_relu", "bias", "[2]", "[3]"});
  expect_error<axon::ShapeError>([&] { axon::linear_out(Activation::kRelu, x, w2, b, Tensor::empty({4, 3}), out); },
                                 {"linear_relu", "pre", "[4, 2]", "[4, 3]"});
  const Tensor square = Tensor::uniform({4, 2}, -1, 1);
  const Tensor w_square = Tensor::uniform({2, 2}, -1, 1);
  expect_error<axon::ValueError>([&] { axon::linear_out(Activation::kRelu, square, w_square, b, out, square); },
                                 {"linear_relu", "must not overlap"});
  expect_error<axon::ShapeError>([&] { axon::bias_activation_out(Activation::kTanh, x, b, x, x); },
                                 {"bias_tanh", "bias", "[3]", "[2]"});
  expect_error<axon::ShapeError>(
      [&] { axon::activation_backward_bias_grad_out(Activation::kGelu, x, x, x, x, Tensor::empty({4})); },
      {"gelu_backward_bias_grad", "grad_bias", "[3]", "[4]"});
  expect_error<axon::DTypeError>(
      [&] { axon::bias_activation_out(Activation::kTanh, x, Tensor::zeros({3}, axon::Device::cpu(), axon::DType::kInt32), x, x); },
      {"bias_tanh", "bias", "float32", "int32"});
}

}  // namespace

namespace {

// Bias gradients of a million rows stay within float rounding of the exact sum (a float running
// sum over the rows was 1.5e-5 off at 10^6 rows, 1.4e-4 at 10^7; PyTorch's 4e-8). Both kernels
// that sum columns: bias_grad and the fused activation backward.
TEST(CpuFused, BiasGradientsOfAMillionRowsAreAccurate) {
  const std::int64_t rows = 1'000'000, cols = 3;
  std::vector<float> g(static_cast<std::size_t>(rows * cols));
  std::vector<double> want(cols, 0.0);
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> value(0.5f, 1.5f);
  for (std::size_t i = 0; i < g.size(); ++i) {
    g[i] = value(rng);
    want[i % cols] += g[i];
  }
  const Tensor grad = Tensor::from_vector({rows, cols}, std::span<const float>(g));
  const std::vector<float> sums = axon::bias_grad(grad).to_vector();
  const Tensor pre = Tensor::ones({rows, cols}), y = Tensor::ones({rows, cols});
  const Tensor grad_pre = Tensor::empty({rows, cols}), grad_bias = Tensor::empty({cols});
  axon::activation_backward_bias_grad_out(Activation::kRelu, pre, y, grad, grad_pre, grad_bias);
  const std::vector<float> fused = grad_bias.to_vector();
  for (std::int64_t c = 0; c < cols; ++c) {
    const double w = want[static_cast<std::size_t>(c)];
    EXPECT_LT(std::abs(sums[static_cast<std::size_t>(c)] - w) / w, 3e-7) << "bias_grad column " << c;
    EXPECT_LT(std::abs(fused[static_cast<std::size_t>(c)] - w) / w, 3e-7) << "fused column " << c;
  }
}

}  // namespace
