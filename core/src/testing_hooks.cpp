#include "core/src/testing_hooks.h"

#include "core/src/backend_counters.h"
#include "core/src/builtin_backends.h"

namespace axon::testing {

bool cuda_fail_one_runtime_call(int device) {
#if defined(AXON_WITH_CUDA)
  detail::cuda_fail_one_runtime_call(device);
  return true;
#else
  (void)device;
  return false;
#endif
}

bool cuda_context_active(int device) {
#if defined(AXON_WITH_CUDA)
  return detail::cuda_context_active(device);
#else
  (void)device;
  return false;
#endif
}

BackendCounts backend_counts() {
  const detail::BackendCounters& c = detail::backend_counters();
  return {c.ops.load(std::memory_order_relaxed), c.allocations.load(std::memory_order_relaxed),
          c.host_waits.load(std::memory_order_relaxed), c.uploads.load(std::memory_order_relaxed)};
}

}  // namespace axon::testing
