#pragma once
// Per-element loss terms and their derivatives, shared by all backends. The mean (and its
// 1/n in the gradient) is applied by the caller.
#include <cmath>

#include "axon/op_kinds.h"
#include "core/src/kernels/activation_math.h"

namespace axon::kernels {

struct LossTerm {
  float value;       // the element's loss
  float derivative;  // d value / d pred
};

// Elementwise losses (all but softmax cross-entropy).
AXON_HOST_DEVICE LossTerm loss_term(LossKind kind, float huber_delta, float pred, float target) {
  const float d = pred - target;
  switch (kind) {
    case LossKind::kMse: return {d * d, 2.0f * d};
    case LossKind::kMae: return {::fabsf(d), d > 0.0f ? 1.0f : (d < 0.0f ? -1.0f : 0.0f)};
    case LossKind::kHuber: {
      const float magnitude = ::fabsf(d);
      if (magnitude <= huber_delta) return {0.5f * d * d, d};
      return {huber_delta * (magnitude - 0.5f * huber_delta), d > 0.0f ? huber_delta : -huber_delta};
    }
    case LossKind::kBceWithLogits: {
      // max(x, 0) - x t + log(1 + e^-|x|): finite for any logit.
      const float value = ::fmaxf(pred, 0.0f) - pred * target + ::log1pf(::expf(-::fabsf(pred)));
      return {value, stable_sigmoid(pred) - target};
    }
    case LossKind::kSoftmaxCrossEntropy: break;  // row-wise, not here
  }
  return {0.0f, 0.0f};
}

}  // namespace axon::kernels
