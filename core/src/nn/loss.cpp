#include "axon/nn/loss.h"

#include "axon/error.h"
#include "axon/ops.h"

namespace axon::nn {

Loss::Loss(LossKind kind, LossParams params) : kind_(kind), params_(params) {
  if (static_cast<int>(kind) >= kLossCount) {
    throw ValueError("nn::Loss: loss kind " + std::to_string(static_cast<int>(kind)) + " is not defined");
  }
}

std::string Loss::name() const { return std::string(loss_name(kind_)); }

void Loss::compute(const Tensor& pred, const Tensor& target, bool value_only) {
  if (!pred.defined() || pred.rank() < 1) {
    throw ShapeError("nn::Loss(" + name() + "): pred must be a batch, got " + pred.describe());
  }
  const Device device = pred.device();
  if (!value_.defined() || value_.device() != device) value_ = Tensor::empty({1}, device);
  if (value_only) {
    loss_out(kind_, pred, target, value_, Tensor(), params_);
    return;
  }
  // The gradient buffer grows to the largest batch; smaller ones use its first rows.
  const Shape& shape = pred.shape();
  bool fits = grad_buffer_.defined() && grad_buffer_.device() == device && grad_buffer_.rank() == shape.rank() &&
              grad_buffer_.dim(0) >= shape[0];
  for (int axis = 1; fits && axis < shape.rank(); ++axis) fits = grad_buffer_.dim(axis) == shape[axis];
  if (!fits) grad_buffer_ = Tensor::empty(shape, device);
  grad_ = grad_buffer_.rows(0, shape[0]);
  loss_out(kind_, pred, target, value_, grad_, params_);
}

}  // namespace axon::nn
