#include "axon/nn/layer_config.h"

#include <cmath>

#include "axon/error.h"

namespace axon::nn {

namespace {
const char* kind_of(const LayerConfig::Value& value) {
  switch (value.index()) {
    case 0: return "a boolean";
    case 1: return "an integer";
    case 2: return "a number";
    case 3: return "a string";
    default: return "a list of integers";
  }
}

[[noreturn]] void wrong(std::string_view key, const char* wanted, const LayerConfig::Value& value) {
  throw ValueError("layer setting '" + std::string(key) + "' must be " + wanted + ", it is " + kind_of(value));
}
}  // namespace

LayerConfig& LayerConfig::set(std::string key, Value value) {
  values_.insert_or_assign(std::move(key), std::move(value));
  return *this;
}

const LayerConfig::Value& LayerConfig::at(std::string_view key) const {
  const auto it = values_.find(key);
  if (it == values_.end()) throw ValueError("layer setting '" + std::string(key) + "' is missing");
  return it->second;
}

bool LayerConfig::boolean(std::string_view key) const {
  const Value& value = at(key);
  if (const bool* b = std::get_if<bool>(&value)) return *b;
  wrong(key, "a boolean", value);
}

bool LayerConfig::boolean_or(std::string_view key, bool fallback) const { return has(key) ? boolean(key) : fallback; }

std::int64_t LayerConfig::integer(std::string_view key, std::int64_t low, std::int64_t high) const {
  const Value& value = at(key);
  const std::int64_t* i = std::get_if<std::int64_t>(&value);
  if (i == nullptr) wrong(key, "an integer", value);
  if (*i < low || *i > high) {
    throw ValueError("layer setting '" + std::string(key) + "' is " + std::to_string(*i) + ", outside [" +
                     std::to_string(low) + ", " + std::to_string(high) + "]");
  }
  return *i;
}

double LayerConfig::number(std::string_view key) const {
  const Value& value = at(key);
  if (const double* d = std::get_if<double>(&value)) return *d;
  if (const std::int64_t* i = std::get_if<std::int64_t>(&value)) return static_cast<double>(*i);
  wrong(key, "a number", value);
}

double LayerConfig::number_or(std::string_view key, double fallback) const { return has(key) ? number(key) : fallback; }

const std::string& LayerConfig::text(std::string_view key) const {
  const Value& value = at(key);
  if (const std::string* s = std::get_if<std::string>(&value)) return *s;
  wrong(key, "a string", value);
}

std::string LayerConfig::text_or(std::string_view key, std::string_view fallback) const {
  return has(key) ? text(key) : std::string(fallback);
}

const std::vector<std::int64_t>& LayerConfig::integers(std::string_view key) const {
  const Value& value = at(key);
  if (const auto* list = std::get_if<std::vector<std::int64_t>>(&value)) return *list;
  wrong(key, "a list of integers", value);
}

std::array<std::int64_t, 2> LayerConfig::integer_pair(std::string_view key, std::array<std::int64_t, 2> fallback,
                                                      std::int64_t low, std::int64_t high) const {
  if (!has(key)) return fallback;
  const std::vector<std::int64_t>& values = integers(key);
  if (values.size() != 2 || values[0] < low || values[0] > high || values[1] < low || values[1] > high) {
    throw ValueError("layer setting '" + std::string(key) + "' must be two integers in [" + std::to_string(low) +
                     ", " + std::to_string(high) + "]");
  }
  return {values[0], values[1]};
}

}  // namespace axon::nn
