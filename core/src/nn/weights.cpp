#include "axon/nn/weights.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <variant>

#include "axon/error.h"
#include "axon/io/safetensors.h"
#include "axon/nn/registry.h"
#include "core/src/io/json.h"
#include "core/src/nn/buffer_check.h"
#include "core/src/nn/layer_list.h"

namespace axon::nn {

namespace {

// The layer list's format: 2 stores {"type": T, "config": {...}} per layer; 1 (before the
// registry) stored the settings beside the type, which reads the same way.
constexpr const char* kFormatVersion = "2";

std::string number_text(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.17g", value);  // round-trips every double (and float)
  return text;
}

std::string json_of(const LayerConfig::Value& value, const std::string& where) {
  return std::visit(
      [&](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          return std::to_string(v);
        } else if constexpr (std::is_same_v<T, double>) {
          if (!std::isfinite(v)) throw ValueError("save_weights: " + where + " is not finite and cannot be stored");
          return number_text(v);
        } else if constexpr (std::is_same_v<T, std::string>) {
          return io::json::quote(v);
        } else {
          std::string list = "[";  // piece by piece: GCC 12 warns falsely on "," + string
          for (std::size_t i = 0; i < v.size(); ++i) {
            if (i > 0) list += ',';
            list += std::to_string(v[i]);
          }
          return list + "]";
        }
      },
      value);
}

std::string describe(const Layer& layer, std::size_t index) {
  std::string json = "{\"type\":" + io::json::quote(layer.type()) + ",\"config\":{";
  bool first = true;
  const LayerConfig config = layer.config();  // (a temporary's values() would dangle in the loop)
  for (const auto& [key, value] : config.values()) {
    if (!first) json += ',';
    json += io::json::quote(key) + ":" + json_of(value, "setting '" + key + "' of layer " + std::to_string(index));
    first = false;
  }
  return json + "}}";
}

// A JSON value as a layer setting: whole numbers (up to 2^53) as integers, other numbers as
// numbers, strings, booleans, lists of whole numbers.
LayerConfig::Value setting_of(const io::json::Value& value, const std::string& key) {
  const auto whole = [](double d) { return std::floor(d) == d && std::abs(d) <= 9007199254740992.0; };
  if (const bool* b = std::get_if<bool>(&value.data)) return *b;
  if (value.is_number()) {
    const double d = value.number();
    if (whole(d)) return static_cast<std::int64_t>(d);
    return d;
  }
  if (value.is_string()) return value.string();
  if (value.is_array()) {
    std::vector<std::int64_t> list;
    for (const io::json::Value& item : value.array()) {
      if (!item.is_number() || !whole(item.number())) throw ValueError("layer setting '" + key + "': a list of whole numbers");
      list.push_back(static_cast<std::int64_t>(item.number()));
    }
    return list;
  }
  throw ValueError("layer setting '" + key + "' is neither a boolean, a number, a string nor a list");
}

void copy_weights(Sequential& model, const io::Safetensors& file);  // below

}  // namespace

std::string layer_list_json(const Sequential& model) {
  std::string layers = "[";
  for (std::size_t i = 0; i < model.size(); ++i) {
    if (i > 0) layers += ',';
    layers += describe(model.layer(i), i);
  }
  return layers + "]";
}

void save_weights(Sequential& model, const std::filesystem::path& path) {
  std::vector<io::NamedTensor> tensors;
  for (const NamedParameter& p : model.parameters().parameters()) tensors.push_back({p.name, p.parameter->value});
  for (const NamedBuffer& b : model.buffers()) tensors.push_back({b.name, b.buffer->value});
  std::map<std::string, std::string> metadata{
      {"format", "axon"}, {"format_version", kFormatVersion}, {"layers", layer_list_json(model)}};
  if (const auto input = model.sample_input()) {
    std::string dims = "[";
    for (int axis = 0; axis < input->rank(); ++axis) {
      if (axis > 0) dims += ',';
      dims += std::to_string((*input)[axis]);
    }
    metadata["input_shape"] = dims + "]";
  }
  io::save_safetensors(path, tensors, metadata);
}

