#include "axon/nn/weights.h"

#include <algorithm>

#include "axon/error.h"
#include "axon/io/safetensors.h"

namespace axon::nn {

void save_weights(Sequential& model, const std::filesystem::path& path) {
  std::vector<io::NamedTensor> tensors;
  for (const NamedParameter& p : model.parameters().parameters()) tensors.push_back({p.name, p.parameter->value});
  io::save_safetensors(path, tensors, {{"format", "axon"}, {"format_version", "1"}});
}

void load_weights(Sequential& model, const std::filesystem::path& path) {
  const io::Safetensors file = io::load_safetensors(path, model.device());
  const auto& parameters = model.parameters().parameters();
  // Check everything first: a failed load changes nothing.
  std::vector<const Tensor*> sources;
  for (const NamedParameter& p : parameters) {
    const Tensor& source = file.at(p.name);
    if (source.dtype() != p.parameter->value.dtype() || source.shape() != p.parameter->value.shape()) {
      throw FormatError("safetensors file " + path.string() + ": tensor '" + p.name + "' is " + source.describe() +
                        ", the model's is " + p.parameter->value.describe());
    }
    sources.push_back(&source);
  }
  for (const io::NamedTensor& t : file.tensors) {
    const bool known = std::any_of(parameters.begin(), parameters.end(), [&](const NamedParameter& p) { return p.name == t.name; });
    if (!known) {
      throw FormatError("safetensors file " + path.string() + ": tensor '" + t.name +
                        "' is not a parameter of the model (its parameters are named 0.weight, 0.bias, ...)");
    }
  }
  for (std::size_t i = 0; i < parameters.size(); ++i) parameters[i].parameter->value.copy_from(*sources[i]);
}

}  // namespace axon::nn
