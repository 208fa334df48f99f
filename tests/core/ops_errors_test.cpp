// Argument checking of every public op (ops.h): wrong shapes give a ShapeError naming the op and
// the shapes, wrong dtypes a DTypeError, undefined tensors an axon::Error, tensors on different
// devices a DeviceError (only testable with a second device).
#include <cstdint>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "test_util.h"

namespace {

using axon::Activation;
using axon::Device;
using axon::DType;
using axon::LossKind;
using axon::ReduceOp;
using axon::Shape;
using axon::Tensor;
using axon_test::expect_error;

Tensor f32(const Shape& shape) { return Tensor::full(shape, 0.5f); }
Tensor i32(const Shape& shape) { return Tensor::zeros(shape, Device::cpu(), DType::kInt32); }

// ---- linear algebra -------------------------------------------------------------------------

TEST(OpsErrors, MatmulShapes) {
  expect_error<axon::ShapeError>([] { (void)axon::matmul(f32({2, 3}), f32({2, 3})); },
                                 {"matmul", "[2, 3]"});
  expect_error<axon::ShapeError>([] { (void)axon::matmul(f32({2, 3}), f32({4, 5})); },
                                 {"matmul", "[2, 3]", "[4, 5]"});
  // With transposes the inner dimensions are checked after transposing.
  expect_error<axon::ShapeError>([] { (void)axon::matmul(f32({2, 3}), f32({3, 4}), true); },
                                 {"matmul", "[2, 3]", "[3, 4]"});
  expect_error<axon::ShapeError>(
      [] { (void)axon::matmul(f32({2, 3}), f32({3, 4}), false, true); },
      {"matmul", "[2, 3]", "[3, 4]"});
  // Ranks other than 2.
  expect_error<axon::ShapeError>([] { (void)axon::matmul(f32({2, 3, 4}), f32({4, 5})); },
                                 {"matmul", "[2, 3, 4]"});
  expect_error<axon::ShapeError>([] { (void)axon::matmul(f32({3}), f32({3, 5})); },
                                 {"matmul", "[3]"});
}

TEST(OpsErrors, MatmulTransposedShapesThatFitAreAccepted) {
  EXPECT_EQ(axon::matmul(f32({3, 2}), f32({3, 4}), true).shape(), (Shape{2, 4}));
  EXPECT_EQ(axon::matmul(f32({2, 3}), f32({4, 3}), false, true).shape(), (Shape{2, 4}));
  EXPECT_EQ(axon::matmul(f32({3, 2}), f32({4, 3}), true, true).shape(), (Shape{2, 4}));
}

TEST(OpsErrors, MatmulDtype) {
  expect_error<axon::DTypeError>([] { (void)axon::matmul(i32({2, 3}), f32({3, 4})); });
  expect_error<axon::DTypeError>([] { (void)axon::matmul(f32({2, 3}), i32({3, 4})); });
}

TEST(OpsErrors, GemmShapes) {
  expect_error<axon::ShapeError>(
      [] { axon::gemm(f32({2, 3}), f32({4, 5}), f32({2, 5})); }, {"gemm", "[2, 3]", "[4, 5]"});
  // The output of the wrong shape: the message names the output's shape.
  expect_error<axon::ShapeError>(
      [] { axon::gemm(f32({2, 3}), f32({3, 4}), f32({2, 5})); }, {"gemm", "[2, 5]"});
  expect_error<axon::ShapeError>(
      [] { axon::gemm(f32({2, 3}), f32({3, 4}), f32({4, 2})); }, {"gemm", "[4, 2]"});
  expect_error<axon::ShapeError>(
      [] { axon::gemm(f32({3, 2}), f32({3, 4}), f32({3, 4}), 1.0f, 0.0f, true, false); },
      {"gemm", "[3, 4]"});
  expect_error<axon::ShapeError>(
      [] { axon::gemm(f32({2, 3}), f32({3, 4}), f32({8})); }, {"gemm", "[8]"});
}

TEST(OpsErrors, GemmDtype) {
  expect_error<axon::DTypeError>([] { axon::gemm(f32({2, 3}), f32({3, 4}), i32({2, 4})); });
  expect_error<axon::DTypeError>([] { axon::gemm(i32({2, 3}), f32({3, 4}), f32({2, 4})); });
}

TEST(OpsErrors, BiasAdd) {
  expect_error<axon::ShapeError>([] { (void)axon::bias_add(f32({2, 3}), f32({4})); },
                                 {"bias_add", "[2, 3]", "[4]"});
  expect_error<axon::ShapeError>([] { (void)axon::bias_add(f32({2, 3}), f32({1, 3})); },
                                 {"bias_add", "[1, 3]"});
  expect_error<axon::ShapeError>(
      [] { axon::bias_add_out(f32({2, 3}), f32({3}), f32({3, 2})); }, {"bias_add", "[3, 2]"});
  expect_error<axon::DTypeError>([] { (void)axon::bias_add(i32({2, 3}), f32({3})); });
  expect_error<axon::DTypeError>([] { (void)axon::bias_add(f32({2, 3}), i32({3})); });
  expect_error<axon::DTypeError>([] { axon::bias_add_out(f32({2, 3}), f32({3}), i32({2, 3})); });
}

TEST(OpsErrors, BiasGrad) {
  expect_error<axon::ShapeError>([] { axon::bias_grad_out(f32({2, 3}), f32({2})); },
                                 {"bias_grad", "[2, 3]", "[2]"});
  expect_error<axon::DTypeError>([] { (void)axon::bias_grad(i32({2, 3})); });
  expect_error<axon::DTypeError>([] { axon::bias_grad_out(f32({2, 3}), i32({3})); });
}

// ---- elementwise ----------------------------------------------------------------------------

TEST(OpsErrors, BinaryShapes) {
  expect_error<axon::ShapeError>([] { (void)axon::add(f32({2, 3}), f32({3, 2})); },
                                 {"add", "[2, 3]", "[3, 2]"});
  expect_error<axon::ShapeError>([] { (void)axon::sub(f32({2, 3}), f32({6})); },
                                 {"sub", "[2, 3]", "[6]"});
  expect_error<axon::ShapeError>([] { (void)axon::mul(f32({7}), f32({8})); },
                                 {"mul", "[7]", "[8]"});
  expect_error<axon::ShapeError>(
      [] { axon::binary_out(axon::BinaryOp::kAdd, f32({2, 3}), f32({2, 3}), f32({2, 4})); },
      {"[2, 3]", "[2, 4]"});
  expect_error<axon::ShapeError>(
      [] { axon::binary_out(axon::BinaryOp::kMul, f32({2, 3}), f32({3, 3}), f32({2, 3})); },
      {"[2, 3]", "[3, 3]"});
}

TEST(OpsErrors, BinaryDtype) {
  expect_error<axon::DTypeError>([] { (void)axon::add(f32({3}), i32({3})); });
  expect_error<axon::DTypeError>([] { (void)axon::sub(i32({3}), f32({3})); });
  expect_error<axon::DTypeError>([] { (void)axon::mul(i32({3}), i32({3})); });
  expect_error<axon::DTypeError>(
      [] { axon::binary_out(axon::BinaryOp::kSub, f32({3}), f32({3}), i32({3})); });
}

TEST(OpsErrors, ScaleAxpy) {
  expect_error<axon::ShapeError>([] { axon::scale_out(f32({2, 3}), 2.0f, f32({3, 2})); },
                                 {"scale", "[2, 3]", "[3, 2]"});
  expect_error<axon::DTypeError>([] { (void)axon::scale(i32({3}), 2.0f); });
  expect_error<axon::DTypeError>([] { axon::scale_out(f32({3}), 2.0f, i32({3})); });
  expect_error<axon::ShapeError>([] { axon::axpy(1.0f, f32({2, 3}), f32({6})); },
                                 {"axpy", "[2, 3]", "[6]"});
  expect_error<axon::DTypeError>([] { axon::axpy(1.0f, i32({3}), f32({3})); });
  expect_error<axon::DTypeError>([] { axon::axpy(1.0f, f32({3}), i32({3})); });
}

TEST(OpsErrors, RandomFillsNeedFloat) {
  expect_error<axon::DTypeError>([] { axon::fill_uniform(i32({3}), 0.0f, 1.0f); });
  expect_error<axon::DTypeError>([] { axon::fill_normal(i32({3}), 0.0f, 1.0f); });
}

// ---- activations ----------------------------------------------------------------------------

const Activation kAllActivations[] = {
    Activation::kIdentity, Activation::kSigmoid,  Activation::kTanh,     Activation::kRelu,
    Activation::kLeakyRelu, Activation::kElu,     Activation::kSelu,     Activation::kGelu,
    Activation::kSilu,     Activation::kSoftplus, Activation::kSoftsign, Activation::kHardSigmoid,
    Activation::kRelu6,    Activation::kHardtanh, Activation::kHardswish, Activation::kMish,
    Activation::kLogSigmoid, Activation::kGeluTanh,
};

TEST(OpsErrors, ActivationShapes) {
  static_assert(std::size(kAllActivations) == axon::kActivationCount);
  for (Activation kind : kAllActivations) {
    const std::string name(axon::activation_name(kind));
    SCOPED_TRACE(name);
    expect_error<axon::ShapeError>([&] { axon::activation_out(kind, f32({2, 3}), f32({3, 2})); },
                                   {name, "[2, 3]", "[3, 2]"});
    expect_error<axon::ShapeError>(
        [&] { (void)axon::activation_backward(kind, f32({2, 3}), f32({2, 3}), f32({2, 4})); },
        {name, "[2, 3]", "[2, 4]"});
    expect_error<axon::ShapeError>(
        [&] { (void)axon::activation_backward(kind, f32({2, 3}), f32({5}), f32({2, 3})); },
        {name, "[2, 3]", "[5]"});
    expect_error<axon::ShapeError>(
        [&] {
          axon::activation_backward_out(kind, f32({2, 3}), f32({2, 3}), f32({2, 3}), f32({3, 3}));
        },
        {name, "[3, 3]"});
  }
}

TEST(OpsErrors, ActivationDtype) {
  for (Activation kind : kAllActivations) {
    SCOPED_TRACE(std::string(axon::activation_name(kind)));
    expect_error<axon::DTypeError>([&] { (void)axon::activation(kind, i32({4})); });
    expect_error<axon::DTypeError>([&] { axon::activation_out(kind, f32({4}), i32({4})); });
    expect_error<axon::DTypeError>(
        [&] { (void)axon::activation_backward(kind, f32({4}), f32({4}), i32({4})); });
  }
}

TEST(OpsErrors, Softmax) {
  expect_error<axon::ShapeError>([] { axon::softmax_out(f32({2, 3}), f32({2, 4})); },
                                 {"softmax", "[2, 3]", "[2, 4]"});
  expect_error<axon::ShapeError>([] { axon::log_softmax_out(f32({2, 3}), f32({3, 2})); },
                                 {"log_softmax", "[2, 3]", "[3, 2]"});
  expect_error<axon::ShapeError>([] { (void)axon::softmax_backward(f32({2, 3}), f32({2, 4})); },
                                 {"softmax_backward", "[2, 3]", "[2, 4]"});
  expect_error<axon::ShapeError>(
      [] { (void)axon::log_softmax_backward(f32({2, 3}), f32({6})); },
      {"log_softmax_backward", "[2, 3]", "[6]"});
  expect_error<axon::DTypeError>([] { (void)axon::softmax(i32({2, 3})); });
  expect_error<axon::DTypeError>([] { (void)axon::log_softmax(i32({2, 3})); });
  expect_error<axon::DTypeError>([] { (void)axon::softmax_backward(f32({2, 3}), i32({2, 3})); });
  expect_error<axon::DTypeError>(
      [] { (void)axon::log_softmax_backward(i32({2, 3}), f32({2, 3})); });
}

// ---- losses ---------------------------------------------------------------------------------

const LossKind kElementwiseLosses[] = {LossKind::kMse, LossKind::kMae, LossKind::kHuber,
                                       LossKind::kBceWithLogits, LossKind::kBce};

TEST(OpsErrors, ElementwiseLossShapes) {
  for (LossKind kind : kElementwiseLosses) {
    const std::string name(axon::loss_name(kind));
    SCOPED_TRACE(name);
    expect_error<axon::ShapeError>([&] { (void)axon::loss(kind, f32({2, 3}), f32({3, 2})); },
                                   {name, "[2, 3]", "[3, 2]"});
    expect_error<axon::ShapeError>(
        [&] { (void)axon::loss_value(kind, f32({2, 3}), f32({6})); }, {name, "[2, 3]", "[6]"});
    // loss_out: the value must have one element, the grad pred's shape.
    expect_error<axon::ShapeError>(
        [&] { axon::loss_out(kind, f32({2, 3}), f32({2, 3}), f32({2}), f32({2, 3})); },
        {name, "[2]"});
    expect_error<axon::ShapeError>(
        [&] { axon::loss_out(kind, f32({2, 3}), f32({2, 3}), f32({1}), f32({3, 2})); },
        {name, "[3, 2]"});
  }
}

TEST(OpsErrors, ElementwiseLossDtype) {
  for (LossKind kind : kElementwiseLosses) {
    SCOPED_TRACE(std::string(axon::loss_name(kind)));
    expect_error<axon::DTypeError>([&] { (void)axon::loss(kind, f32({4}), i32({4})); });
    expect_error<axon::DTypeError>([&] { (void)axon::loss(kind, i32({4}), f32({4})); });
    expect_error<axon::DTypeError>(
        [&] { axon::loss_out(kind, f32({4}), f32({4}), f32({1}), i32({4})); });
  }
}

TEST(OpsErrors, LabelLossShapesAndDtypes) {
  for (const LossKind ce : {LossKind::kSoftmaxCrossEntropy, LossKind::kNll}) {
    const std::string name(axon::loss_name(ce));
    SCOPED_TRACE(name);
    // One label per row.
    expect_error<axon::ShapeError>([&] { (void)axon::loss(ce, f32({2, 3}), i32({3})); },
                                   {name, "[2, 3]", "[3]"});
    expect_error<axon::ShapeError>([&] { (void)axon::loss(ce, f32({2, 3}), i32({2, 3})); },
                                   {name, "[2, 3]"});
    // pred is [rows, classes].
    expect_error<axon::ShapeError>([&] { (void)axon::loss(ce, f32({6}), i32({6})); }, {name, "[6]"});
    expect_error<axon::ShapeError>(
        [&] { axon::loss_out(ce, f32({2, 3}), i32({2}), f32({1}), f32({3, 2})); }, {name, "[3, 2]"});
    // Labels are int32, logits float32.
    expect_error<axon::DTypeError>([&] { (void)axon::loss(ce, f32({2, 3}), f32({2})); });
    expect_error<axon::DTypeError>([&] { (void)axon::loss(ce, i32({2, 3}), i32({2})); });
    expect_error<axon::DTypeError>([&] { (void)axon::loss_value(ce, f32({2, 3}), f32({2})); });
    // Class weights: one per class, float32.
    expect_error<axon::ShapeError>([&] { (void)axon::loss(ce, f32({2, 3}), i32({2}), {}, f32({2})); },
                                   {name, "weight", "[2]", "[2, 3]"});
    expect_error<axon::DTypeError>([&] { (void)axon::loss(ce, f32({2, 3}), i32({2}), {}, i32({3})); },
                                   {name, "weight"});
  }
}

TEST(OpsErrors, LossOptions) {
  const LossKind ce = LossKind::kSoftmaxCrossEntropy;
  const Tensor labels = Tensor::zeros({2}, axon::Device::cpu(), axon::DType::kInt32);
  for (const float smoothing : {-0.1f, 1.5f, NAN}) {
    expect_error<axon::ValueError>(
        [&] { (void)axon::loss(ce, f32({2, 3}), labels, {.label_smoothing = smoothing}); }, {"label_smoothing"});
  }
  expect_error<axon::ValueError>(
      [&] { (void)axon::loss(LossKind::kNll, f32({2, 3}), labels, {.label_smoothing = 0.1f}); },
      {"nll", "label_smoothing"});
  expect_error<axon::ValueError>(
      [&] { (void)axon::loss(ce, f32({2, 3}), labels, {.reduction = static_cast<axon::Reduction>(7)}); },
      {"reduction"});
  // Only the label losses and BCE with logits take a weight; pos_weight spans the last axis.
  expect_error<axon::ValueError>(
      [&] { (void)axon::loss(LossKind::kMse, f32({2, 3}), f32({2, 3}), {}, f32({3})); }, {"mse", "weight"});
  expect_error<axon::ShapeError>(
      [&] { (void)axon::loss(LossKind::kBceWithLogits, f32({2, 3}), f32({2, 3}), {}, f32({2})); },
      {"bce_with_logits", "weight", "[2]"});
  // Reduction none: the value has one element per term.
  expect_error<axon::ShapeError>(
      [&] {
        axon::loss_out(LossKind::kMse, f32({2, 3}), f32({2, 3}), f32({1}), Tensor(), {.reduction = axon::Reduction::kNone});
      },
      {"mse", "[2, 3]", "none"});
  expect_error<axon::ShapeError>(
      [&] { axon::loss_out(ce, f32({2, 3}), labels, f32({2, 3}), Tensor(), {.reduction = axon::Reduction::kNone}); },
      {"[2]", "none"});
}

TEST(OpsErrors, HuberDeltaMustBePositive) {
  expect_error<axon::ValueError>(
      [] { (void)axon::loss(LossKind::kHuber, f32({3}), f32({3}), {0.0f}); });
  expect_error<axon::ValueError>(
      [] { (void)axon::loss(LossKind::kHuber, f32({3}), f32({3}), {-1.0f}); });
}

// ---- reductions -----------------------------------------------------------------------------

TEST(OpsErrors, Reductions) {
  expect_error<axon::DTypeError>([] { (void)axon::sum(i32({3})); });
  expect_error<axon::DTypeError>([] { (void)axon::mean(i32({3})); });
  expect_error<axon::DTypeError>([] { (void)axon::max(i32({3})); });
  expect_error<axon::DTypeError>([] { (void)axon::reduce_all(ReduceOp::kSum, i32({3})); });
  expect_error<axon::DTypeError>([] { (void)axon::reduce_rows(ReduceOp::kSum, i32({2, 3})); });
  expect_error<axon::DTypeError>([] { (void)axon::argmax_rows(i32({2, 3})); });
  expect_error<axon::DTypeError>(
      [] { axon::reduce_rows_out(ReduceOp::kMax, f32({2, 3}), i32({2})); });
  expect_error<axon::ShapeError>(
      [] { axon::reduce_rows_out(ReduceOp::kSum, f32({2, 3}), f32({3})); },
      {"reduce_rows", "[2, 3]", "[3]"});
  expect_error<axon::ShapeError>(
      [] { axon::reduce_rows_out(ReduceOp::kMean, f32({4, 2, 3}), f32({4})); },
      {"reduce_rows", "[4, 2, 3]", "[4]"});
  expect_error<axon::ValueError>([] { (void)axon::max(f32({0})); });
  expect_error<axon::ValueError>([] { (void)axon::max(f32({3, 0})); });
}

// ---- undefined tensors ----------------------------------------------------------------------

TEST(OpsErrors, UndefinedTensors) {
  const Tensor u;
  const Tensor x = f32({2, 3});
  const Tensor w = f32({3, 4});
  const Tensor v3 = f32({3});
  using Fn = std::function<void()>;
  const std::vector<std::pair<const char*, Fn>> calls = {
      {"matmul a", [&] { (void)axon::matmul(u, w); }},
      {"matmul b", [&] { (void)axon::matmul(x, u); }},
      {"gemm c", [&] { axon::gemm(x, w, u); }},
      {"gemm a", [&] { axon::gemm(u, w, f32({2, 4})); }},
      {"bias_add", [&] { (void)axon::bias_add(x, u); }},
      {"bias_add_out", [&] { axon::bias_add_out(x, v3, u); }},
      {"bias_grad", [&] { (void)axon::bias_grad(u); }},
      {"bias_grad_out", [&] { axon::bias_grad_out(x, u); }},
      {"add", [&] { (void)axon::add(u, x); }},
      {"sub", [&] { (void)axon::sub(x, u); }},
      {"mul", [&] { (void)axon::mul(u, u); }},
      {"binary_out", [&] { axon::binary_out(axon::BinaryOp::kAdd, x, x, u); }},
      {"scale", [&] { (void)axon::scale(u, 2.0f); }},
      {"scale_out", [&] { axon::scale_out(x, 2.0f, u); }},
      {"axpy x", [&] { axon::axpy(1.0f, u, x); }},
      {"axpy y", [&] { axon::axpy(1.0f, x, u); }},
      {"fill", [&] { axon::fill(u, 1.0f); }},
      {"fill_uniform", [&] { axon::fill_uniform(u, 0.0f, 1.0f); }},
      {"fill_normal", [&] { axon::fill_normal(u, 0.0f, 1.0f); }},
      {"activation", [&] { (void)axon::activation(Activation::kRelu, u); }},
      {"activation_out", [&] { axon::activation_out(Activation::kTanh, x, u); }},
      {"activation_backward",
       [&] { (void)axon::activation_backward(Activation::kSigmoid, x, x, u); }},
      {"activation_backward y",
       [&] { (void)axon::activation_backward(Activation::kSigmoid, x, u, x); }},
      {"activation_backward_out",
       [&] { axon::activation_backward_out(Activation::kGelu, x, x, x, u); }},
      {"softmax", [&] { (void)axon::softmax(u); }},
      {"log_softmax", [&] { (void)axon::log_softmax(u); }},
      {"softmax_out", [&] { axon::softmax_out(x, u); }},
      {"log_softmax_out", [&] { axon::log_softmax_out(u, x); }},
      {"softmax_backward", [&] { (void)axon::softmax_backward(x, u); }},
      {"log_softmax_backward", [&] { (void)axon::log_softmax_backward(u, x); }},
      {"loss pred", [&] { (void)axon::loss(LossKind::kMse, u, x); }},
      {"loss target", [&] { (void)axon::loss(LossKind::kMse, x, u); }},
      {"loss_value", [&] { (void)axon::loss_value(LossKind::kMae, x, u); }},
      {"loss_out value", [&] { axon::loss_out(LossKind::kMse, x, x, u, x); }},
      {"sum", [&] { (void)axon::sum(u); }},
      {"mean", [&] { (void)axon::mean(u); }},
      {"max", [&] { (void)axon::max(u); }},
      {"reduce_all", [&] { (void)axon::reduce_all(ReduceOp::kSum, u); }},
      {"reduce_rows", [&] { (void)axon::reduce_rows(ReduceOp::kMean, u); }},
      {"reduce_rows_out", [&] { axon::reduce_rows_out(ReduceOp::kSum, x, u); }},
      {"argmax_rows", [&] { (void)axon::argmax_rows(u); }},
      {"copy_from", [&] { x.copy_from(u); }},
  };
  for (const auto& [what, fn] : calls) {
    SCOPED_TRACE(what);
    expect_error<axon::Error>(fn);
  }
}

// loss_out with an undefined grad is the documented "value only" form, not an error.
TEST(OpsErrors, LossOutWithUndefinedGradIsValueOnly) {
  const Tensor value = Tensor::zeros({1});
  EXPECT_NO_THROW(axon::loss_out(LossKind::kMse, f32({2, 3}), Tensor::zeros({2, 3}), value, Tensor()));
  EXPECT_FLOAT_EQ(value.item(), 0.25f);  // mean of (0.5 - 0)^2
}

// ---- devices --------------------------------------------------------------------------------

TEST(OpsErrors, DeviceMismatch) {
  if (!axon_test::have_cuda()) GTEST_SKIP() << "needs a second device (a CUDA GPU)";
  const Tensor a = f32({2, 3});
  const Tensor b = Tensor::full({2, 3}, 0.5f, Device::cuda(0));
  expect_error<axon::DeviceError>([&] { (void)axon::add(a, b); }, {"add", "cpu", "cuda:0"});
  expect_error<axon::DeviceError>([&] { (void)axon::matmul(a, b, false, true); },
                                  {"matmul", "cpu", "cuda:0"});
  expect_error<axon::DeviceError>([&] { axon::axpy(1.0f, a, b); }, {"axpy", "cpu", "cuda:0"});
}

}  // namespace

