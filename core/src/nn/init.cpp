#include "axon/nn/init.h"

#include <cmath>

#include "axon/error.h"
#include "axon/nn/layer_config.h"
#include "axon/ops.h"

namespace axon::nn {

namespace {
float inverse_sqrt(std::int64_t fan, const char* what) {
  if (fan < 1) throw ValueError(std::string("nn::initialize: ") + what + " needs fan >= 1, got " + std::to_string(fan));
  return static_cast<float>(1.0 / std::sqrt(static_cast<double>(fan)));
}
}  // namespace

void initialize(const Tensor& tensor, const Initializer& init, std::int64_t fan_in, std::int64_t fan_out,
                Generator& generator) {
  switch (init.kind) {
    case InitKind::kLinearDefault: {
      const float bound = inverse_sqrt(fan_in, "linear_default");
      fill_uniform(tensor, -bound, bound, generator);
      return;
    }
    case InitKind::kZeros: fill(tensor, 0.0f); return;
    case InitKind::kConstant: fill(tensor, init.a); return;
    case InitKind::kUniform: fill_uniform(tensor, init.a, init.b, generator); return;
    case InitKind::kNormal: fill_normal(tensor, init.a, init.b, generator); return;
    case InitKind::kGlorotUniform: {
      const float bound = init.gain * std::sqrt(6.0f / static_cast<float>(fan_in + fan_out));
      fill_uniform(tensor, -bound, bound, generator);
      return;
    }
    case InitKind::kGlorotNormal:
      fill_normal(tensor, 0.0f, init.gain * std::sqrt(2.0f / static_cast<float>(fan_in + fan_out)), generator);
      return;
    case InitKind::kHeUniform: {
      const float bound = init.gain * std::sqrt(3.0f) * inverse_sqrt(fan_in, "he_uniform");
      fill_uniform(tensor, -bound, bound, generator);
      return;
    }
    case InitKind::kHeNormal: fill_normal(tensor, 0.0f, init.gain * inverse_sqrt(fan_in, "he_normal"), generator); return;
    case InitKind::kLecunUniform: {
      const float bound = std::sqrt(3.0f) * inverse_sqrt(fan_in, "lecun_uniform");
      fill_uniform(tensor, -bound, bound, generator);
      return;
    }
    case InitKind::kLecunNormal: fill_normal(tensor, 0.0f, inverse_sqrt(fan_in, "lecun_normal"), generator); return;
  }
  throw ValueError("nn::initialize: initializer kind " + std::to_string(static_cast<int>(init.kind)) +
                   " is not one of the defined kinds");
}

std::string initializer_name(const Initializer& init) {
  switch (init.kind) {
    case InitKind::kLinearDefault: return "linear_default";
    case InitKind::kZeros: return "zeros";
    case InitKind::kConstant: return "constant";
    case InitKind::kUniform: return "uniform";
    case InitKind::kNormal: return "normal";
    case InitKind::kGlorotUniform: return "glorot_uniform";
    case InitKind::kGlorotNormal: return "glorot_normal";
    case InitKind::kHeUniform: return "he_uniform";
    case InitKind::kHeNormal: return "he_normal";
    case InitKind::kLecunUniform: return "lecun_uniform";
    case InitKind::kLecunNormal: return "lecun_normal";
  }
  return "unknown";
}

void set_initializer(LayerConfig& config, const std::string& key, const Initializer& initializer) {
  if (initializer.kind == InitKind::kLinearDefault) return;
  config.set(key, initializer_name(initializer));
  config.set(key + "_a", initializer.a).set(key + "_b", initializer.b).set(key + "_gain", initializer.gain);
}

Initializer get_initializer(const LayerConfig& config, const std::string& key) {
  if (!config.has(key)) return init::linear_default();
  const std::string& name = config.text(key);
  for (int k = 0; k <= static_cast<int>(InitKind::kLecunNormal); ++k) {
    Initializer initializer{static_cast<InitKind>(k)};
    if (initializer_name(initializer) != name) continue;
    initializer.a = static_cast<float>(config.number_or(key + "_a", 0.0));
    initializer.b = static_cast<float>(config.number_or(key + "_b", 0.0));
    initializer.gain = static_cast<float>(config.number_or(key + "_gain", 1.0));
    if (!std::isfinite(initializer.a) || !std::isfinite(initializer.b) || !std::isfinite(initializer.gain)) {
      throw ValueError("layer setting '" + key + "': the initializer's numbers must be finite");
    }
    return initializer;
  }
  throw ValueError("layer setting '" + key + "': unknown initializer '" + name + "'");
}

}  // namespace axon::nn
