#pragma once
// Host-side requests that a file or an argument sizes (a confusion matrix of N classes, a
// decompressed stream): refused as OutOfMemory before they are made when the machine cannot
// hold them, instead of std::bad_alloc or a process killed later for touching the pages.
#include <cstddef>
#include <string>

namespace axon::detail {

// The machine's physical memory in bytes (0 where it cannot be told).
std::size_t physical_memory_bytes();

// Throws OutOfMemory "<what> would need N bytes, more than the machine's M" when `bytes`
// (computed in long double: products of counts may pass 2^64) exceed physical memory.
void check_host_request(const std::string& what, long double bytes);

}  // namespace axon::detail
