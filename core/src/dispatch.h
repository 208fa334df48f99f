#pragma once
// How an op reaches its backend once its arguments are checked: a reference, no reference-count
// traffic (the registry outlives every caller, see backend_registry.cpp).
#include "axon/backend.h"
#include "core/src/backend_counters.h"

namespace axon::detail {

Backend& backend_of(Device device);

// The backend for one op call: counted (backend_counters.h).
inline Backend& op_backend(Device device) {
  count(backend_counters().ops);
  return backend_of(device);
}

}  // namespace axon::detail
