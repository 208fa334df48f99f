#pragma once
// The scalar formulas of every activation and its derivative, written once for all backends:
// plain float math that compiles as host code and, under nvcc, as device code. Each form is
// chosen to stay finite for any finite input (no exp of a large positive number), and to keep a
// NaN input NaN as PyTorch does: comparisons are written so that NaN takes the branch that
// returns x (`x <= 0 ? 0 : x`, not `x > 0 ? x : 0`), and fmaxf/fminf, which drop a NaN, are not
// used on values that may be NaN.
#include <cmath>
#include <type_traits>

#include "axon/op_kinds.h"
#include "core/src/philox.h"  // AXON_HOST_DEVICE

namespace axon::kernels {

inline constexpr float kSeluAlpha = 1.6732632423543772848170429916717f;
inline constexpr float kSeluScale = 1.0507009873554804934193349852946f;
inline constexpr float kInvSqrt2 = 0.70710678118654752440f;
inline constexpr float kInvSqrt2Pi = 0.39894228040143267794f;

AXON_HOST_DEVICE float stable_sigmoid(float x) {
  // 1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) below: one exp of -|x| and a select, so that the
  // CPU's loops vectorise it (a branch around two calls does not if-convert).
  const float e = ::expf(-::fabsf(x));
  const float positive = 1.0f / (1.0f + e), negative = e / (1.0f + e);
  return x >= 0.0f ? positive : negative;
}

// log(1 + e^x) = max(x, 0) + log1p(e^-|x|)
AXON_HOST_DEVICE float stable_softplus(float x) {
  return ::fmaxf(x, 0.0f) + ::log1pf(::expf(-::fabsf(x)));
}

// sqrt(2 / pi) and the cubic's coefficient of GELU's tanh form (as torch writes them).
inline constexpr float kSqrt2OverPi = 0.79788456080286535588f;
inline constexpr float kGeluTanhKappa = 0.044715f;

// Compile-time kind: what loops use, so each loop body is one straight formula. `c` holds the
// kind's constants, defaults filled in (ActivationConstants).
template <Activation kKind>
AXON_HOST_DEVICE float activate(ActivationConstants c, float x) {
  using A = Activation;
  if constexpr (kKind == A::kIdentity) return x;
  else if constexpr (kKind == A::kSigmoid) return stable_sigmoid(x);
  else if constexpr (kKind == A::kTanh) return ::tanhf(x);
  else if constexpr (kKind == A::kRelu) return x <= 0.0f ? 0.0f : x;
  else if constexpr (kKind == A::kLeakyRelu) return x > 0.0f ? x : c.alpha * x;
  else if constexpr (kKind == A::kElu) return x > 0.0f ? x : c.alpha * ::expm1f(x);
  else if constexpr (kKind == A::kSelu) return kSeluScale * (x > 0.0f ? x : kSeluAlpha * ::expm1f(x));
  // GELU's Phi(x) as erfc (1 + erf(x) cancels in the left tail: 2% off at x = -4.8).
  else if constexpr (kKind == A::kGelu) return 0.5f * x * ::erfcf(-x * kInvSqrt2);
  else if constexpr (kKind == A::kSilu) return x * stable_sigmoid(x);
  else if constexpr (kKind == A::kSoftplus) {  // beta = c.alpha, threshold = c.beta
    const float bx = c.alpha * x;
    return bx > c.beta ? x : stable_softplus(bx) / c.alpha;
  } else if constexpr (kKind == A::kSoftsign) return x / (1.0f + ::fabsf(x));
  else if constexpr (kKind == A::kHardSigmoid) {  // clamp(x / 6 + 1/2, 0, 1)
    const float v = x * (1.0f / 6.0f) + 0.5f;
    return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
  } else if constexpr (kKind == A::kRelu6) return x < 0.0f ? 0.0f : (x > 6.0f ? 6.0f : x);
  else if constexpr (kKind == A::kHardtanh) return x < c.alpha ? c.alpha : (x > c.beta ? c.beta : x);
  else if constexpr (kKind == A::kHardswish) return x <= -3.0f ? 0.0f : (x >= 3.0f ? x : x * (x + 3.0f) / 6.0f);
  else if constexpr (kKind == A::kMish) return x * ::tanhf(stable_softplus(x));
  else if constexpr (kKind == A::kLogSigmoid) return (x < 0.0f ? x : 0.0f) - ::log1pf(::expf(-::fabsf(x)));
  else {  // kGeluTanh: 0.5 x (1 + tanh(u)) written as x sigmoid(2u) (1 + tanh(u) cancels as u -> -inf)
    const float inner = kSqrt2OverPi * (x + kGeluTanhKappa * (x * x * x));
    return x * stable_sigmoid(2.0f * inner);
  }
}

// f'(x), given x and y = f(x) (whichever is cheaper or more accurate). At a clamp's edges the
// gradient is torch's (Hardtanh and ReLU6: 0 at and beyond the limits).
template <Activation kKind>
AXON_HOST_DEVICE float derivative(ActivationConstants c, float x, float y) {
  using A = Activation;
  if constexpr (kKind == A::kIdentity) return 1.0f;
  else if constexpr (kKind == A::kSigmoid) return y * (1.0f - y);
  else if constexpr (kKind == A::kTanh) return 1.0f - y * y;
  else if constexpr (kKind == A::kRelu) return x <= 0.0f ? 0.0f : 1.0f;  // NaN passes the gradient, as torch's
  else if constexpr (kKind == A::kLeakyRelu) return x > 0.0f ? 1.0f : c.alpha;
  else if constexpr (kKind == A::kElu) return x > 0.0f ? 1.0f : c.alpha * ::expf(x);
  else if constexpr (kKind == A::kSelu) return kSeluScale * (x > 0.0f ? 1.0f : kSeluAlpha * ::expf(x));
  else if constexpr (kKind == A::kGelu) {
    const float cdf = 0.5f * ::erfcf(-x * kInvSqrt2);
    return cdf + x * kInvSqrt2Pi * ::expf(-0.5f * x * x);
  } else if constexpr (kKind == A::kSilu) {
    const float s = stable_sigmoid(x);
    return s * (1.0f + x * (1.0f - s));
  } else if constexpr (kKind == A::kSoftplus) {
    const float bx = c.alpha * x;
    return bx > c.beta ? 1.0f : stable_sigmoid(bx);
  } else if constexpr (kKind == A::kSoftsign) {
    const float d = 1.0f + ::fabsf(x);
    return 1.0f / (d * d);
  } else if constexpr (kKind == A::kHardSigmoid) {
    return (x > -3.0f && x < 3.0f) ? (1.0f / 6.0f) : 0.0f;
  } else if constexpr (kKind == A::kRelu6) {
    return (x <= 0.0f || x >= 6.0f) ? 0.0f : 1.0f;
  } else if constexpr (kKind == A::kHardtanh) {
    return (x <= c.alpha || x >= c.beta) ? 0.0f : 1.0f;
  } else if constexpr (kKind == A::kHardswish) {
    return x <= -3.0f ? 0.0f : (x < 3.0f ? x / 3.0f + 0.5f : 1.0f);  // torch's edges
  } else if constexpr (kKind == A::kMish) {
    const float t = ::tanhf(stable_softplus(x));
    return t + x * stable_sigmoid(x) * (1.0f - t * t);
  } else if constexpr (kKind == A::kLogSigmoid) {
    return stable_sigmoid(-x);
  } else {  // kGeluTanh: with s = sigmoid(2u) = (1 + tanh(u)) / 2, 1 - tanh(u)^2 = 4 s (1 - s)
    const float x_sq = x * x;
    const float s = stable_sigmoid(2.0f * kSqrt2OverPi * (x + kGeluTanhKappa * (x_sq * x)));
    return s + 2.0f * x * s * (1.0f - s) * (kSqrt2OverPi * (1.0f + 3.0f * kGeluTanhKappa * x_sq));
  }
}

// Calls body(std::integral_constant<Activation, kind>{}): turns a run-time kind into a
// compile-time one, so a loop is instantiated once per kind.
template <class Body>
AXON_HOST_DEVICE void with_activation(Activation kind, Body&& body) {
  using A = Activation;
  switch (kind) {
    case A::kIdentity: return body(std::integral_constant<A, A::kIdentity>{});
    case A::kSigmoid: return body(std::integral_constant<A, A::kSigmoid>{});
    case A::kTanh: return body(std::integral_constant<A, A::kTanh>{});
    case A::kRelu: return body(std::integral_constant<A, A::kRelu>{});
    case A::kLeakyRelu: return body(std::integral_constant<A, A::kLeakyRelu>{});
    case A::kElu: return body(std::integral_constant<A, A::kElu>{});
    case A::kSelu: return body(std::integral_constant<A, A::kSelu>{});
    case A::kGelu: return body(std::integral_constant<A, A::kGelu>{});
    case A::kSilu: return body(std::integral_constant<A, A::kSilu>{});
    case A::kSoftplus: return body(std::integral_constant<A, A::kSoftplus>{});
    case A::kSoftsign: return body(std::integral_constant<A, A::kSoftsign>{});
    case A::kHardSigmoid: return body(std::integral_constant<A, A::kHardSigmoid>{});
    case A::kRelu6: return body(std::integral_constant<A, A::kRelu6>{});
    case A::kHardtanh: return body(std::integral_constant<A, A::kHardtanh>{});
    case A::kHardswish: return body(std::integral_constant<A, A::kHardswish>{});
    case A::kMish: return body(std::integral_constant<A, A::kMish>{});
    case A::kLogSigmoid: return body(std::integral_constant<A, A::kLogSigmoid>{});
    case A::kGeluTanh: return body(std::integral_constant<A, A::kGeluTanh>{});
  }
}

// Run-time kind, for code that handles one element at a time.
AXON_HOST_DEVICE float activate(Activation kind, ActivationConstants c, float x) {
  float y = x;
  with_activation(kind, [&](auto k) { y = activate<decltype(k)::value>(c, x); });
  return y;
}

AXON_HOST_DEVICE float derivative(Activation kind, ActivationConstants c, float x, float y) {
  float d = 1.0f;
  with_activation(kind, [&](auto k) { d = derivative<decltype(k)::value>(c, x, y); });
  return d;
}

}  // namespace axon::kernels
