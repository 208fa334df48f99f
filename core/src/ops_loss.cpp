// Losses: value and gradient in one call.
#include <cmath>
#include <string>

#include "axon/backend.h"
#include "axon/ops.h"
#include "core/src/check.h"
#include "core/src/dispatch.h"

namespace axon {

void loss_out(LossKind kind, const Tensor& pred, const Tensor& target, const Tensor& value,
              const Tensor& grad, LossParams params) {
  detail::check_kind("loss_out", "loss kind", kind, kLossCount);
  const detail::OpName op(loss_name(kind), "_loss");
  const Device device = grad.defined()
      ? detail::check_same_device(op, {{"pred", &pred}, {"target", &target}, {"value", &value}, {"grad", &grad}})
      : detail::check_same_device(op, {{"pred", &pred}, {"target", &target}, {"value", &value}});
  detail::check_dtype(op, {{"pred", &pred}, {"value", &value}}, DType::kFloat32);
  if (value.numel() != 1) {
    throw ShapeError(detail::prefix(op) + "value must have one element, got " + value.describe());
  }
  if (pred.numel() == 0) {
    // A mean over nothing: refuse rather than hand back a NaN.
    throw ValueError(detail::prefix(op) + "pred is empty (" + pred.describe() + "); a loss needs a batch");
  }
  if (kind == LossKind::kSoftmaxCrossEntropy) {
    detail::check_rank(op, {"pred", &pred}, 2);
    detail::check_dtype(op, {"target", &target}, DType::kInt32);
    detail::check_shape(op, {"target", &target}, Shape{pred.dim(0)}, {{"pred", &pred}});
  } else {
    detail::check_dtype(op, {"target", &target}, DType::kFloat32);
    detail::check_same_shape(op, {"pred", &pred}, {"target", &target});
  }
  detail::check_disjoint(op, {"value", &value}, {{"pred", &pred}, {"target", &target}});
  if (grad.defined()) {
    detail::check_dtype(op, {"grad", &grad}, DType::kFloat32);
    detail::check_shape(op, {"grad", &grad}, pred.shape(), {{"pred", &pred}});
    detail::check_in_place_or_disjoint(op, {"grad", &grad}, {{"pred", &pred}});
    detail::check_disjoint(op, {"grad", &grad}, {{"target", &target}, {"value", &value}});
  }
  if (kind == LossKind::kHuber && !(params.huber_delta > 0.0f && std::isfinite(params.huber_delta))) {
    throw ValueError(detail::prefix(op) + "huber_delta must be positive and finite, got " +
                     std::to_string(params.huber_delta));
  }
  detail::backend_of(device).loss(kind, params, pred, target, value, grad);
}

LossResult loss(LossKind kind, const Tensor& pred, const Tensor& target, LossParams params) {
  detail::check_kind("loss", "loss kind", kind, kLossCount);
  detail::check_same_device(detail::OpName(loss_name(kind), "_loss"), {{"pred", &pred}, {"target", &target}});
  LossResult result{Tensor::empty({1}, pred.device()), Tensor::empty(pred.shape(), pred.device())};
  loss_out(kind, pred, target, result.value, result.grad, params);
  return result;
}

Tensor loss_value(LossKind kind, const Tensor& pred, const Tensor& target, LossParams params) {
  detail::check_kind("loss_value", "loss kind", kind, kLossCount);
  detail::check_same_device(detail::OpName(loss_name(kind), "_loss"), {{"pred", &pred}, {"target", &target}});
  Tensor value = Tensor::empty({1}, pred.device());
  loss_out(kind, pred, target, value, Tensor(), params);
  return value;
}

}  // namespace axon
