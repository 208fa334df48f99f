// Batch and layer normalisation: the checks, then the backend's kernels (core/src/kernels/norm_math.h).
#include <cmath>
#include <string>

#include "axon/backend.h"
#include "axon/ops.h"
#include "core/src/check.h"
#include "core/src/dispatch.h"

namespace axon {

namespace {

using detail::Arg;
using detail::OpName;

BatchNormShape shape_of(const OpName& op, const Tensor& x) {
  detail::check_min_rank(op, {"x", &x}, 2);
  BatchNormShape s;
  s.outer = x.dim(0);
  s.channels = x.dim(1);
  s.inner = 1;
  for (int axis = 2; axis < x.rank(); ++axis) s.inner *= x.dim(axis);
  return s;
}

// A per-channel tensor: float32 [C], or undefined where `optional`.
void check_channel(const OpName& op, const Arg& arg, std::int64_t channels, const Tensor& x, bool optional) {
  if (optional && !arg.second->defined()) return;
  detail::check_dtype(op, arg, DType::kFloat32);
  detail::check_shape(op, arg, Shape{channels}, {{"x", &x}});
}

void check_eps(const OpName& op, float eps) {
  if (!(eps >= 0.0f) || !std::isfinite(eps)) {
    throw ValueError(detail::prefix(op) + "eps must be finite and >= 0, got " + std::to_string(eps));
  }
}

}  // namespace

void batch_norm_train_out(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& y,
                          const Tensor& save_mean, const Tensor& save_invstd, const Tensor& running_mean,
                          const Tensor& running_var, float momentum, float eps) {
  constexpr const char* kOp = "batch_norm_train";
  const Device device = detail::check_same_device(kOp, {{"x", &x}, {"y", &y}, {"save_mean", &save_mean}, {"save_invstd", &save_invstd}});
  detail::check_same_device_where_defined(
      kOp, {"x", &x}, {{"weight", &weight}, {"bias", &bias}, {"running_mean", &running_mean}, {"running_var", &running_var}});
  detail::check_dtype(kOp, {{"x", &x}, {"y", &y}}, DType::kFloat32);
  detail::check_same_shape(kOp, {"x", &x}, {"y", &y});
  BatchNormShape s = shape_of(kOp, x);
  check_channel(kOp, {"weight", &weight}, s.channels, x, true);
  check_channel(kOp, {"bias", &bias}, s.channels, x, true);
  check_channel(kOp, {"save_mean", &save_mean}, s.channels, x, false);
  check_channel(kOp, {"save_invstd", &save_invstd}, s.channels, x, false);
  check_channel(kOp, {"running_mean", &running_mean}, s.channels, x, true);
  check_channel(kOp, {"running_var", &running_var}, s.channels, x, true);
  if (running_mean.defined() != running_var.defined()) {
    throw ValueError(detail::prefix(kOp) + "running_mean and running_var go together: give both or neither");
  }
  check_eps(kOp, eps);
  if (!(momentum >= 0.0f && momentum <= 1.0f)) {
    throw ValueError(detail::prefix(kOp) + "momentum must be in [0, 1], got " + std::to_string(momentum));
  }
  detail::check_in_place_or_disjoint(kOp, {"y", &y}, {{"x", &x}});
  detail::check_disjoint(kOp, {"save_mean", &save_mean}, {{"x", &x}, {"y", &y}, {"save_invstd", &save_invstd}});
  detail::check_disjoint(kOp, {"save_invstd", &save_invstd}, {{"x", &x}, {"y", &y}});
  if (s.outer * s.inner <= 1 && s.channels > 0) {
    throw ValueError(detail::prefix(kOp) + "expected more than 1 value per channel when training, got x " + x.describe());
  }
  s.eps = eps;
  s.momentum = momentum;
  if (x.numel() == 0) return;
  detail::op_backend(device).batch_norm_train(s, x, weight, bias, y, save_mean, save_invstd, running_mean, running_var);
}

void batch_norm_eval_out(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                         const Tensor& running_var, const Tensor& y, float eps) {
  constexpr const char* kOp = "batch_norm_eval";
  const Device device = detail::check_same_device(
      kOp, {{"x", &x}, {"running_mean", &running_mean}, {"running_var", &running_var}, {"y", &y}});
  detail::check_same_device_where_defined(kOp, {"x", &x}, {{"weight", &weight}, {"bias", &bias}});
  detail::check_dtype(kOp, {{"x", &x}, {"y", &y}}, DType::kFloat32);
  detail::check_same_shape(kOp, {"x", &x}, {"y", &y});
  BatchNormShape s = shape_of(kOp, x);
  check_channel(kOp, {"weight", &weight}, s.channels, x, true);
  check_channel(kOp, {"bias", &bias}, s.channels, x, true);
  check_channel(kOp, {"running_mean", &running_mean}, s.channels, x, false);
  check_channel(kOp, {"running_var", &running_var}, s.channels, x, false);
  check_eps(kOp, eps);
  detail::check_in_place_or_disjoint(kOp, {"y", &y}, {{"x", &x}});
  s.eps = eps;
  if (x.numel() == 0) return;
  detail::op_backend(device).batch_norm_eval(s, x, weight, bias, running_mean, running_var, y);
}

void batch_norm_backward_out(const Tensor& x, const Tensor& grad_y, const Tensor& weight, const Tensor& save_mean,
                             const Tensor& save_invstd, const Tensor& grad_x, const Tensor& grad_weight,
                             const Tensor& grad_bias) {
  constexpr const char* kOp = "batch_norm_backward";
  const Device device = detail::check_same_device(
      kOp, {{"x", &x}, {"grad_y", &grad_y}, {"save_mean", &save_mean}, {"save_invstd", &save_invstd}});
  detail::check_same_device_where_defined(
      kOp, {"x", &x}, {{"weight", &weight}, {"grad_x", &grad_x}, {"grad_weight", &grad_weight}, {"grad_bias", &grad_bias}});
  detail::check_dtype(kOp, {{"x", &x}, {"grad_y", &grad_y}}, DType::kFloat32);
  detail::check_same_shape(kOp, {"x", &x}, {"grad_y", &grad_y});
  const BatchNormShape s = shape_of(kOp, x);
  check_channel(kOp, {"weight", &weight}, s.channels, x, true);
  check_channel(kOp, {"save_mean", &save_mean}, s.channels, x, false);
  check_channel(kOp, {"save_invstd", &save_invstd}, s.channels, x, false);
  check_channel(kOp, {"grad_weight", &grad_weight}, s.channels, x, true);
  check_channel(kOp, {"grad_bias", &grad_bias}, s.channels, x, true);
  if (grad_weight.defined() && !weight.defined()) {
    throw ValueError(detail::prefix(kOp) + "grad_weight needs the weight (without one there is no affine transform)");
  }
  if (grad_x.defined()) {
    detail::check_dtype(kOp, {"grad_x", &grad_x}, DType::kFloat32);
    detail::check_same_shape(kOp, {"x", &x}, {"grad_x", &grad_x});
    detail::check_in_place_or_disjoint(kOp, {"grad_x", &grad_x}, {{"grad_y", &grad_y}});
    detail::check_disjoint(kOp, {"grad_x", &grad_x}, {{"x", &x}});
  }
  if (x.numel() == 0) {
    if (grad_weight.defined()) fill(grad_weight, 0.0f);
    if (grad_bias.defined()) fill(grad_bias, 0.0f);
    return;
  }
  detail::op_backend(device).batch_norm_backward(s, x, grad_y, weight, save_mean, save_invstd, grad_x, grad_weight,
                                                 grad_bias);
}

// ---- layer normalisation ----

namespace {

// The rows of x when its trailing axes, multiplied, make `size`; ValueError otherwise.
std::int64_t layer_norm_rows(const OpName& op, const Tensor& x, std::int64_t size) {
  std::int64_t product = 1;
  int axis = x.rank();
  while (axis > 0 && product < size) product *= x.dim(--axis);
  if (size < 1 || product != size) {
    throw ValueError(detail::prefix(op) + "size " + std::to_string(size) +
                     " is not the product of trailing axes of x " + x.describe());
  }
  return x.numel() / size;
}

void check_size_tensor(const OpName& op, const Arg& arg, std::int64_t count, const Tensor& x) {
  if (!arg.second->defined()) return;
  detail::check_dtype(op, arg, DType::kFloat32);
  if (arg.second->numel() != count) {
    detail::throw_shape(op, std::string(arg.first) + " must hold " + std::to_string(count) + " values", {{"x", &x}, arg});
  }
}

}  // namespace

void layer_norm_out(const Tensor& x, std::int64_t size, const Tensor& weight, const Tensor& bias, const Tensor& y,
                    const Tensor& save_mean, const Tensor& save_invstd, float eps) {
  constexpr const char* kOp = "layer_norm";
  const Device device =
      detail::check_same_device(kOp, {{"x", &x}, {"y", &y}, {"save_mean", &save_mean}, {"save_invstd", &save_invstd}});
  detail::check_same_device_where_defined(kOp, {"x", &x}, {{"weight", &weight}, {"bias", &bias}});
  detail::check_dtype(kOp, {{"x", &x}, {"y", &y}}, DType::kFloat32);
  detail::check_same_shape(kOp, {"x", &x}, {"y", &y});
  const std::int64_t rows = layer_norm_rows(kOp, x, size);
  check_size_tensor(kOp, {"weight", &weight}, size, x);
  check_size_tensor(kOp, {"bias", &bias}, size, x);
  check_size_tensor(kOp, {"save_mean", &save_mean}, rows, x);
  check_size_tensor(kOp, {"save_invstd", &save_invstd}, rows, x);
  check_eps(kOp, eps);
  detail::check_in_place_or_disjoint(kOp, {"y", &y}, {{"x", &x}});
  detail::check_disjoint(kOp, {"save_mean", &save_mean}, {{"x", &x}, {"y", &y}, {"save_invstd", &save_invstd}});
  detail::check_disjoint(kOp, {"save_invstd", &save_invstd}, {{"x", &x}, {"y", &y}});
  if (rows == 0) return;
  detail::op_backend(device).layer_norm(size, eps, x, weight, bias, y, save_mean, save_invstd);
}

void layer_norm_backward_out(const Tensor& x, std::int64_t size, const Tensor& grad_y, const Tensor& weight,
                             const Tensor& save_mean, const Tensor& save_invstd, const Tensor& grad_x,
                             const Tensor& grad_weight, const Tensor& grad_bias) {
  constexpr const char* kOp = "layer_norm_backward";
  const Device device = detail::check_same_device(
      kOp, {{"x", &x}, {"grad_y", &grad_y}, {"save_mean", &save_mean}, {"save_invstd", &save_invstd}});
  detail::check_same_device_where_defined(
      kOp, {"x", &x}, {{"weight", &weight}, {"grad_x", &grad_x}, {"grad_weight", &grad_weight}, {"grad_bias", &grad_bias}});
  detail::check_dtype(kOp, {{"x", &x}, {"grad_y", &grad_y}}, DType::kFloat32);
  detail::check_same_shape(kOp, {"x", &x}, {"grad_y", &grad_y});
  const std::int64_t rows = layer_norm_rows(kOp, x, size);
  check_size_tensor(kOp, {"weight", &weight}, size, x);
  check_size_tensor(kOp, {"save_mean", &save_mean}, rows, x);
  check_size_tensor(kOp, {"save_invstd", &save_invstd}, rows, x);
  check_size_tensor(kOp, {"grad_weight", &grad_weight}, size, x);
  check_size_tensor(kOp, {"grad_bias", &grad_bias}, size, x);
  if (grad_weight.defined() && !weight.defined()) {
    throw ValueError(detail::prefix(kOp) + "grad_weight needs the weight (without one there is no affine transform)");
  }
  if (grad_x.defined()) {
    detail::check_dtype(kOp, {"grad_x", &grad_x}, DType::kFloat32);
    detail::check_same_shape(kOp, {"x", &x}, {"grad_x", &grad_x});
    detail::check_in_place_or_disjoint(kOp, {"grad_x", &grad_x}, {{"grad_y", &grad_y}});
    detail::check_disjoint(kOp, {"grad_x", &grad_x}, {{"x", &x}});
  }
  for (const Tensor* t : {&grad_weight, &grad_bias}) {
    if (t->defined()) detail::check_disjoint(kOp, {"grad_weight or grad_bias", t}, {{"x", &x}, {"grad_y", &grad_y}});
  }
  if (rows == 0) {
    if (grad_weight.defined()) fill(grad_weight, 0.0f);
    if (grad_bias.defined()) fill(grad_bias, 0.0f);
    return;
  }
  detail::op_backend(device).layer_norm_backward(size, x, grad_y, weight, save_mean, save_invstd, grad_x, grad_weight,
                                                 grad_bias);
}

}  // namespace axon
