#pragma once
// Losses as objects over the loss ops (ops.h): value and gradient in one pass, written into
// buffers the loss keeps, so a training step allocates nothing. Every loss is a mean, as
// PyTorch's default reduction.
#include <memory>
#include <string>

#include "axon/export.h"
#include "axon/op_kinds.h"
#include "axon/tensor.h"

namespace axon::nn {

class AXON_API Loss {
 public:
  explicit Loss(LossKind kind, LossParams params = {});
  // The value ([1], on pred's device; read it with item() when needed) and, unless value_only,
  // dL/dpred (pred's shape). Both are buffers of this object, valid until the next call.
  // Softmax cross-entropy takes int32 labels [rows]; the others a float32 target like pred.
  void compute(const Tensor& pred, const Tensor& target, bool value_only = false);
  const Tensor& value() const { return value_; }
  const Tensor& grad() const { return grad_; }

  LossKind kind() const { return kind_; }
  LossParams params() const { return params_; }
  // Whether its targets are int32 class labels (softmax cross-entropy) rather than values.
  bool takes_labels() const { return kind_ == LossKind::kSoftmaxCrossEntropy; }
  std::string name() const;

 private:
  LossKind kind_;
  LossParams params_;
  Tensor value_;
  Tensor grad_buffer_;  // capacity rows
  Tensor grad_;         // the view of the last call
};

inline Loss MSELoss() { return Loss(LossKind::kMse); }
inline Loss L1Loss() { return Loss(LossKind::kMae); }
inline Loss HuberLoss(float delta = 1.0f) { return Loss(LossKind::kHuber, {delta}); }
inline Loss BCEWithLogitsLoss() { return Loss(LossKind::kBceWithLogits); }
inline Loss CrossEntropyLoss() { return Loss(LossKind::kSoftmaxCrossEntropy); }

}  // namespace axon::nn
