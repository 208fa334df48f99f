// Losses: value and gradient in one call.
#include <cmath>
#include <string>

#include "axon/backend.h"
#include "axon/ops.h"
#include "core/src/check.h"
#include "core/src/dispatch.h"
#include "core/src/kernels/loss_math.h"

namespace axon {

namespace {

// The value's shape: one element, or one per term for Reduction::kNone.
Shape value_shape(LossKind kind, const LossParams& params, const Tensor& pred) {
  if (params.reduction != Reduction::kNone || pred.rank() < 1) return Shape{1};
  return kernels::takes_labels(kind) ? Shape{pred.dim(0)} : pred.shape();
}

void check_params(const detail::OpName& op, LossKind kind, const LossParams& params) {
  detail::check_kind(op, "reduction", params.reduction, kReductionCount);
  if (kind == LossKind::kHuber && !(params.huber_delta > 0.0f && std::isfinite(params.huber_delta))) {
    throw ValueError(detail::prefix(op) + "huber_delta must be positive and finite, got " +
                     std::to_string(params.huber_delta));
  }
  if (kind == LossKind::kSoftmaxCrossEntropy) {
    if (!(params.label_smoothing >= 0.0f && params.label_smoothing <= 1.0f)) {
      throw ValueError(detail::prefix(op) + "label_smoothing must be in [0, 1], got " +
                       std::to_string(params.label_smoothing));
    }
  } else if (params.label_smoothing != 0.0f) {
    throw ValueError(detail::prefix(op) + "label_smoothing is for softmax cross-entropy only, got " +
                     std::to_string(params.label_smoothing));
  }
}

// The optional weight: class weights [classes] for the label losses, pos_weight [last axis]
// for BCE with logits; the other losses take none.
void check_weight(const detail::OpName& op, LossKind kind, const Tensor& pred, const Tensor& weight) {
  if (!weight.defined()) return;
  const bool labels = kernels::takes_labels(kind);
  if (!labels && kind != LossKind::kBceWithLogits) {
    throw ValueError(detail::prefix(op) + "takes no weight, got " + weight.describe());
  }
  detail::check_dtype(op, {"weight", &weight}, DType::kFloat32);
  const std::int64_t size = labels ? pred.dim(1) : pred.dim(pred.rank() - 1);
  detail::check_shape(op, {"weight", &weight}, Shape{size}, {{"pred", &pred}});
}

}  // namespace

void loss_out(LossKind kind, const Tensor& pred, const Tensor& target, const Tensor& value,
              const Tensor& grad, LossParams params, const Tensor& weight) {
  detail::check_kind("loss_out", "loss kind", kind, kLossCount);
  const detail::OpName op(loss_name(kind), "_loss");
  Device device = grad.defined()
      ? detail::check_same_device(op, {{"pred", &pred}, {"target", &target}, {"value", &value}, {"grad", &grad}})
      : detail::check_same_device(op, {{"pred", &pred}, {"target", &target}, {"value", &value}});
  if (weight.defined()) device = detail::check_same_device(op, {{"pred", &pred}, {"weight", &weight}});
  detail::check_dtype(op, {{"pred", &pred}, {"value", &value}}, DType::kFloat32);
  check_params(op, kind, params);
  if (pred.numel() == 0) {
    // A mean over nothing: refuse rather than hand back a NaN.
    throw ValueError(detail::prefix(op) + "pred is empty (" + pred.describe() + "); a loss needs a batch");
  }
  if (kernels::takes_labels(kind)) {
    detail::check_rank(op, {"pred", &pred}, 2);
    detail::check_dtype(op, {"target", &target}, DType::kInt32);
    detail::check_shape(op, {"target", &target}, Shape{pred.dim(0)}, {{"pred", &pred}});
  } else {
    detail::check_dtype(op, {"target", &target}, DType::kFloat32);
    detail::check_same_shape(op, {"pred", &pred}, {"target", &target});
  }
  check_weight(op, kind, pred, weight);
  const Shape expected_value = value_shape(kind, params, pred);
  if (value.shape() != expected_value) {
    throw ShapeError(detail::prefix(op) + "value must be " + expected_value.str() + " for reduction " +
                     std::string(reduction_name(params.reduction)) + ", got " + value.describe());
  }
  detail::check_disjoint(op, {"value", &value}, {{"pred", &pred}, {"target", &target}});
  if (weight.defined()) detail::check_disjoint(op, {"value", &value}, {{"weight", &weight}});
  if (grad.defined()) {
    detail::check_dtype(op, {"grad", &grad}, DType::kFloat32);
    detail::check_shape(op, {"grad", &grad}, pred.shape(), {{"pred", &pred}});
    detail::check_in_place_or_disjoint(op, {"grad", &grad}, {{"pred", &pred}});
    detail::check_disjoint(op, {"grad", &grad}, {{"target", &target}, {"value", &value}});
    if (weight.defined()) detail::check_disjoint(op, {"grad", &grad}, {{"weight", &weight}});
  }
  detail::op_backend(device).loss(kind, params, pred, target, weight, value, grad);
}

LossResult loss(LossKind kind, const Tensor& pred, const Tensor& target, LossParams params,
                const Tensor& weight) {
  detail::check_kind("loss", "loss kind", kind, kLossCount);
  detail::check_same_device(detail::OpName(loss_name(kind), "_loss"), {{"pred", &pred}, {"target", &target}});
  detail::check_kind(detail::OpName(loss_name(kind), "_loss"), "reduction", params.reduction, kReductionCount);
  LossResult result{Tensor::empty(value_shape(kind, params, pred), pred.device()),
                    Tensor::empty(pred.shape(), pred.device())};
  loss_out(kind, pred, target, result.value, result.grad, params, weight);
  return result;
}

Tensor loss_value(LossKind kind, const Tensor& pred, const Tensor& target, LossParams params,
                  const Tensor& weight) {
  detail::check_kind("loss_value", "loss kind", kind, kLossCount);
  detail::check_same_device(detail::OpName(loss_name(kind), "_loss"), {{"pred", &pred}, {"target", &target}});
  detail::check_kind(detail::OpName(loss_name(kind), "_loss"), "reduction", params.reduction, kReductionCount);
  Tensor value = Tensor::empty(value_shape(kind, params, pred), pred.device());
  loss_out(kind, pred, target, value, Tensor(), params, weight);
  return value;
}

}  // namespace axon
