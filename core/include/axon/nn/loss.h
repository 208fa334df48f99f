#pragma once
// Losses as objects over the loss ops (ops.h): value and gradient in one pass, written into
// buffers the loss keeps, so a training step allocates nothing. The factories below are
// torch.nn's losses with their options and defaults (reduction "mean").
#include <memory>
#include <string>

#include "axon/export.h"
#include "axon/op_kinds.h"
#include "axon/tensor.h"

namespace axon::nn {

class AXON_API Loss {
 public:
  // weight: the label losses' class weights [classes], or BCE-with-logits' pos_weight [pred's
  // last axis]; moved to pred's device when they differ (once per device).
  explicit Loss(LossKind kind, LossParams params = {}, Tensor weight = {});
  // The value (on pred's device: [1], or one per term for Reduction::kNone; read it with item()
  // when needed) and, unless value_only, d(sum of value)/dpred (pred's shape). Both are buffers
  // of this object, valid until the next call. The label losses take int32 labels [rows]; the
  // others a float32 target like pred.
  void compute(const Tensor& pred, const Tensor& target, bool value_only = false);
  const Tensor& value() const { return value_; }
  const Tensor& grad() const { return grad_; }

  LossKind kind() const { return kind_; }
  LossParams params() const { return params_; }
  Reduction reduction() const { return params_.reduction; }
  const Tensor& weight() const { return weight_; }
  // A loss with the same kind, options and weight, and buffers of its own.
  Loss fresh() const { return Loss(kind_, params_, weight_); }
  // Whether its targets are int32 class labels (cross-entropy, NLL) rather than values.
  bool takes_labels() const { return kind_ == LossKind::kSoftmaxCrossEntropy || kind_ == LossKind::kNll; }
  // What a batch of `rows` contributes to an epoch's summed loss per unit of value: rows for a
  // mean, 1 for a sum (kNone has no single value: ValueError).
  float batch_weight(std::int64_t rows) const;
  std::string name() const;

 private:
  LossKind kind_;
  LossParams params_;
  Tensor weight_;        // on the device of the last call
  Tensor value_buffer_;  // kNone: capacity rows
  Tensor value_;
  Tensor grad_buffer_;  // capacity rows
  Tensor grad_;         // the view of the last call
};

struct CrossEntropyOptions {
  Tensor weight;                     // class weights [classes], or none
  std::int32_t ignore_index = -100;  // rows with this label count nowhere
  float label_smoothing = 0.0f;      // in [0, 1]
  Reduction reduction = Reduction::kMean;
};
struct NllOptions {
  Tensor weight;
  std::int32_t ignore_index = -100;
  Reduction reduction = Reduction::kMean;
};

inline Loss MSELoss(Reduction reduction = Reduction::kMean) {
  return Loss(LossKind::kMse, {.reduction = reduction});
}
inline Loss L1Loss(Reduction reduction = Reduction::kMean) {
  return Loss(LossKind::kMae, {.reduction = reduction});
}
inline Loss HuberLoss(float delta = 1.0f, Reduction reduction = Reduction::kMean) {
  return Loss(LossKind::kHuber, {.huber_delta = delta, .reduction = reduction});
}
// Binary cross-entropy of probabilities (after a sigmoid); BCEWithLogitsLoss is the stable one.
inline Loss BCELoss(Reduction reduction = Reduction::kMean) {
  return Loss(LossKind::kBce, {.reduction = reduction});
}
// pos_weight: [pred's last axis] weights of the positive term, or none.
inline Loss BCEWithLogitsLoss(Tensor pos_weight = {}, Reduction reduction = Reduction::kMean) {
  return Loss(LossKind::kBceWithLogits, {.reduction = reduction}, std::move(pos_weight));
}
// Softmax cross-entropy on logits with int32 labels (torch.nn.CrossEntropyLoss).
inline Loss CrossEntropyLoss(CrossEntropyOptions options = {}) {
  return Loss(LossKind::kSoftmaxCrossEntropy,
              {.reduction = options.reduction, .label_smoothing = options.label_smoothing,
               .ignore_index = options.ignore_index},
              std::move(options.weight));
}
// Negative log-likelihood of log-probabilities (after LogSoftmax) with int32 labels.
inline Loss NLLLoss(NllOptions options = {}) {
  return Loss(LossKind::kNll, {.reduction = options.reduction, .ignore_index = options.ignore_index},
              std::move(options.weight));
}

}  // namespace axon::nn
