#pragma once
// What the recurrent layers (lstm.cpp, gru.cpp) share: their sizes' checks, parameters (PyTorch's
// names, shapes and init), settings and shapes, their registration, and the row maps.
//
// The row maps: the layers' input and output are
// batch-major (row n * T + t of [N * T, F]), their recurrence time-major (block t of `capacity`
// rows, row t * capacity + n), so that each step's rows are one contiguous block. Built once per
// (steps, capacity) by reserve, uploaded once; gather_rows moves between the layouts.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <cmath>
#include <cstdio>
#include <memory>

#include "axon/error.h"
#include "axon/nn/layer.h"
#include "axon/nn/registry.h"
#include "axon/ops.h"
#include "axon/tensor.h"

namespace axon::nn::detail {

// A size a model file may give: far beyond any real layer, small enough to allocate.
inline constexpr std::int64_t kMaxRecurrentSize = std::int64_t{1} << 20;

// `gates` blocks of hidden_size rows: weight_ih_l0 [gates H, input], weight_hh_l0 [gates H, H],
// bias_ih_l0 and bias_hh_l0 [gates H], as torch names them. ValueError naming `layer` for sizes
// outside [1, kMaxRecurrentSize].
struct RecurrentParameters {
  Parameter weight_ih, weight_hh, bias_ih, bias_hh;
};
inline RecurrentParameters make_recurrent_parameters(const char* layer, std::int64_t gates, std::int64_t input,
                                                     std::int64_t hidden, Device device) {
  if (input < 1 || hidden < 1 || input > kMaxRecurrentSize || hidden > kMaxRecurrentSize) {
    throw ValueError(std::string(layer) + ": needs input_size and hidden_size in [1, " + std::to_string(kMaxRecurrentSize) +
                     "], got " + std::to_string(input) + " and " + std::to_string(hidden));
  }
  const auto make = [device](const char* name, const Shape& shape) {
    return Parameter{name, Tensor::empty(shape, device), Tensor::zeros(shape, device)};
  };
  return {make("weight_ih_l0", {gates * hidden, input}), make("weight_hh_l0", {gates * hidden, hidden}),
          make("bias_ih_l0", {gates * hidden}), make("bias_hh_l0", {gates * hidden})};
}

// torch.nn.LSTM's and GRU's init: every weight and bias from U(-1/sqrt(H), 1/sqrt(H)).
inline void reset_recurrent_parameters(const std::vector<Parameter*>& parameters, std::int64_t hidden, Generator& generator) {
  const auto bound = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hidden)));
  for (Parameter* p : parameters) fill_uniform(p->value, -bound, bound, generator);
}

inline std::string recurrent_settings(std::int64_t input, std::int64_t hidden) {
  char text[64];
  std::snprintf(text, sizeof(text), "%lld -> %lld", static_cast<long long>(input), static_cast<long long>(hidden));
  return text;
}

// [N, T, input] -> [N, T, hidden], else ShapeError naming the layer ("LSTM(4 -> 8)").
inline Shape recurrent_output_shape(const std::string& layer, const Shape& input, std::int64_t input_size,
                                    std::int64_t hidden) {
  if (input.rank() != 3 || input[2] != input_size) {
    throw ShapeError(layer + ": input must be [batch, steps, " + std::to_string(input_size) + "], got " + input.str());
  }
  return Shape{input[0], input[1], hidden};
}

// Registers a layer type built as Layer(input_size, hidden_size), of `gates` blocks.
template <class Layer>
bool register_recurrent(const char* type, std::int64_t gates) {
  register_layer(
      type,
      [](const LayerConfig& c) {
        return std::make_unique<Layer>(c.integer("input_size", 1, kMaxRecurrentSize), c.integer("hidden_size", 1, kMaxRecurrentSize));
      },
      [gates](const LayerConfig& c) {
        const std::int64_t in = c.integer("input_size", 1, kMaxRecurrentSize), hidden = c.integer("hidden_size", 1, kMaxRecurrentSize);
        return gates * hidden * (in + hidden + 2);
      });
  return true;
}

struct SequenceRowMaps {
  Tensor to_time_major;   // int32 [T * capacity]: row t * capacity + n -> n * T + t
  Tensor to_batch_major;  // int32 [capacity * T]: row n * T + t -> t * capacity + n
};

// ShapeError naming `layer` when the rows (times `width` gate columns) pass int32's range.
inline SequenceRowMaps make_sequence_row_maps(std::int64_t steps, std::int64_t capacity, std::int64_t width,
                                              const std::string& layer, Device device) {
  if (steps * capacity * width > std::numeric_limits<std::int32_t>::max()) {
    throw ShapeError(layer + ": " + std::to_string(capacity) + " sequences of " + std::to_string(steps) +
                     " steps make more rows of gates than int32 row maps hold");
  }
  std::vector<std::int32_t> to_time(static_cast<std::size_t>(steps * capacity)), to_batch(to_time.size());
  for (std::int64_t t = 0; t < steps; ++t) {
    for (std::int64_t n = 0; n < capacity; ++n) {
      to_time[static_cast<std::size_t>(t * capacity + n)] = static_cast<std::int32_t>(n * steps + t);
      to_batch[static_cast<std::size_t>(n * steps + t)] = static_cast<std::int32_t>(t * capacity + n);
    }
  }
  return {Tensor::from_vector({steps * capacity}, std::span<const std::int32_t>(to_time), device),
          Tensor::from_vector({capacity * steps}, std::span<const std::int32_t>(to_batch), device)};
}

}  // namespace axon::nn::detail