namespace {

// BLAS takes int sizes: a size beyond INT_MAX must throw, not run a truncated product. Zero-size
// operands keep the test cheap: k = 2^31 + 3 with m = n = 0 holds no elements at all.
TEST(OpsErrors, GemmSizesBeyondBlasLimitThrow) {
  const std::int64_t huge = (std::int64_t{1} << 31) + 3;
  const axon::Tensor a = axon::Tensor::empty({0, huge});
  const axon::Tensor b = axon::Tensor::empty({huge, 0});
  axon_test::expect_error<axon::ValueError>([&] { (void)axon::matmul(a, b); },
                                            {"matmul", "k = 2147483651", "32-bit", "[0, 2147483651]"});
  const axon::Tensor c = axon::Tensor::empty({0, 0});
  axon_test::expect_error<axon::ValueError>([&] { axon::gemm(a, b, c); }, {"gemm", "k = 2147483651"});
}

}  // namespace

namespace {

TEST(OpsErrors, BadEnumValuesThrow) {
  const axon::Tensor x = axon::Tensor::uniform({2, 3}, -1, 1);
  axon_test::expect_error<axon::ValueError>(
      [&] { (void)axon::activation(static_cast<axon::Activation>(99), x); }, {"activation 99", std::to_string(axon::kActivationCount) + " defined values"});
  axon_test::expect_error<axon::ValueError>(
      [&] { axon::binary_out(static_cast<axon::BinaryOp>(7), x, x, x); }, {"binary op 7"});
  axon_test::expect_error<axon::ValueError>(
      [&] { (void)axon::loss(static_cast<axon::LossKind>(42), x, x); }, {"loss kind 42"});
  axon_test::expect_error<axon::ValueError>(
      [&] { (void)axon::reduce_all(static_cast<axon::ReduceOp>(5), x); }, {"reduce op 5"});
  axon_test::expect_error<axon::ValueError>(
      [&] { (void)axon::reduce_rows(static_cast<axon::ReduceOp>(5), x); }, {"reduce op 5"});
}

TEST(OpsErrors, FillValuesAnInt32TensorCannotHoldThrow) {
  const axon::Tensor labels = axon::Tensor::zeros({4}, axon::Device::cpu(), axon::DType::kInt32);
  axon_test::expect_error<axon::ValueError>([&] { axon::fill(labels, std::nanf("")); }, {"fill", "int32"});
  axon_test::expect_error<axon::ValueError>([&] { axon::fill(labels, 3e9f); }, {"fill", "int32"});
  axon::fill(labels, -7.0f);
  EXPECT_EQ(labels.to_int_vector(), (std::vector<std::int32_t>{-7, -7, -7, -7}));
}

TEST(OpsErrors, UniformRangeWiderThanFloatThrows) {
  axon_test::expect_error<axon::ValueError>([&] { (void)axon::Tensor::uniform({4}, -3e38f, 3e38f); },
                                            {"fill_uniform", "high - low"});
}

TEST(OpsErrors, OutOfMemoryNamesTheTensor) {
  try {
    (void)axon::Tensor::empty({std::int64_t{1} << 40});  // 4 TiB of floats
    FAIL() << "a 4 TiB tensor was allocated";
  } catch (const axon::OutOfMemory& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("[1099511627776] float32 on cpu"), std::string::npos) << message;
    EXPECT_EQ(error.bytes_requested(), std::size_t{1} << 42);
  }
}

}  // namespace
