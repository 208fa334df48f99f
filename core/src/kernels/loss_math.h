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

// max(value, floor) that keeps a NaN value NaN (std::max's argument order; fmaxf would drop it).
AXON_HOST_DEVICE float nan_floor(float value, float floor) { return value < floor ? floor : value; }

// Elementwise losses (all but the label losses). pos_weight is BCE-with-logits' weight of the
// positive term (1: none), as torch's pos_weight for the element's column.
AXON_HOST_DEVICE LossTerm loss_term(LossKind kind, float huber_delta, float pred, float target,
                                    float pos_weight = 1.0f) {
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
      const float softplus_neg = ::log1pf(::expf(-::fabsf(pred)));  // log(1 + e^-|x|)
      if (pos_weight == 1.0f) {
        // max(x, 0) - x t + log(1 + e^-|x|): finite for any logit.
        return {::fmaxf(pred, 0.0f) - pred * target + softplus_neg, stable_sigmoid(pred) - target};
      }
      // torch's weighted form: (1 - t) x + lw (max(-x, 0) + log(1 + e^-|x|)), lw = (pw - 1) t + 1;
      // its derivative (1 - t) - lw sigmoid(-x).
      const float log_weight = (pos_weight - 1.0f) * target + 1.0f;
      return {(1.0f - target) * pred + log_weight * (::fmaxf(-pred, 0.0f) + softplus_neg),
              (1.0f - target) - log_weight * stable_sigmoid(-pred)};
    }
    case LossKind::kBce: {
      // torch's binary_cross_entropy: each log floored at -100 (so p = 0 or 1 stays finite), the
      // derivative's denominator at 1e-12; a NaN p stays NaN.
      const float value = (target - 1.0f) * nan_floor(::log1pf(-pred), -100.0f) -
                          target * nan_floor(::logf(pred), -100.0f);
      return {value, d / nan_floor((1.0f - pred) * pred, 1e-12f)};
    }
    case LossKind::kSoftmaxCrossEntropy:
    case LossKind::kNll: break;  // row-wise, not here
  }
  return {0.0f, 0.0f};
}

// Whether the loss's targets are int32 class labels, one per row.
AXON_HOST_DEVICE bool takes_labels(LossKind kind) {
  return kind == LossKind::kSoftmaxCrossEntropy || kind == LossKind::kNll;
}

}  // namespace axon::kernels
