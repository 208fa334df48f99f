#pragma once
// One element of each training kernel, written once for both backends (cpu/cpu_train.cpp loops
// over them, cuda/cuda_train.cu launches them): torch.optim's formulas in its order of float
// operations, so the CPU, the GPU and PyTorch agree to rounding. State a configuration does not
// use is passed as a null pointer.
#include <cmath>

#include "axon/op_kinds.h"
#include "core/src/philox.h"  // AXON_HOST_DEVICE

namespace axon::kernels {

// torch.lerp's two forms (exp_avg and grad_avg move toward the gradient by alpha).
AXON_HOST_DEVICE float lerp_toward(float x, float y, float alpha) {
  return alpha < 0.5f ? x + alpha * (y - x) : y - (y - x) * (1.0f - alpha);
}

AXON_HOST_DEVICE void sgd_update(const SgdHyper& h, float& param, float grad, float* buffer) {
  float d = grad;
  if (h.weight_decay != 0.0f) d = d + h.weight_decay * param;
  if (buffer != nullptr) {
    // The first step takes the gradient as the buffer (torch clones it), later ones blend.
    const float b = h.first_step ? d : *buffer * h.momentum + (1.0f - h.dampening) * d;
    *buffer = b;
    d = h.nesterov ? d + h.momentum * b : b;
  }
  param = param + (-h.lr) * d;
}

AXON_HOST_DEVICE void adagrad_update(const AdagradHyper& h, float& param, float grad, float& sum) {
  float d = grad;
  if (h.weight_decay != 0.0f) d = d + h.weight_decay * param;
  sum = sum + d * d;
  const float std_dev = ::sqrtf(sum) + h.eps;
  param = param + (-h.lr) * d / std_dev;
}

AXON_HOST_DEVICE void rmsprop_update(const RmspropHyper& h, float& param, float grad, float& square, float* buffer,
                                     float* average) {
  float d = grad;
  if (h.weight_decay != 0.0f) d = d + h.weight_decay * param;
  square = square * h.alpha + (1.0f - h.alpha) * d * d;
  float avg = 0.0f;
  if (average != nullptr) {  // centered: the variance, not the second moment
    *average = lerp_toward(*average, d, 1.0f - h.alpha);
    avg = ::sqrtf(square - *average * *average);
  } else {
    avg = ::sqrtf(square);
  }
  avg = avg + h.eps;
  if (buffer != nullptr) {
    *buffer = *buffer * h.momentum + d / avg;
    param = param + (-h.lr) * *buffer;
  } else {
    param = param + (-h.lr) * d / avg;
  }
}

// AdamW multiplies by h.decay_factor = 1 - lr * weight_decay (computed on the host in double).
AXON_HOST_DEVICE void adam_update(const AdamHyper& h, float& param, float grad, float& first,
                                  float& second, float* second_max) {
  float d = grad;
  if (h.weight_decay != 0.0f) {
    if (h.decoupled_weight_decay) {
      param = param * h.decay_factor;
    } else {
      d = d + h.weight_decay * param;
    }
  }
  first = lerp_toward(first, d, 1.0f - h.beta1);
  second = second * h.beta2 + (1.0f - h.beta2) * d * d;
  float source = second;
  if (second_max != nullptr) {
    *second_max = ::fmaxf(*second_max, second);
    source = *second_max;
  }
  const float denominator = ::sqrtf(source) / h.bias_correction2_sqrt + h.eps;
  param = param + (-h.step_size) * first / denominator;
}

// Inverted dropout's mask value of element i: 1 / (1 - p) kept, 0 dropped.
AXON_HOST_DEVICE float dropout_keep(std::uint64_t seed, std::uint64_t offset, std::uint64_t i, float p, float scale) {
  const philox::Block block = philox::generate(seed, offset + i / 4);
  return philox::to_unit_float(block.v[i % 4]) >= p ? scale : 0.0f;
}

// torch.clamp: NaN stays NaN.
AXON_HOST_DEVICE float clamp_value(float v, float low, float high) { return v < low ? low : (v > high ? high : v); }

}  // namespace axon::kernels