Sequential load_model(const std::filesystem::path& path, Device device) {
  const io::Safetensors file = io::load_safetensors(path);
  const auto fail = [&](const std::string& what) { throw FormatError("model file " + path.string() + ": " + what); };
  if (const auto version = file.metadata.find("format_version");
      version != file.metadata.end() && version->second != "1" && version->second != kFormatVersion) {
    fail("format version '" + version->second + "' is not one this axon reads (1 or 2)");
  }
  const auto layers = file.metadata.find("layers");
  if (layers == file.metadata.end()) fail("no layer list in its metadata (build the model in code and use load_weights)");
  io::json::Value list;
  try {
    list = io::json::parse(layers->second);
  } catch (const FormatError& e) {
    fail(std::string("layer list: ") + e.what());
  }
  if (!list.is_array()) fail("the layer list is not a JSON array");
  // The parameters the list asks for may not exceed what the file holds: a few bytes of hostile
  // metadata must not allocate gigabytes before the tensors turn out missing.
  std::int64_t file_elements = 0;
  for (const io::NamedTensor& t : file.tensors) file_elements += t.tensor.numel();
  std::int64_t listed = 0;
  Sequential model;
  for (std::size_t i = 0; i < list.array().size(); ++i) {
    const io::json::Value& entry = list.array()[i];
    const std::string at = "layer " + std::to_string(i);
    if (!entry.is_object()) fail(at + " is not an object");
    std::string type;
    LayerConfig config;
    const io::json::Value* settings = nullptr;
    for (const auto& [key, value] : entry.object()) {
      if (key == "type") {
        if (!value.is_string()) fail(at + ": its type is not a string");
        type = value.string();
      } else if (key == "config") {
        settings = &value;
      }
    }
    if (type.empty()) fail(at + " has no type");
    if (!is_registered(type)) {
      fail(at + " is of type '" + type + "', which no one registered (axon::nn::register_layer; or build the model "
                "in code and use load_weights)");
    }
    const std::string where = at + " (" + type + ")";
    try {
      // Format 2 keeps the settings under "config"; format 1 beside the type.
      const io::json::Object* fields = nullptr;
      if (settings != nullptr) {
        if (!settings->is_object()) fail(where + ": its config is not an object");
        fields = &settings->object();
      } else {
        fields = &entry.object();
      }
      for (const auto& [key, value] : *fields) {
        if (settings == nullptr && key == "type") continue;
        config.set(key, setting_of(value, key));
      }
      if (const auto count = parameter_count(type, config)) {
        listed += *count;
        if (*count < 0 || listed > file_elements) {
          fail(where + " brings the layer list to " + std::to_string(listed) + " parameters, the file holds " +
               std::to_string(file_elements));
        }
      }
      std::unique_ptr<Layer> layer = make_layer(type, config);
      if (!parameter_count(type, config)) {
        for (const NamedParameter& p : named_parameters(*layer)) listed += p.parameter->value.numel();
        for (const NamedBuffer& b : named_buffers(*layer)) listed += b.buffer->value.numel();
        if (listed > file_elements) fail(where + " has more parameters than the file holds");
      }
      model.add(std::move(layer));
    } catch (const FormatError&) {
      throw;
    } catch (const Error& e) {
      fail(where + ": " + e.what());
    }
  }
  if (model.size() == 0) fail("the layer list is empty");
  // The layers must chain: from the input shape the file gives, else the first layer that fixes
  // one (a Dense's [in]).
  std::optional<Shape> input;
  if (const auto given = file.metadata.find("input_shape"); given != file.metadata.end()) {
    io::json::Value dims;
    try {
      dims = io::json::parse(given->second);
    } catch (const FormatError& e) {
      fail(std::string("input_shape: ") + e.what());
    }
    if (!dims.is_array() || dims.array().size() + 1 > static_cast<std::size_t>(Shape::kMaxRank)) {
      fail("input_shape is not a list of at most 7 sizes");
    }
    std::vector<std::int64_t> shape{1};
    for (const io::json::Value& d : dims.array()) {
      if (!d.is_number() || !(d.number() >= 0 && d.number() <= 1e9) || std::floor(d.number()) != d.number()) {
        fail("input_shape holds a size that is not a whole number in [0, 1e9]");
      }
      shape.push_back(static_cast<std::int64_t>(d.number()));
    }
    input = Shape(std::span<const std::int64_t>(shape));
  } else if (const auto first = model.layer(0).sample_input()) {
    std::vector<std::int64_t> shape{1};
    for (const std::int64_t d : first->dims()) shape.push_back(d);
    input = Shape(std::span<const std::int64_t>(shape));
  }
  if (input) {
    try {
      (void)model.output_shape(*input);
    } catch (const ShapeError& e) {
      fail(std::string("its layers do not chain: ") + e.what());
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
  // What the file must hold: every parameter and every buffer, by name.
  std::vector<std::pair<std::string_view, Tensor*>> targets;
  for (const NamedParameter& p : model.parameters().parameters()) targets.emplace_back(p.name, &p.parameter->value);
  for (const NamedBuffer& b : model.buffers()) targets.emplace_back(b.name, &b.buffer->value);
  std::map<std::string_view, const Tensor*> by_name;
  for (const io::NamedTensor& t : file.tensors) by_name.emplace(t.name, &t.tensor);
  std::vector<const Tensor*> sources;
  for (const auto& [name, target] : targets) {
    const auto found = by_name.find(name);
    if (found == by_name.end()) {
      throw FormatError("safetensors file " + path.string() + ": has no tensor named '" + std::string(name) + "'");
    }
    const Tensor& source = *found->second;
    if (source.dtype() != target->dtype() || source.shape() != target->shape()) {
      throw FormatError("safetensors file " + path.string() + ": tensor '" + std::string(name) + "' is " +
                        source.describe() + ", the model's is " + target->describe());
    }
    sources.push_back(&source);
  }
  if (file.tensors.size() > targets.size()) {  // names are unique, so one is not the model's
    std::map<std::string_view, bool> known;
    for (const auto& [name, target] : targets) known.emplace(name, true);
    for (const io::NamedTensor& t : file.tensors) {
      if (!known.count(t.name)) {
        throw FormatError("safetensors file " + path.string() + ": tensor '" + t.name +
                          "' is not a parameter or buffer of the model (its parameters are named 0.weight, 0.bias, ...)");
      }
    }
  }
  const std::size_t parameter_count = model.parameters().parameters().size();
  detail::check_buffer_values(model, std::vector<const Tensor*>(sources.begin() + static_cast<std::ptrdiff_t>(parameter_count), sources.end()),
                              "safetensors file " + path.string());
  for (std::size_t i = 0; i < targets.size(); ++i) targets[i].second->copy_from(*sources[i]);
  for (std::size_t i = 0; i < model.size(); ++i) model.layer(i).on_buffers_loaded();
}

}  // namespace

namespace detail {

void check_buffer_values(Sequential& model, const std::vector<const Tensor*>& values, const std::string& where) {
  const std::vector<NamedBuffer> buffers = model.buffers();
  if (buffers.empty()) return;
  std::vector<Tensor> own;
  for (const NamedBuffer& b : buffers) own.push_back(b.buffer->value.clone());
  const auto put_back = [&] {
    for (std::size_t i = 0; i < buffers.size(); ++i) buffers[i].buffer->value.copy_from(own[i]);
    for (std::size_t i = 0; i < model.size(); ++i) model.layer(i).on_buffers_loaded();
  };
  try {
    for (std::size_t i = 0; i < buffers.size(); ++i) buffers[i].buffer->value.copy_from(*values.at(i));
    for (std::size_t i = 0; i < model.size(); ++i) model.layer(i).on_buffers_loaded();
  } catch (const Error& e) {
    put_back();
    throw FormatError(where + ": " + e.what());
  }
  put_back();
}

}  // namespace detail

void load_weights(Sequential& model, const std::filesystem::path& path) {
  copy_weights(model, io::load_safetensors(path, model.device()));
}

}  // namespace axon::nn
