#pragma once
// Batch normalisation's formulas for both backends: per channel, the statistics from double
// sums, then every element through one multiply-add in double rounded once to float (torch
// computes y = x * alpha + beta with alpha = invstd * weight, beta = bias - mean * alpha; so do
// we, more precisely). Element e of channel c of x seen as [outer, channels, inner] is at
// (p * channels + c) * inner + j for p < outer, j < inner.
#include <cmath>
#include <cstdint>

#include "axon/op_kinds.h"
#include "core/src/philox.h"  // AXON_HOST_DEVICE

namespace axon::kernels {

// The flat index of the k-th element (k < outer * inner) of channel c.
AXON_HOST_DEVICE std::int64_t channel_element(const BatchNormShape& s, std::int64_t c, std::int64_t k) {
  return ((k / s.inner) * s.channels + c) * s.inner + k % s.inner;
}

// y = x * alpha + beta for the channel.
struct ChannelAffine {
  double alpha, beta;
};

AXON_HOST_DEVICE ChannelAffine train_affine(double mean, double invstd, const float* weight, const float* bias,
                                            std::int64_t c) {
  const double alpha = invstd * (weight != nullptr ? static_cast<double>(weight[c]) : 1.0);
  return {alpha, (bias != nullptr ? static_cast<double>(bias[c]) : 0.0) - mean * alpha};
}

AXON_HOST_DEVICE ChannelAffine eval_affine(const BatchNormShape& s, const float* weight, const float* bias,
                                           const float* running_mean, const float* running_var, std::int64_t c) {
  const double invstd = 1.0 / ::sqrt(static_cast<double>(running_var[c]) + static_cast<double>(s.eps));
  return train_affine(running_mean[c], invstd, weight, bias, c);
}

AXON_HOST_DEVICE float apply_affine(ChannelAffine a, float x) {
  return static_cast<float>(static_cast<double>(x) * a.alpha + a.beta);
}

// The running statistics' update after a batch of n values per channel with mean and biased
// variance var: (1 - momentum) * running + momentum * statistic, the variance unbiased.
AXON_HOST_DEVICE void update_running(const BatchNormShape& s, double mean, double var, std::int64_t n,
                                     float* running_mean, float* running_var, std::int64_t c) {
  const double m = s.momentum;
  const double unbiased = var * static_cast<double>(n) / static_cast<double>(n - 1);
  running_mean[c] = static_cast<float>((1.0 - m) * running_mean[c] + m * mean);
  running_var[c] = static_cast<float>((1.0 - m) * running_var[c] + m * unbiased);
}

// The backward's per-element input gradient given the channel's sums: sum_dy = sum(dy),
// dot = sum(dy * (x - mean)).
struct ChannelGrad {
  double mean, invstd, weight, grad_mean, projection;
};

AXON_HOST_DEVICE ChannelGrad channel_grad(double mean, double invstd, double weight, double sum_dy, double dot,
                                          std::int64_t n) {
  const double count = static_cast<double>(n);
  return {mean, invstd, weight, sum_dy / count, dot * invstd * invstd / count};
}

AXON_HOST_DEVICE float input_grad(const ChannelGrad& g, float x, float dy) {
  const double centred = static_cast<double>(x) - g.mean;
  return static_cast<float>((static_cast<double>(dy) - g.grad_mean - centred * g.projection) * g.invstd * g.weight);
}

// ---- layer normalisation: each row of `size` values by its own statistics ----

// y_j = (x_j - mean) * invstd * w_j + b_j, in double, rounded once.
AXON_HOST_DEVICE float layer_norm_value(float x, double mean, double invstd, const float* weight, const float* bias,
                                        std::int64_t j) {
  double v = (static_cast<double>(x) - mean) * invstd;
  if (weight != nullptr) v *= static_cast<double>(weight[j]);
  if (bias != nullptr) v += static_cast<double>(bias[j]);
  return static_cast<float>(v);
}

// dx_j = invstd * (g_j - sum(g) / n - (x_j - mean) * invstd^2 * sum(g * (x - mean)) / n) with
// g = dy * w: torch's layer_norm backward, in double.
AXON_HOST_DEVICE double layer_norm_g(float dy, const float* weight, std::int64_t j) {
  return static_cast<double>(dy) * (weight != nullptr ? static_cast<double>(weight[j]) : 1.0);
}

AXON_HOST_DEVICE float layer_norm_input_grad(double g, float x, double mean, double invstd, double sum_g, double dot,
                                             std::int64_t n) {
  const double count = static_cast<double>(n);
  const double centred = static_cast<double>(x) - mean;
  return static_cast<float>(invstd * (g - sum_g / count - centred * invstd * invstd * dot / count));
}

}  // namespace axon::kernels
