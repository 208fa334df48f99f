#pragma once
// A layer's settings: every argument its constructor needs, by name. Model files store it (as
// JSON beside the layer's type) and the layer registry (nn/registry.h) builds a layer back from
// it, so a model reloads with exactly the settings it was saved with.
//
//   LayerConfig config;
//   config.set("in", 784).set("out", 256).set("bias", true).set("activation", "relu");
//   config.integer("in", 1, 1'000'000'000);   // 784; ValueError naming the key otherwise
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "axon/export.h"

namespace axon::nn {

class AXON_API LayerConfig {
 public:
  using Value = std::variant<bool, std::int64_t, double, std::string, std::vector<std::int64_t>>;

  // One overload per type, so that no argument converts to another kind (a bool to an integer,
  // a double to a float).
  LayerConfig& set(std::string key, Value value);
  LayerConfig& set(std::string key, bool value) { return set(std::move(key), Value(value)); }
  LayerConfig& set(std::string key, int value) { return set(std::move(key), Value(std::int64_t{value})); }
  LayerConfig& set(std::string key, long value) { return set(std::move(key), Value(std::int64_t{value})); }
  LayerConfig& set(std::string key, long long value) { return set(std::move(key), Value(std::int64_t{value})); }
  LayerConfig& set(std::string key, float value) { return set(std::move(key), Value(static_cast<double>(value))); }
  LayerConfig& set(std::string key, double value) { return set(std::move(key), Value(value)); }
  LayerConfig& set(std::string key, const char* value) { return set(std::move(key), Value(std::string(value))); }
  LayerConfig& set(std::string key, std::string value) { return set(std::move(key), Value(std::move(value))); }
  LayerConfig& set(std::string key, std::vector<std::int64_t> value) {
    return set(std::move(key), Value(std::move(value)));
  }

  bool has(std::string_view key) const { return values_.find(key) != values_.end(); }
  const std::map<std::string, Value, std::less<>>& values() const { return values_; }
  bool empty() const { return values_.empty(); }

  // Typed reads. Each throws ValueError naming the key when it is missing, holds another type,
  // or lies outside the given range; the *_or forms give `fallback` for a missing key.
  bool boolean(std::string_view key) const;
  bool boolean_or(std::string_view key, bool fallback) const;
  std::int64_t integer(std::string_view key, std::int64_t low, std::int64_t high) const;
  double number(std::string_view key) const;  // an integer reads as a number too
  double number_or(std::string_view key, double fallback) const;
  const std::string& text(std::string_view key) const;
  std::string text_or(std::string_view key, std::string_view fallback) const;
  const std::vector<std::int64_t>& integers(std::string_view key) const;
  // Two integers in [low, high] (a kernel size, a stride: torch's (h, w) pairs); `fallback` for a
  // missing key.
  std::array<std::int64_t, 2> integer_pair(std::string_view key, std::array<std::int64_t, 2> fallback,
                                           std::int64_t low, std::int64_t high) const;

  bool operator==(const LayerConfig&) const = default;

 private:
  const Value& at(std::string_view key) const;
  std::map<std::string, Value, std::less<>> values_;
};

}  // namespace axon::nn
