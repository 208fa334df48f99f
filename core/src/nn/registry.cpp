#include "axon/nn/registry.h"

#include <map>
#include <mutex>
#include <optional>

#include "axon/error.h"
#include "core/src/no_destructor.h"

namespace axon::nn {

namespace {

struct Entry {
  LayerFactory make;
  ParameterCount count;
};

// Built on first use: the built-in layers register from their files' static initializers, in an
// order C++ does not fix.
struct Registry {
  std::mutex mutex;
  std::map<std::string, Entry, std::less<>> entries;
};

Registry& registry() {
  static detail::NoDestructor<Registry> instance;
  return instance.get();
}

Entry find(std::string_view type) {
  Registry& r = registry();
  const std::lock_guard lock(r.mutex);
  const auto it = r.entries.find(type);
  if (it == r.entries.end()) {
    throw ValueError("no layer type '" + std::string(type) + "' is registered (axon::nn::register_layer)");
  }
  return it->second;
}

}  // namespace

void register_layer(std::string type, LayerFactory make, ParameterCount count) {
  if (type.empty()) throw ValueError("register_layer: the type name is empty");
  if (!make) throw ValueError("register_layer: no factory for '" + type + "'");
  Registry& r = registry();
  const std::lock_guard lock(r.mutex);
  if (r.entries.count(type) != 0) throw ValueError("register_layer: '" + type + "' is registered already");
  r.entries.emplace(std::move(type), Entry{std::move(make), std::move(count)});
}

bool is_registered(std::string_view type) {
  Registry& r = registry();
  const std::lock_guard lock(r.mutex);
  return r.entries.find(type) != r.entries.end();
}

std::vector<std::string> registered_layers() {
  Registry& r = registry();
  const std::lock_guard lock(r.mutex);
  std::vector<std::string> names;
  for (const auto& [name, entry] : r.entries) names.push_back(name);
  return names;
}

std::unique_ptr<Layer> make_layer(std::string_view type, const LayerConfig& config) {
  const Entry entry = find(type);  // a copy: the factory runs outside the lock
  std::unique_ptr<Layer> layer = entry.make(config);
  if (!layer) throw ValueError("the factory of layer type '" + std::string(type) + "' returned nothing");
  return layer;
}

std::optional<std::int64_t> parameter_count(std::string_view type, const LayerConfig& config) {
  const Entry entry = find(type);
  if (!entry.count) return std::nullopt;
  return entry.count(config);
}

}  // namespace axon::nn
