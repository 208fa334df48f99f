#pragma once
// How much device memory axon holds. On CUDA devices axon keeps freed blocks in a cache and hands
// them out again (no cudaMalloc/cudaFree in a training loop); release_cached_memory() returns the
// cached blocks to the driver, e.g. before handing the GPU to another library.
#include <cstddef>

#include "axon/device.h"
#include "axon/export.h"

namespace axon {

struct MemoryStats {
  std::size_t live_bytes = 0;    // held by live tensors (and scratch), as allocated
  std::size_t peak_bytes = 0;    // the largest live_bytes since the device was first used
  std::size_t cached_bytes = 0;  // freed blocks kept for reuse
};

// Throws DeviceError (one sentence) when the device is not present.
AXON_API MemoryStats memory_stats(Device device);
// Returns cached, unused blocks to the driver (a no-op where nothing is cached).
AXON_API void release_cached_memory(Device device);

}  // namespace axon
