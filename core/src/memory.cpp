#include "axon/memory.h"

#include "axon/backend.h"

namespace axon {

MemoryStats memory_stats(Device device) { return backend_for(device)->memory_stats(); }

void release_cached_memory(Device device) { backend_for(device)->release_cached_memory(); }

}  // namespace axon
