#include "axon/nn/loss.h"

#include "axon/error.h"
#include "axon/ops.h"

namespace axon::nn {

namespace {

// The buffer grown to the largest batch of this shape; smaller batches use its first rows.
Tensor rows_of_buffer(Tensor& buffer, const Shape& shape, Device device) {
  bool fits = buffer.defined() && buffer.device() == device && buffer.rank() == shape.rank() &&
              buffer.dim(0) >= shape[0];
  for (int axis = 1; fits && axis < shape.rank(); ++axis) fits = buffer.dim(axis) == shape[axis];
  if (!fits) buffer = Tensor::empty(shape, device);
  return buffer.rows(0, shape[0]);
}

}  // namespace

Loss::Loss(LossKind kind, LossParams params, Tensor weight)
    : kind_(kind), params_(params), weight_(std::move(weight)) {
  if (static_cast<int>(kind) >= kLossCount) {
    throw ValueError("nn::Loss: loss kind " + std::to_string(static_cast<int>(kind)) + " is not defined");
  }
  if (static_cast<int>(params.reduction) >= kReductionCount) {
    throw ValueError("nn::Loss(" + name() + "): reduction " + std::to_string(static_cast<int>(params.reduction)) +
                     " is not defined");
  }
  if (weight_.defined() && !takes_labels() && kind != LossKind::kBceWithLogits) {
    throw ValueError("nn::Loss(" + name() + "): takes no weight, got " + weight_.describe());
  }
}

std::string Loss::name() const { return std::string(loss_name(kind_)); }

float Loss::batch_weight(std::int64_t rows) const {
  switch (params_.reduction) {
    case Reduction::kMean: return static_cast<float>(rows);
    case Reduction::kSum: return 1.0f;
    case Reduction::kNone: break;
  }
  throw ValueError("nn::Loss(" + name() + "): reduction none gives one value per term, not a batch's loss");
}

void Loss::compute(const Tensor& pred, const Tensor& target, bool value_only) {
  if (!pred.defined() || pred.rank() < 1) {
    throw ShapeError("nn::Loss(" + name() + "): pred must be a batch, got " + pred.describe());
  }
  const Device device = pred.device();
  if (weight_.defined() && weight_.device() != device) weight_ = weight_.to(device);
  if (params_.reduction == Reduction::kNone) {
    const Shape shape = takes_labels() ? Shape{pred.dim(0)} : pred.shape();
    value_ = rows_of_buffer(value_buffer_, shape, device);
  } else if (!value_.defined() || value_.device() != device || value_.rank() != 1 || value_.dim(0) != 1) {
    value_ = Tensor::empty({1}, device);
  }
  if (value_only) {
    loss_out(kind_, pred, target, value_, Tensor(), params_, weight_);
    return;
  }
  grad_ = rows_of_buffer(grad_buffer_, pred.shape(), device);
  loss_out(kind_, pred, target, value_, grad_, params_, weight_);
}

}  // namespace axon::nn
