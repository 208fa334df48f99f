// Training ops: dropout, clamping, gradient-norm clipping and the fused optimizer steps.
#include <cmath>
#include <string>

#include "axon/backend.h"
#include "axon/ops.h"
#include "core/src/check.h"
#include "core/src/dispatch.h"

namespace axon {

using detail::Arg;
using detail::OpName;

void gather_rows_out(const Tensor& x, const Tensor& indices, const Tensor& out) {
  constexpr const char* kOp = "gather_rows";
  const Device device = detail::check_same_device(kOp, {{"x", &x}, {"indices", &indices}, {"out", &out}});
  detail::check_dtype(kOp, {"indices", &indices}, DType::kInt32);
  detail::check_rank(kOp, {"indices", &indices}, 1);
  detail::check_min_rank(kOp, {"x", &x}, 1);
  if (out.dtype() != x.dtype()) {
    throw DTypeError("axon::gather_rows: out must have x's dtype, got x " + x.describe() + ", out " + out.describe());
  }
  detail::check_shape(kOp, {"out", &out}, x.shape().with_rows(indices.numel()), {{"x", &x}, {"indices", &indices}});
  detail::check_disjoint(kOp, {"out", &out}, {{"x", &x}, {"indices", &indices}});
  if (out.numel() == 0 && indices.numel() == 0) return;
  if (x.dim(0) == 0) {
    throw ValueError("axon::gather_rows: x has no rows to gather from (" + x.describe() + ")");
  }
  detail::op_backend(device).gather_rows(x, indices, out);
}

Tensor gather_rows(const Tensor& x, const Tensor& indices) {
  detail::check_same_device("gather_rows", {{"x", &x}, {"indices", &indices}});
  detail::check_min_rank("gather_rows", {"x", &x}, 1);
  Tensor out = Tensor::empty(x.shape().with_rows(indices.numel()), x.device(), x.dtype());
  gather_rows_out(x, indices, out);
  return out;
}

void dropout_out(const Tensor& x, float p, const Tensor& y, const Tensor& mask, Generator& generator) {
  constexpr const char* kOp = "dropout";
  const Device device = detail::check_same_device(kOp, {{"x", &x}, {"y", &y}, {"mask", &mask}});
  detail::check_dtype(kOp, {{"x", &x}, {"y", &y}, {"mask", &mask}}, DType::kFloat32);
  detail::check_shape(kOp, {"y", &y}, x.shape(), {{"x", &x}});
  detail::check_shape(kOp, {"mask", &mask}, x.shape(), {{"x", &x}});
  detail::check_in_place_or_disjoint(kOp, {"y", &y}, {{"x", &x}});
  detail::check_disjoint(kOp, {"mask", &mask}, {{"x", &x}, {"y", &y}});
  if (!(p >= 0.0f && p < 1.0f)) {
    throw ValueError("axon::dropout: p must be in [0, 1), got " + std::to_string(p));
  }
  const PhiloxSlice slice = generator.take(x.numel());
  if (x.numel() == 0) return;
  detail::op_backend(device).dropout(p, slice, x, y, mask);
}

void clamp_out(const Tensor& x, float low, float high, const Tensor& out) {
  constexpr const char* kOp = "clamp";
  const Device device = detail::check_same_device(kOp, {{"x", &x}, {"out", &out}});
  detail::check_dtype(kOp, {{"x", &x}, {"out", &out}}, DType::kFloat32);
  detail::check_shape(kOp, {"out", &out}, x.shape(), {{"x", &x}});
  detail::check_in_place_or_disjoint(kOp, {"out", &out}, {{"x", &x}});
  if (!(low <= high)) {
    throw ValueError("axon::clamp: needs low <= high, got low=" + std::to_string(low) +
                     ", high=" + std::to_string(high));
  }
  if (x.numel() == 0) return;
  detail::op_backend(device).clamp(x, low, high, out);
}

void clip_grad_norm_out(const Tensor& grads, float max_norm, const Tensor& total_norm, float norm_type) {
  clip_grad_norm_out(grads, GradNormClip{max_norm, norm_type, false}, total_norm);
}

void clip_grad_norm_out(const Tensor& grads, const GradNormClip& clip, const Tensor& total_norm) {
  constexpr const char* kOp = "clip_grad_norm";
  const float max_norm = clip.max_norm;
  const Device device = detail::check_same_device(kOp, {{"grads", &grads}, {"total_norm", &total_norm}});
  detail::check_dtype(kOp, {{"grads", &grads}, {"total_norm", &total_norm}}, DType::kFloat32);
  if (total_norm.numel() != 1) {
    throw ShapeError("axon::clip_grad_norm: total_norm must have one element, got " + total_norm.describe());
  }
  detail::check_disjoint(kOp, {"total_norm", &total_norm}, {{"grads", &grads}});
  if (!(max_norm > 0.0f) || !std::isfinite(max_norm)) {
    throw ValueError("axon::clip_grad_norm: max_norm must be positive and finite, got " + std::to_string(max_norm));
  }
  if (!(clip.norm_type > 0.0f)) {  // (NaN refused too)
    throw ValueError("axon::clip_grad_norm: norm_type must be > 0 (or infinity), got " + std::to_string(clip.norm_type));
  }
  detail::op_backend(device).clip_grad_norm(clip, grads, total_norm);
}

namespace {

// Flat float32 tensors of one length on one device, none overlapping another. `optional`
// state may be undefined when `needed` is false; when needed, it must be there.
struct StateArg {
  const char* name;
  const Tensor* tensor;
  bool needed;
};

Device check_step(const OpName& op, const Tensor& params, const Tensor& grads, std::initializer_list<StateArg> state) {
  const Device device = detail::check_same_device(op, {{"params", &params}, {"grads", &grads}});
  detail::check_dtype(op, {{"params", &params}, {"grads", &grads}}, DType::kFloat32);
  detail::check_same_shape(op, {"params", &params}, {"grads", &grads});
  detail::check_disjoint(op, {"params", &params}, {{"grads", &grads}});
  for (const StateArg& s : state) {
    if (!s.needed) continue;
    if (!s.tensor->defined()) {
      throw ValueError(detail::prefix(op) + s.name + " is needed by this configuration but undefined");
    }
    const Arg arg{s.name, s.tensor};
    detail::check_same_device(op, {{"params", &params}, arg});
    detail::check_dtype(op, arg, DType::kFloat32);
    detail::check_shape(op, arg, params.shape(), {{"params", &params}});
    detail::check_disjoint(op, arg, {{"params", &params}, {"grads", &grads}});
    for (const StateArg& other : state) {
      if (other.needed && &other != &s) detail::check_disjoint(op, arg, {{other.name, other.tensor}});
    }
  }
  return device;
}

void check_finite(const OpName& op, std::initializer_list<std::pair<const char*, float>> values) {
  for (const auto& [name, value] : values) {
    if (!std::isfinite(value) || value < 0.0f) {
      throw ValueError(detail::prefix(op) + name + " must be finite and >= 0, got " + std::to_string(value));
    }
  }
}

}  // namespace

void sgd_step(const SgdHyper& hyper, const Tensor& params, const Tensor& grads, const Tensor& momentum_buffer) {
  const OpName op = "sgd_step";
  const Device device = check_step(op, params, grads, {{"momentum_buffer", &momentum_buffer, hyper.momentum != 0.0f}});
  check_finite(op, {{"lr", hyper.lr}, {"momentum", hyper.momentum}, {"one_minus_dampening", hyper.one_minus_dampening},
                    {"weight_decay", hyper.weight_decay}});
  if (params.numel() == 0) return;
  detail::op_backend(device).sgd_step(hyper, params, grads, momentum_buffer);
}

void adagrad_step(const AdagradHyper& hyper, const Tensor& params, const Tensor& grads, const Tensor& state_sum) {
  const OpName op = "adagrad_step";
  const Device device = check_step(op, params, grads, {{"state_sum", &state_sum, true}});
  check_finite(op, {{"lr", hyper.lr}, {"weight_decay", hyper.weight_decay}, {"eps", hyper.eps}});
  if (params.numel() == 0) return;
  detail::op_backend(device).adagrad_step(hyper, params, grads, state_sum);
}

void rmsprop_step(const RmspropHyper& hyper, const Tensor& params, const Tensor& grads, const Tensor& square_avg,
                  const Tensor& momentum_buffer, const Tensor& grad_avg) {
  const OpName op = "rmsprop_step";
  const Device device = check_step(op, params, grads,
                                   {{"square_avg", &square_avg, true},
                                    {"momentum_buffer", &momentum_buffer, hyper.momentum > 0.0f},
                                    {"grad_avg", &grad_avg, hyper.centered}});
  check_finite(op, {{"lr", hyper.lr}, {"alpha", hyper.alpha}, {"one_minus_alpha", hyper.one_minus_alpha}, {"eps", hyper.eps},
                    {"weight_decay", hyper.weight_decay}, {"momentum", hyper.momentum}});
  if (params.numel() == 0) return;
  detail::op_backend(device).rmsprop_step(hyper, params, grads, square_avg, momentum_buffer, grad_avg);
}

void adam_step(const AdamHyper& hyper, const Tensor& params, const Tensor& grads, const Tensor& exp_avg,
               const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq) {
  const OpName op = "adam_step";
  const Device device = check_step(op, params, grads,
                                   {{"exp_avg", &exp_avg, true},
                                    {"exp_avg_sq", &exp_avg_sq, true},
                                    {"max_exp_avg_sq", &max_exp_avg_sq, hyper.amsgrad}});
  check_finite(op, {{"lr", hyper.lr}, {"one_minus_beta1", hyper.one_minus_beta1}, {"beta2", hyper.beta2},
                    {"one_minus_beta2", hyper.one_minus_beta2}, {"eps", hyper.eps},
                    {"weight_decay", hyper.weight_decay}, {"step_size", hyper.step_size}});
  if (!(hyper.bias_correction2_sqrt > 0.0f) || !std::isfinite(hyper.bias_correction2_sqrt)) {
    throw ValueError(detail::prefix(op) + "bias_correction2_sqrt must be positive, got " +
                     std::to_string(hyper.bias_correction2_sqrt));
  }
  if (params.numel() == 0) return;
  detail::op_backend(device).adam_step(hyper, params, grads, exp_avg, exp_avg_sq, max_exp_avg_sq);
}

}  // namespace axon
