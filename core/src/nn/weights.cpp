#include "axon/nn/weights.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <variant>

#include "axon/error.h"
#include "axon/io/safetensors.h"
#include "axon/nn/dense.h"
#include "axon/nn/layers.h"
#include "core/src/io/json.h"

namespace axon::nn {

namespace {

std::string number_text(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.9g", value);
  return text;
}

// One layer as a JSON object: its type and what its constructor needs.
std::string describe(const Layer& layer) {
  std::string json = "{\"type\":" + io::json::quote(layer.type());
  const auto alpha = [&](ActivationParams params) {
    if (!std::isnan(params.alpha)) json += ",\"alpha\":" + number_text(params.alpha);
  };
  if (const auto* dense = dynamic_cast<const Dense*>(&layer)) {
    json += ",\"in\":" + std::to_string(dense->in_features()) + ",\"out\":" + std::to_string(dense->out_features()) +
            ",\"bias\":" + (dense->has_bias() ? "true" : "false") + ",\"activation\":" +
            io::json::quote(activation_name(dense->activation()));
  } else if (const auto* activation = dynamic_cast<const ActivationLayer*>(&layer)) {
    json += ",\"activation\":" + io::json::quote(activation_name(activation->kind()));
    alpha(activation->params());
  } else if (const auto* dropout = dynamic_cast<const Dropout*>(&layer)) {
    json += ",\"p\":" + number_text(dropout->p());
  }
  return json + "}";
}

void copy_weights(Sequential& model, const io::Safetensors& file);  // below

Activation activation_named(const std::filesystem::path& path, const std::string& name) {
  for (int k = 0; k < kActivationCount; ++k) {
    if (activation_name(static_cast<Activation>(k)) == name) return static_cast<Activation>(k);
  }
  throw FormatError("model file " + path.string() + ": unknown activation '" + name + "'");
}

}  // namespace

void save_weights(Sequential& model, const std::filesystem::path& path) {
  std::vector<io::NamedTensor> tensors;
  for (const NamedParameter& p : model.parameters().parameters()) tensors.push_back({p.name, p.parameter->value});
  std::string layers = "[";
  for (std::size_t i = 0; i < model.size(); ++i) {
    if (i > 0) layers += ',';
    layers += describe(model.layer(i));
  }
  layers += ']';
  io::save_safetensors(path, tensors, {{"format", "axon"}, {"format_version", "1"}, {"layers", layers}});
}

Sequential load_model(const std::filesystem::path& path, Device device) {
  const io::Safetensors file = io::load_safetensors(path);
  const auto fail = [&](const std::string& what) -> void { throw FormatError("model file " + path.string() + ": " + what); };
  const auto layers = file.metadata.find("layers");
  if (layers == file.metadata.end()) fail("no layer list in its metadata (build the model in code and use load_weights)");
  io::json::Value list;
  try {
    list = io::json::parse(layers->second);
  } catch (const FormatError& e) {
    fail(std::string("layer list: ") + e.what());
  }
  if (!list.is_array()) fail("the layer list is not a JSON array");
  // Parameters the list asks for may not exceed what the file holds: a few bytes of hostile
  // metadata must not allocate gigabytes before load_weights finds the tensors missing.
  std::int64_t file_elements = 0;
  for (const io::NamedTensor& t : file.tensors) file_elements += t.tensor.numel();
  std::int64_t listed_elements = 0;
  Sequential model;
  for (std::size_t i = 0; i < list.array().size(); ++i) {
    const io::json::Value& entry = list.array()[i];
    if (!entry.is_object()) fail("layer " + std::to_string(i) + " is not an object");
    std::map<std::string, const io::json::Value*> fields;
    for (const auto& [key, value] : entry.object()) fields[key] = &value;
    const auto text = [&](const char* key) {
      if (!fields.count(key) || !fields[key]->is_string()) fail("layer " + std::to_string(i) + " lacks the string '" + key + "'");
      return fields[key]->string();
    };
    const auto number = [&](const char* key) {
      if (!fields.count(key) || !fields[key]->is_number()) fail("layer " + std::to_string(i) + " lacks the number '" + key + "'");
      return fields[key]->number();
    };
    const std::string type = text("type");
    const auto whole = [&](const char* key) {
      const double value = number(key);
      if (!(value >= 1 && value <= 1e9) || std::floor(value) != value) fail("layer " + std::to_string(i) + ": bad '" + key + "'");
      return static_cast<std::int64_t>(value);
    };
    if (type == "Dense") {
      const bool bias = fields.count("bias") && std::holds_alternative<bool>(fields["bias"]->data) &&
                        std::get<bool>(fields["bias"]->data);
      const std::int64_t in = whole("in");
      const std::int64_t out = whole("out");
      // in, out <= 1e9: each term fits, and the sum stops growing once past the file.
      listed_elements += in * out + (bias ? out : 0);
      if (listed_elements > file_elements) {
        fail("layer " + std::to_string(i) + " (Dense " + std::to_string(in) + " -> " + std::to_string(out) +
             ") brings the layer list to " + std::to_string(listed_elements) + " parameters, the file holds " +
             std::to_string(file_elements));
      }
      model.add(Dense(in, out, DenseOptions{.bias = bias, .activation = activation_named(path, text("activation"))}));
    } else if (type == "Dropout") {
      model.add(Dropout(static_cast<float>(number("p"))));
    } else if (type == "Softmax") {
      model.add(Softmax());
    } else if (type == "LogSoftmax") {
      model.add(LogSoftmax());
    } else if (type == "Flatten") {
      model.add(Flatten());
    } else if (fields.count("activation")) {
      ActivationParams params;
      if (fields.count("alpha")) params.alpha = static_cast<float>(number("alpha"));
      model.add(ActivationLayer(activation_named(path, text("activation")), params));
    } else {
      fail("layer " + std::to_string(i) + " is of type '" + type +
           "', which axon cannot rebuild (build the model in code and use load_weights)");
    }
  }
  model.to(device);
  copy_weights(model, file);  // the file as read above: read once, whatever replaces it meanwhile
  return model;
}

namespace {

// The file's tensors into the model's parameters, strictly (every parameter present with its
// dtype and shape, nothing extra), checked before anything changes: a failed load changes
// nothing. Names are matched through sorted tables (a file of a million empty tensors must
// not take n^2 string comparisons).
void copy_weights(Sequential& model, const io::Safetensors& file) {
  const std::filesystem::path& path = file.path;
  const auto& parameters = model.parameters().parameters();
  std::map<std::string_view, const Tensor*> by_name;
  for (const io::NamedTensor& t : file.tensors) by_name.emplace(t.name, &t.tensor);
  std::vector<const Tensor*> sources;
  for (const NamedParameter& p : parameters) {
    const auto found = by_name.find(p.name);
    if (found == by_name.end()) {
      throw FormatError("safetensors file " + path.string() + ": has no tensor named '" + p.name + "'");
    }
    const Tensor& source = *found->second;
    if (source.dtype() != p.parameter->value.dtype() || source.shape() != p.parameter->value.shape()) {
      throw FormatError("safetensors file " + path.string() + ": tensor '" + p.name + "' is " + source.describe() +
                        ", the model's is " + p.parameter->value.describe());
    }
    sources.push_back(&source);
  }
  if (file.tensors.size() > parameters.size()) {  // names are unique, so one is not a parameter
    std::map<std::string_view, bool> known;
    for (const NamedParameter& p : parameters) known.emplace(p.name, true);
    for (const io::NamedTensor& t : file.tensors) {
      if (!known.count(t.name)) {
        throw FormatError("safetensors file " + path.string() + ": tensor '" + t.name +
                          "' is not a parameter of the model (its parameters are named 0.weight, 0.bias, ...)");
      }
    }
  }
  for (std::size_t i = 0; i < parameters.size(); ++i) parameters[i].parameter->value.copy_from(*sources[i]);
}

}  // namespace

void load_weights(Sequential& model, const std::filesystem::path& path) {
  copy_weights(model, io::load_safetensors(path, model.device()));
}

}  // namespace axon::nn
