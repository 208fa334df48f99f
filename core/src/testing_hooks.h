#pragma once
// Hooks for axon's own tests: exported from libaxon.so, not installed, not for users. They reach
// states the public API cannot produce on purpose (a failed CUDA runtime call).
#include "axon/export.h"

namespace axon::testing {

// Makes one CUDA runtime call on `device` fail through the backend's own error check, and
// swallows the BackendError it throws: afterwards no stale status may remain for the next op.
// Returns false when there is no CUDA backend.
AXON_API bool cuda_fail_one_runtime_call(int device);
// Whether the CUDA primary context of `device` exists (false without a CUDA backend).
AXON_API bool cuda_context_active(int device);

}  // namespace axon::testing
