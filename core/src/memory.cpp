#include "axon/memory.h"

#include <unistd.h>

#include <cstdint>
#include <cstdio>

#include "axon/backend.h"
#include "axon/error.h"
#include "core/src/host_memory.h"

namespace axon {

MemoryStats memory_stats(Device device) { return backend_for(device)->memory_stats(); }

void release_cached_memory(Device device) { backend_for(device)->release_cached_memory(); }

namespace detail {

std::size_t physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page_size > 0 ? static_cast<std::size_t>(pages) * static_cast<std::size_t>(page_size) : 0;
}

void check_host_request(const std::string& what, long double bytes) {
  const std::size_t physical = physical_memory_bytes();
  if (physical == 0 || bytes <= static_cast<long double>(physical)) return;
  char text[64];
  std::snprintf(text, sizeof(text), "%.0Lf", bytes);
  throw OutOfMemory(what + " would need " + text + " bytes, more than the machine's " + std::to_string(physical),
                    bytes > static_cast<long double>(SIZE_MAX) ? SIZE_MAX : static_cast<std::size_t>(bytes), physical);
}

}  // namespace detail

}  // namespace axon
