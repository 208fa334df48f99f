#pragma once
// Counts heap allocations (operator new) while a flag is set. Include it in exactly one source
// file of a test executable: it replaces the global operator new and delete of the whole
// program, libaxon.so's calls included.
#include <atomic>
#include <cstdlib>
#include <new>

namespace axon_test::alloc_detail {
inline std::atomic<bool> counting{false};
inline std::atomic<long> allocations{0};
}  // namespace axon_test::alloc_detail

// These replace the global operators: memory from malloc, returned with free. (GCC cannot see
// that the pair matches and warns; the warning is about mixing, which this is not.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t bytes) {
  if (axon_test::alloc_detail::counting.load(std::memory_order_relaxed)) {
    axon_test::alloc_detail::allocations.fetch_add(1, std::memory_order_relaxed);
  }
  if (void* p = std::malloc(bytes == 0 ? 1 : bytes)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t bytes) { return operator new(bytes); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace axon_test {

// The heap allocations `step` makes.
template <class F>
long allocations_of(F&& step) {
  alloc_detail::allocations.store(0);
  alloc_detail::counting.store(true);
  step();
  alloc_detail::counting.store(false);
  return alloc_detail::allocations.load();
}

}  // namespace axon_test
