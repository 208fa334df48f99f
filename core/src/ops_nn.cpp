// Activations and row-wise softmax: the non-linear half of a layer.
#include <cmath>
#include <string>

#include "axon/backend.h"
#include "axon/ops.h"
#include "core/src/check.h"
#include "core/src/dispatch.h"

namespace axon {

namespace detail {
ActivationConstants resolve_constants(const OpName& op, Activation kind, ActivationParams params) {
  try {
    return resolve_activation_constants(kind, params);
  } catch (const ValueError& e) {
    throw ValueError(prefix(op) + e.what());
  }
}
}  // namespace detail

namespace {
using detail::OpName;
using detail::resolve_constants;

void check_float_same_shape(const OpName& op, std::initializer_list<detail::Arg> args) {
  const detail::Arg& first = *args.begin();
  detail::check_dtype(op, args, DType::kFloat32);
  for (const detail::Arg& arg : args) {
    if (arg.second->shape() != first.second->shape()) {
      detail::throw_shape(op, std::string(arg.first) + " must have the shape of " + std::string(first.first),
                          args);
    }
  }
}

}  // namespace

void activation_out(Activation kind, const Tensor& x, const Tensor& y, ActivationParams params) {
  detail::check_kind("activation_out", "activation", kind, kActivationCount);
  const OpName op = activation_name(kind);
  const Device device = detail::check_same_device(op, {{"x", &x}, {"y", &y}});
  check_float_same_shape(op, {{"x", &x}, {"y", &y}});
  detail::check_in_place_or_disjoint(op, {"y", &y}, {{"x", &x}});
  const ActivationConstants constants = resolve_constants(op, kind, params);
  if (x.numel() == 0) return;
  detail::op_backend(device).activation_forward(kind, constants, x, y);
}

Tensor activation(Activation kind, const Tensor& x, ActivationParams params) {
  detail::check_kind("activation", "activation", kind, kActivationCount);
  detail::check_same_device(activation_name(kind), {{"x", &x}});
  Tensor y = Tensor::empty(x.shape(), x.device());
  activation_out(kind, x, y, params);
  return y;
}

void activation_backward_out(Activation kind, const Tensor& x, const Tensor& y, const Tensor& grad_y,
                             const Tensor& grad_x, ActivationParams params) {
  detail::check_kind("activation_backward_out", "activation", kind, kActivationCount);
  const OpName op(activation_name(kind), "_backward");
  const Device device = detail::check_same_device(
      op, {{"x", &x}, {"y", &y}, {"grad_y", &grad_y}, {"grad_x", &grad_x}});
  check_float_same_shape(op, {{"x", &x}, {"y", &y}, {"grad_y", &grad_y}, {"grad_x", &grad_x}});
  detail::check_in_place_or_disjoint(op, {"grad_x", &grad_x}, {{"x", &x}, {"y", &y}, {"grad_y", &grad_y}});
  const ActivationConstants constants = resolve_constants(op, kind, params);
  if (x.numel() == 0) return;
  detail::op_backend(device).activation_backward(kind, constants, x, y, grad_y, grad_x);
}

Tensor activation_backward(Activation kind, const Tensor& x, const Tensor& y, const Tensor& grad_y,
                           ActivationParams params) {
  detail::check_kind("activation_backward", "activation", kind, kActivationCount);
  detail::check_same_device(OpName(activation_name(kind), "_backward"), {{"x", &x}});
  Tensor grad_x = Tensor::empty(x.shape(), x.device());
  activation_backward_out(kind, x, y, grad_y, grad_x, params);
  return grad_x;
}

namespace {

enum class SoftmaxKind { kSoftmax, kLogSoftmax };

void softmax_forward(SoftmaxKind kind, const Tensor& x, const Tensor& y) {
  const char* op = kind == SoftmaxKind::kSoftmax ? "softmax" : "log_softmax";
  const Device device = detail::check_same_device(op, {{"x", &x}, {"y", &y}});
  detail::check_min_rank(op, {"x", &x}, 1);
  check_float_same_shape(op, {{"x", &x}, {"y", &y}});
  detail::check_in_place_or_disjoint(op, {"y", &y}, {{"x", &x}});
  if (x.numel() == 0) return;
  Backend& backend = detail::op_backend(device);
  if (kind == SoftmaxKind::kSoftmax) {
    backend.softmax(x, y);
  } else {
    backend.log_softmax(x, y);
  }
}

void softmax_backward_into(SoftmaxKind kind, const Tensor& y, const Tensor& grad_y, const Tensor& grad_x) {
  const char* op = kind == SoftmaxKind::kSoftmax ? "softmax_backward" : "log_softmax_backward";
  const Device device = detail::check_same_device(op, {{"y", &y}, {"grad_y", &grad_y}, {"grad_x", &grad_x}});
  detail::check_min_rank(op, {"y", &y}, 1);
  check_float_same_shape(op, {{"y", &y}, {"grad_y", &grad_y}, {"grad_x", &grad_x}});
  // Row-wise: grad_x may be grad_y itself (each row is read whole before it is written), never y.
  detail::check_in_place_or_disjoint(op, {"grad_x", &grad_x}, {{"grad_y", &grad_y}});
  detail::check_disjoint(op, {"grad_x", &grad_x}, {{"y", &y}});
  if (y.numel() == 0) return;
  Backend& backend = detail::op_backend(device);
  if (kind == SoftmaxKind::kSoftmax) {
    backend.softmax_backward(y, grad_y, grad_x);
  } else {
    backend.log_softmax_backward(y, grad_y, grad_x);
  }
}

Tensor softmax_backward_new(SoftmaxKind kind, const Tensor& y, const Tensor& grad_y) {
  const char* op = kind == SoftmaxKind::kSoftmax ? "softmax_backward" : "log_softmax_backward";
  detail::check_same_device(op, {{"y", &y}});
  Tensor grad_x = Tensor::empty(y.shape(), y.device());
  softmax_backward_into(kind, y, grad_y, grad_x);
  return grad_x;
}

}  // namespace

void softmax_out(const Tensor& x, const Tensor& y) { softmax_forward(SoftmaxKind::kSoftmax, x, y); }
void log_softmax_out(const Tensor& x, const Tensor& y) { softmax_forward(SoftmaxKind::kLogSoftmax, x, y); }

Tensor softmax(const Tensor& x) {
  detail::check_same_device("softmax", {{"x", &x}});
  Tensor y = Tensor::empty(x.shape(), x.device());
  softmax_out(x, y);
  return y;
}

Tensor log_softmax(const Tensor& x) {
  detail::check_same_device("log_softmax", {{"x", &x}});
  Tensor y = Tensor::empty(x.shape(), x.device());
  log_softmax_out(x, y);
  return y;
}

Tensor softmax_backward(const Tensor& y, const Tensor& grad_y) {
  return softmax_backward_new(SoftmaxKind::kSoftmax, y, grad_y);
}

Tensor log_softmax_backward(const Tensor& y, const Tensor& grad_y) {
  return softmax_backward_new(SoftmaxKind::kLogSoftmax, y, grad_y);
}

void softmax_backward_out(const Tensor& y, const Tensor& grad_y, const Tensor& grad_x) {
  softmax_backward_into(SoftmaxKind::kSoftmax, y, grad_y, grad_x);
}

void log_softmax_backward_out(const Tensor& y, const Tensor& grad_y, const Tensor& grad_x) {
  softmax_backward_into(SoftmaxKind::kLogSoftmax, y, grad_y, grad_x);
}

// ---- prelu ----

namespace {
// How many consecutive elements each slope covers before the next channel's: the product of the
// axes after axis 1; every element (one plane) when weight has a single slope.
std::int64_t prelu_inner(const OpName& op, const Tensor& x, const Tensor& weight) {
  detail::check_rank(op, {"weight", &weight}, 1);
  const std::int64_t channels = weight.numel();
  if (channels == 0) detail::throw_shape(op, "weight must hold at least one slope", {{"x", &x}, {"weight", &weight}});
  if (channels == 1) return x.numel();
  if (x.rank() < 2 || x.dim(1) != channels) {
    detail::throw_shape(op, "weight must have one slope per channel (x's axis 1) or a single one",
                        {{"x", &x}, {"weight", &weight}});
  }
  std::int64_t inner = 1;
  for (int axis = 2; axis < x.rank(); ++axis) inner *= x.dim(axis);
  return inner;
}
}  // namespace

void prelu_out(const Tensor& x, const Tensor& weight, const Tensor& y) {
  constexpr const char* kOp = "prelu";
  const Device device = detail::check_same_device(kOp, {{"x", &x}, {"weight", &weight}, {"y", &y}});
  check_float_same_shape(kOp, {{"x", &x}, {"y", &y}});
  detail::check_dtype(kOp, {"weight", &weight}, DType::kFloat32);
  const std::int64_t inner = prelu_inner(kOp, x, weight);
  detail::check_in_place_or_disjoint(kOp, {"y", &y}, {{"x", &x}});
  detail::check_disjoint(kOp, {"y", &y}, {{"weight", &weight}});
  if (x.numel() == 0) return;
  detail::op_backend(device).prelu(x, weight, inner, y);
}

Tensor prelu(const Tensor& x, const Tensor& weight) {
  detail::check_same_device("prelu", {{"x", &x}});
  Tensor y = Tensor::empty(x.shape(), x.device());
  prelu_out(x, weight, y);
  return y;
}

void prelu_backward_out(const Tensor& x, const Tensor& weight, const Tensor& grad_y, const Tensor& grad_x,
                        const Tensor& grad_weight) {
  constexpr const char* kOp = "prelu_backward";
  const Device device = detail::check_same_device(
      kOp, {{"x", &x}, {"weight", &weight}, {"grad_y", &grad_y}, {"grad_weight", &grad_weight}});
  check_float_same_shape(kOp, {{"x", &x}, {"grad_y", &grad_y}});
  check_float_same_shape(kOp, {{"weight", &weight}, {"grad_weight", &grad_weight}});
  const std::int64_t inner = prelu_inner(kOp, x, weight);
  detail::check_disjoint(kOp, {"grad_weight", &grad_weight}, {{"x", &x}, {"weight", &weight}, {"grad_y", &grad_y}});
  if (grad_x.defined()) {
    detail::check_same_device(kOp, {{"x", &x}, {"grad_x", &grad_x}});
    check_float_same_shape(kOp, {{"x", &x}, {"grad_x", &grad_x}});
    detail::check_in_place_or_disjoint(kOp, {"grad_x", &grad_x}, {{"grad_y", &grad_y}});
    detail::check_disjoint(kOp, {"grad_x", &grad_x}, {{"x", &x}, {"weight", &weight}, {"grad_weight", &grad_weight}});
  }
  if (x.numel() == 0) {
    fill(grad_weight, 0.0f);
    return;
  }
  detail::op_backend(device).prelu_backward(x, weight, grad_y, inner, grad_x, grad_weight);
}

}  // namespace axon
