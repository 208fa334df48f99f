// Fused ops: a Dense layer's forward (linear_out) and backward (activation_backward_bias_grad_out)
// in as few passes over memory as the backend can manage.
#include "axon/backend.h"
#include "axon/ops.h"
#include "core/src/check.h"
#include "core/src/dispatch.h"

namespace axon {

namespace {

using detail::Arg;
using detail::OpName;

// pre and y are [rows, cols] like `like`; bias is [cols].
void check_bias_outputs(const OpName& op, const Arg& like, const Arg& bias, const Arg& pre, const Arg& y) {
  detail::check_rank(op, like, 2);
  detail::check_shape(op, bias, Shape{like.second->dim(1)}, {like});
  detail::check_shape(op, pre, like.second->shape(), {like});
  detail::check_shape(op, y, like.second->shape(), {like});
}

}  // namespace

void bias_activation_out(Activation kind, const Tensor& x, const Tensor& bias, const Tensor& pre, const Tensor& y,
                         ActivationParams params) {
  detail::check_kind("bias_activation_out", "activation", kind, kActivationCount);
  const OpName op("bias_", activation_name(kind));
  const Device device = detail::check_same_device(op, {{"x", &x}, {"bias", &bias}, {"pre", &pre}, {"y", &y}});
  detail::check_dtype(op, {{"x", &x}, {"bias", &bias}, {"pre", &pre}, {"y", &y}}, DType::kFloat32);
  check_bias_outputs(op, {"x", &x}, {"bias", &bias}, {"pre", &pre}, {"y", &y});
  detail::check_in_place_or_disjoint(op, {"pre", &pre}, {{"x", &x}});
  detail::check_in_place_or_disjoint(op, {"y", &y}, {{"x", &x}});
  detail::check_disjoint(op, {"pre", &pre}, {{"y", &y}, {"bias", &bias}});  // the backward needs both
  detail::check_disjoint(op, {"y", &y}, {{"bias", &bias}});
  const ActivationConstants constants = detail::resolve_constants(op, kind, params);
  if (x.numel() == 0) return;
  detail::op_backend(device).bias_activation(kind, constants, x, bias, pre, y);
}

void activation_backward_bias_grad_out(Activation kind, const Tensor& pre, const Tensor& y, const Tensor& grad_y,
                                       const Tensor& grad_pre, const Tensor& grad_bias, ActivationParams params) {
  detail::check_kind("activation_backward_bias_grad_out", "activation", kind, kActivationCount);
  const OpName op(activation_name(kind), "_backward_bias_grad");
  const Device device = detail::check_same_device(
      op, {{"pre", &pre}, {"y", &y}, {"grad_y", &grad_y}, {"grad_pre", &grad_pre}, {"grad_bias", &grad_bias}});
  detail::check_dtype(op, {{"pre", &pre}, {"y", &y}, {"grad_y", &grad_y}, {"grad_pre", &grad_pre}, {"grad_bias", &grad_bias}}, DType::kFloat32);
  check_bias_outputs(op, {"pre", &pre}, {"grad_bias", &grad_bias}, {"y", &y}, {"grad_y", &grad_y});
  detail::check_shape(op, {"grad_pre", &grad_pre}, pre.shape(), {{"pre", &pre}});
  detail::check_in_place_or_disjoint(op, {"grad_pre", &grad_pre}, {{"pre", &pre}, {"y", &y}, {"grad_y", &grad_y}});
  detail::check_disjoint(op, {"grad_bias", &grad_bias},
                         {{"pre", &pre}, {"y", &y}, {"grad_y", &grad_y}, {"grad_pre", &grad_pre}});
  const ActivationConstants constants = detail::resolve_constants(op, kind, params);
  Backend& backend = detail::op_backend(device);
  if (pre.numel() == 0) {  // no rows (or no columns): the bias gradient is a sum over nothing
    if (grad_bias.numel() > 0) backend.fill(grad_bias, 0.0f);
    return;
  }
  backend.activation_backward_bias_grad(kind, constants, pre, y, grad_y, grad_pre, grad_bias);
}

void linear_out(Activation kind, const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& pre,
                const Tensor& y, ActivationParams params) {
  detail::check_kind("linear_out", "activation", kind, kActivationCount);
  const OpName op("linear_", activation_name(kind));
  const Device device = pre.defined()
      ? detail::check_same_device(op, {{"x", &x}, {"w", &w}, {"bias", &bias}, {"pre", &pre}, {"y", &y}})
      : detail::check_same_device(op, {{"x", &x}, {"w", &w}, {"bias", &bias}, {"y", &y}});
  detail::check_dtype(op, {{"x", &x}, {"w", &w}, {"bias", &bias}, {"y", &y}}, DType::kFloat32);
  detail::check_rank(op, {"x", &x}, 2);
  detail::check_rank(op, {"w", &w}, 2);
  if (x.dim(1) != w.dim(1)) {
    detail::throw_shape(op, "x's columns must equal w's columns (w is [out, in])", {{"x", &x}, {"w", &w}});
  }
  detail::check_shape(op, {"bias", &bias}, Shape{w.dim(0)}, {{"w", &w}});
  detail::check_blas_sizes(op, {{"batch", x.dim(0)}, {"inputs", x.dim(1)}, {"outputs", w.dim(0)}},
                           {{"x", &x}, {"w", &w}});
  const Shape out_shape{x.dim(0), w.dim(0)};
  detail::check_shape(op, {"y", &y}, out_shape, {{"x", &x}, {"w", &w}});
  detail::check_disjoint(op, {"y", &y}, {{"x", &x}, {"w", &w}, {"bias", &bias}});
  if (pre.defined()) {
    detail::check_dtype(op, {"pre", &pre}, DType::kFloat32);
    detail::check_shape(op, {"pre", &pre}, out_shape, {{"x", &x}, {"w", &w}});
    detail::check_disjoint(op, {"pre", &pre}, {{"x", &x}, {"w", &w}, {"bias", &bias}, {"y", &y}});
  }
  const ActivationConstants constants = detail::resolve_constants(op, kind, params);
  if (y.numel() == 0) return;
  detail::op_backend(device).linear(kind, constants, x, w, bias, pre, y);
}

}  // namespace axon
