#pragma once
// Hooks for axon's own tests: exported from libaxon.so, not installed, not for users. They reach
// states the public API cannot produce on purpose (a failed CUDA runtime call).
#include <cstdint>

#include "axon/export.h"

namespace axon::testing {

// Makes one CUDA runtime call on `device` fail through the backend's own error check, and
// swallows the BackendError it throws: afterwards no stale status may remain for the next op.
// Returns false when there is no CUDA backend.
AXON_API bool cuda_fail_one_runtime_call(int device);
// Whether the CUDA primary context of `device` exists (false without a CUDA backend).
AXON_API bool cuda_context_active(int device);

// oneDNN executions of the CPU backend so far, and how many run right now (on any thread). oneDNN
// allocates its own argument map on the heap in every execution (cpu/onednn_gemm.cpp); the
// allocation-counting tests use these to tell its allocations from axon's.
AXON_API std::int64_t cpu_engine_executions();
AXON_API int cpu_engine_running();

// The backend counters (core/src/backend_counters.h) since the process started, over all
// devices and threads: op calls into a backend, requests for device memory, host waits
// (synchronize and every read of tensor values to the host, on the CPU too) and uploads.
// The step checker (tests/step_checker.h) takes differences around a step.
struct BackendCounts {
  std::int64_t ops = 0, allocations = 0, host_waits = 0, uploads = 0;
};
AXON_API BackendCounts backend_counts();

}  // namespace axon::testing
