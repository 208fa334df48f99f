#pragma once
// The scalar formulas of every activation and its derivative, written once for all backends:
// plain float math that compiles as host code and, under nvcc, as device code. Each form is
// chosen to stay finite for any finite input (no exp of a large positive number).
#include <cmath>

#include "axon/op_kinds.h"
#include "core/src/philox.h"  // AXON_HOST_DEVICE

namespace axon::kernels {

inline constexpr float kSeluAlpha = 1.6732632423543772848170429916717f;
inline constexpr float kSeluScale = 1.0507009873554804934193349852946f;
inline constexpr float kInvSqrt2 = 0.70710678118654752440f;
inline constexpr float kInvSqrt2Pi = 0.39894228040143267794f;

AXON_HOST_DEVICE float stable_sigmoid(float x) {
  if (x >= 0.0f) return 1.0f / (1.0f + ::expf(-x));
  const float e = ::expf(x);
  return e / (1.0f + e);
}

// log(1 + e^x) = max(x, 0) + log1p(e^-|x|)
AXON_HOST_DEVICE float stable_softplus(float x) {
  return ::fmaxf(x, 0.0f) + ::log1pf(::expf(-::fabsf(x)));
}

AXON_HOST_DEVICE float activate(Activation kind, float alpha, float x) {
  switch (kind) {
    case Activation::kIdentity: return x;
    case Activation::kSigmoid: return stable_sigmoid(x);
    case Activation::kTanh: return ::tanhf(x);
    case Activation::kRelu: return x > 0.0f ? x : 0.0f;
    case Activation::kLeakyRelu: return x > 0.0f ? x : alpha * x;
    case Activation::kElu: return x > 0.0f ? x : alpha * ::expm1f(x);
    case Activation::kSelu: return kSeluScale * (x > 0.0f ? x : kSeluAlpha * ::expm1f(x));
    case Activation::kGelu: return 0.5f * x * (1.0f + ::erff(x * kInvSqrt2));
    case Activation::kSilu: return x * stable_sigmoid(x);
    case Activation::kSoftplus: return stable_softplus(x);
    case Activation::kSoftsign: return x / (1.0f + ::fabsf(x));
    case Activation::kHardSigmoid: return ::fminf(::fmaxf(x * (1.0f / 6.0f) + 0.5f, 0.0f), 1.0f);
  }
  return x;
}

// f'(x), given x and y = f(x) (whichever is cheaper or more accurate).
AXON_HOST_DEVICE float derivative(Activation kind, float alpha, float x, float y) {
  switch (kind) {
    case Activation::kIdentity: return 1.0f;
    case Activation::kSigmoid: return y * (1.0f - y);
    case Activation::kTanh: return 1.0f - y * y;
    case Activation::kRelu: return x > 0.0f ? 1.0f : 0.0f;
    case Activation::kLeakyRelu: return x > 0.0f ? 1.0f : alpha;
    case Activation::kElu: return x > 0.0f ? 1.0f : alpha * ::expf(x);
    case Activation::kSelu: return kSeluScale * (x > 0.0f ? 1.0f : kSeluAlpha * ::expf(x));
    case Activation::kGelu: {
      const float cdf = 0.5f * (1.0f + ::erff(x * kInvSqrt2));
      return cdf + x * kInvSqrt2Pi * ::expf(-0.5f * x * x);
    }
    case Activation::kSilu: {
      const float s = stable_sigmoid(x);
      return s * (1.0f + x * (1.0f - s));
    }
    case Activation::kSoftplus: return stable_sigmoid(x);
    case Activation::kSoftsign: {
      const float d = 1.0f + ::fabsf(x);
      return 1.0f / (d * d);
    }
    case Activation::kHardSigmoid: return (x > -3.0f && x < 3.0f) ? (1.0f / 6.0f) : 0.0f;
  }
  return 1.0f;
}

}  // namespace axon::kernels
