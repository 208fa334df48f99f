#pragma once
// Initialisers, as torch.nn.init defines them. fan_in and fan_out are a Dense weight's inputs
// and outputs. Every draw goes through a Generator (Philox): the same seed gives the same
// weights on every backend.
#include <cstdint>
#include <string>

#include "axon/export.h"
#include "axon/random.h"
#include "axon/tensor.h"

namespace axon::nn {

enum class InitKind : std::uint8_t {
  kLinearDefault,  // nn.Linear's: uniform(-1/sqrt(fan_in), 1/sqrt(fan_in))
  kZeros,
  kConstant,       // value
  kUniform,        // [low, high)
  kNormal,         // mean, stddev
  kGlorotUniform,  // Xavier: bound gain * sqrt(6 / (fan_in + fan_out))
  kGlorotNormal,   // Xavier: stddev gain * sqrt(2 / (fan_in + fan_out))
  kHeUniform,      // Kaiming, fan_in mode: bound gain * sqrt(3 / fan_in), gain sqrt(2) (ReLU)
  kHeNormal,       // Kaiming, fan_in mode: stddev gain / sqrt(fan_in)
  kLecunUniform,   // bound sqrt(3 / fan_in)
  kLecunNormal,    // stddev 1 / sqrt(fan_in) (a plain normal; Keras truncates it)
  kTruncNormal,    // normal(mean a, stddev b) cut to [low, high] (torch's trunc_normal_)
  kOrthogonal,     // a (semi-)orthogonal matrix times gain (torch's orthogonal_), 2-D or more
};

// Whose fan Kaiming (He) initialisers scale by: torch's mode='fan_in' (the default: keeps the
// forward pass's variance) or 'fan_out' (the backward pass's).
enum class FanMode : std::uint8_t { kFanIn, kFanOut };

struct Initializer {
  InitKind kind = InitKind::kLinearDefault;
  float a = 0.0f;     // constant's value, uniform's low, normal's and trunc_normal's mean
  float b = 0.0f;     // uniform's high, normal's and trunc_normal's stddev
  float gain = 1.0f;  // Glorot, He and orthogonal (He's default gain is sqrt(2), see he_uniform())
  FanMode mode = FanMode::kFanIn;  // He's
  float low = -2.0f, high = 2.0f;  // trunc_normal's bounds (absolute, as torch's a and b)
};

namespace init {
inline Initializer linear_default() { return {InitKind::kLinearDefault}; }
inline Initializer zeros() { return {InitKind::kZeros}; }
inline Initializer constant(float value) { return {InitKind::kConstant, value}; }
inline Initializer uniform(float low, float high) { return {InitKind::kUniform, low, high}; }
inline Initializer normal(float mean, float stddev) { return {InitKind::kNormal, mean, stddev}; }
inline Initializer glorot_uniform(float gain = 1.0f) { return {InitKind::kGlorotUniform, 0, 0, gain}; }
inline Initializer glorot_normal(float gain = 1.0f) { return {InitKind::kGlorotNormal, 0, 0, gain}; }
inline Initializer xavier_uniform(float gain = 1.0f) { return glorot_uniform(gain); }
inline Initializer xavier_normal(float gain = 1.0f) { return glorot_normal(gain); }
inline Initializer he_uniform(float gain = 1.4142135f, FanMode mode = FanMode::kFanIn) {
  return {InitKind::kHeUniform, 0, 0, gain, mode};
}
inline Initializer he_normal(float gain = 1.4142135f, FanMode mode = FanMode::kFanIn) {
  return {InitKind::kHeNormal, 0, 0, gain, mode};
}
inline Initializer kaiming_uniform(float gain = 1.4142135f, FanMode mode = FanMode::kFanIn) {
  return he_uniform(gain, mode);
}
inline Initializer kaiming_normal(float gain = 1.4142135f, FanMode mode = FanMode::kFanIn) {
  return he_normal(gain, mode);
}
inline Initializer lecun_uniform() { return {InitKind::kLecunUniform}; }
inline Initializer lecun_normal() { return {InitKind::kLecunNormal}; }
// torch.nn.init.trunc_normal_(mean, std, a=low, b=high): drawn by the inverse CDF of the cut
// normal from one uniform number per value (no rejection loop: as many draws on every device).
inline Initializer trunc_normal(float mean = 0.0f, float stddev = 1.0f, float low = -2.0f, float high = 2.0f) {
  Initializer init{InitKind::kTruncNormal, mean, stddev};
  init.low = low;
  init.high = high;
  return init;
}
// torch.nn.init.orthogonal_(gain): the rows (or columns, whichever are fewer) of the weight
// [rows, numel / rows] orthonormal, from the QR decomposition of a normal matrix.
inline Initializer orthogonal(float gain = 1.0f) { return {InitKind::kOrthogonal, 0, 0, gain}; }
}  // namespace init

// Fills `tensor` as `initializer` says. ValueError for a fan < 1 where the rule divides by it,
// trunc_normal bounds that hold no probability (low >= high, a stddev <= 0), orthogonal on a
// tensor of fewer than 2 dimensions.
AXON_API void initialize(const Tensor& tensor, const Initializer& initializer, std::int64_t fan_in,
                         std::int64_t fan_out, Generator& generator = default_generator());
AXON_API std::string initializer_name(const Initializer& initializer);

// An initializer in a layer's settings: "<key>" its kind's name, "<key>_a", "<key>_b",
// "<key>_gain" its numbers, "<key>_mode" "fan_out" for He's fan-out mode, "<key>_low" and
// "<key>_high" for trunc_normal; nothing at all for the default (nn.Linear's). ValueError for
// an unknown name when reading.
class LayerConfig;
AXON_API void set_initializer(LayerConfig& config, const std::string& key, const Initializer& initializer);
AXON_API Initializer get_initializer(const LayerConfig& config, const std::string& key);

}  // namespace axon::nn
