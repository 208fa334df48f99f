#pragma once
// The layer registry: one table from a layer's type name to a function that builds it from its
// settings (LayerConfig). load_model reads a model file's layer list through it; the built-in
// layers register themselves, and a program registers its own layer types with one call:
//
//   axon::nn::register_layer("ResidualBlock", [](const axon::nn::LayerConfig& c) {
//     return std::make_unique<ResidualBlock>(c.integer("features", 1, 1 << 20), c.integer("hidden", 1, 1 << 20));
//   });
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "axon/export.h"
#include "axon/nn/layer.h"
#include "axon/nn/layer_config.h"

namespace axon::nn {

// Builds a layer from its settings; throws ValueError for settings it cannot take.
using LayerFactory = std::function<std::unique_ptr<Layer>(const LayerConfig&)>;
// How many values a layer of these settings would hold in its parameters and buffers, without
// building it: a model file's layer list is checked against the tensors the file holds before
// anything is allocated.
// Left empty for a type, load_model builds the layer and counts after.
using ParameterCount = std::function<std::int64_t(const LayerConfig&)>;

// Registers `type` (its Layer::type()); ValueError when the name is taken or empty.
AXON_API void register_layer(std::string type, LayerFactory make, ParameterCount count = {});
AXON_API bool is_registered(std::string_view type);
// Every registered type name, sorted.
AXON_API std::vector<std::string> registered_layers();

// A layer of `type` built from `config`; ValueError for a type nobody registered, or from the
// factory.
AXON_API std::unique_ptr<Layer> make_layer(std::string_view type, const LayerConfig& config);
// The parameter count `type`'s ParameterCount gives, or nothing when it has none.
AXON_API std::optional<std::int64_t> parameter_count(std::string_view type, const LayerConfig& config);

}  // namespace axon::nn
