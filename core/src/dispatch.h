#pragma once
// How an op reaches its backend once its arguments are checked: a reference, no reference-count
// traffic (the registry outlives every caller, see backend_registry.cpp).
#include "axon/backend.h"

namespace axon::detail {

Backend& backend_of(Device device);

}  // namespace axon::detail
