#pragma once
// One element of each training kernel, written once for both backends (cpu/cpu_train.cpp loops
// over them, cuda/cuda_train.cu launches them): torch.optim's formulas in its order of float
// operations, so the CPU, the GPU and PyTorch agree to rounding. State a configuration does not
// use is passed as a null pointer.
//
// Optimizer state is never left subnormal (below FLT_MIN = 2^-126 in magnitude): such a value is
// stored as zero. A slot of a weight whose gradient stays zero decays geometrically (exp_avg by
// beta1 every step: from 1e-3 into the subnormal range in ~800 steps), and x86 CPUs take a
// microcode assist of ~100 cycles for every operation on a subnormal (measured here: Adam's step
// over 235k subnormal moments 3x slower). A flushed value moves its update by less than
// lr * FLT_MIN / eps ~ 1e-33 (Adam), far below one ulp of any parameter above 1e-26, so parity
// with torch.optim, which keeps them, holds. Both backends flush, so they still agree.
#include <cfloat>
#include <cmath>
#include <cstdint>

#include "axon/op_kinds.h"
#include "core/src/philox.h"  // AXON_HOST_DEVICE

namespace axon::kernels {

// x, or 0 where |x| < FLT_MIN (NaN and infinities stay). A multiply, not a select: GCC then still
// vectorises the optimizer loops, whose other branches already use up its if-conversion.
AXON_HOST_DEVICE float flush_subnormal(float x) { return x * static_cast<float>(::fabsf(x) >= FLT_MIN); }

// torch.lerp's two forms (exp_avg and grad_avg move toward the gradient by alpha).
AXON_HOST_DEVICE float lerp_toward(float x, float y, float alpha) {
  return alpha < 0.5f ? x + alpha * (y - x) : y - (y - x) * (1.0f - alpha);
}

AXON_HOST_DEVICE void sgd_update(const SgdHyper& h, float& param, float grad, float* buffer) {
  float d = grad;
  if (h.weight_decay != 0.0f) d = d + h.weight_decay * param;
  if (buffer != nullptr) {
    // The first step takes the gradient as the buffer (torch clones it), later ones blend.
    const float b = flush_subnormal(h.first_step ? d : *buffer * h.momentum + h.one_minus_dampening * d);
    *buffer = b;
    d = h.nesterov ? d + h.momentum * b : b;
  }
  param = param + (-h.lr) * d;
}

AXON_HOST_DEVICE void adagrad_update(const AdagradHyper& h, float& param, float grad, float& sum) {
  float d = grad;
  if (h.weight_decay != 0.0f) d = d + h.weight_decay * param;
  sum = flush_subnormal(sum + d * d);
  const float std_dev = ::sqrtf(sum) + h.eps;
  param = param + (-h.lr) * d / std_dev;
}

AXON_HOST_DEVICE void rmsprop_update(const RmspropHyper& h, float& param, float grad, float& square, float* buffer,
                                     float* average) {
  float d = grad;
  if (h.weight_decay != 0.0f) d = d + h.weight_decay * param;
  square = flush_subnormal(square * h.alpha + h.one_minus_alpha * d * d);
  float avg = 0.0f;
  if (average != nullptr) {  // centered: the variance, not the second moment
    *average = flush_subnormal(lerp_toward(*average, d, h.one_minus_alpha));
    avg = ::sqrtf(square - *average * *average);
  } else {
    avg = ::sqrtf(square);
  }
  avg = avg + h.eps;
  if (buffer != nullptr) {
    *buffer = flush_subnormal(*buffer * h.momentum + d / avg);
    param = param + (-h.lr) * *buffer;
  } else {
    param = param + (-h.lr) * d / avg;
  }
}

// How Adam applies weight decay: none, added to the gradient (Adam), or decoupled (AdamW, which
// multiplies by h.decay_factor = 1 - lr * weight_decay, computed on the host in double). A
// parameter, not a branch on h: the CPU loops pass it as a compile-time constant, so their
// loops keep no branch (GCC stopped vectorising Adam's loop when unswitching it hit its size
// limit), and CUDA passes adam_decay(h).
enum class AdamDecay : std::uint8_t { kNone, kL2, kDecoupled };
AXON_HOST_DEVICE AdamDecay adam_decay(const AdamHyper& h) {
  if (h.weight_decay == 0.0f) return AdamDecay::kNone;
  return h.decoupled_weight_decay ? AdamDecay::kDecoupled : AdamDecay::kL2;
}

AXON_HOST_DEVICE void adam_update(const AdamHyper& h, AdamDecay decay, float& param, float grad, float& first,
                                  float& second, float* second_max) {
  float d = grad;
  if (decay == AdamDecay::kDecoupled) param = param * h.decay_factor;
  if (decay == AdamDecay::kL2) d = d + h.weight_decay * param;
  first = flush_subnormal(lerp_toward(first, d, h.one_minus_beta1));
  second = flush_subnormal(second * h.beta2 + h.one_minus_beta2 * d * d);
  float source = second;
  if (second_max != nullptr) {
    // torch.maximum: a NaN on either side wins (fmaxf would drop it).
    *second_max = *second_max < second || second != second ? second : *second_max;
    source = *second_max;
  }
  const float denominator = ::sqrtf(source) / h.bias_correction2_sqrt + h.eps;
  param = param + (-h.step_size) * first / denominator;
}

// Inverted dropout's scale 1 / (1 - p), in double as PyTorch computes it (in float, p = 0.9 gave
// 9.999998 instead of 10).
inline float dropout_scale(float p) { return static_cast<float>(1.0 / (1.0 - static_cast<double>(p))); }

// Inverted dropout's mask value of element i: 1 / (1 - p) kept, 0 dropped.
AXON_HOST_DEVICE float dropout_keep(std::uint64_t seed, std::uint64_t offset, std::uint64_t i, float p, float scale) {
  const philox::Block block = philox::generate(seed, offset + i / 4);
  return philox::to_unit_float(block.v[i % 4]) >= p ? scale : 0.0f;
}

// torch.clamp: NaN stays NaN.
AXON_HOST_DEVICE float clamp_value(float v, float low, float high) { return v < low ? low : (v > high ? high : v); }

// The larger, a NaN on either side winning (as torch's max): the infinity norm of NaN is NaN.
AXON_HOST_DEVICE double nan_max(double best, double v) {
  if (best != best) return best;
  if (v != v) return v;
  return v > best ? v : best;
}

// The norm of order p from the total over the elements (the sum of |g|^p, or for p = inf the
// largest |g|).
AXON_HOST_DEVICE double norm_from_total(double total, double p) {
  if (p > 1.0e308) return total;  // (infinity; std::isinf is not device code)
  if (p == 2.0) return ::sqrt(total);
  if (p == 1.0) return total;
  return ::pow(total, 1.0 / p);
}

}  // namespace axon::kernels
