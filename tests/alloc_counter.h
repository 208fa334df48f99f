#pragma once
// Counts heap allocations (operator new) while a flag is set. Include it in exactly one source
// file of a test executable: it replaces the global operator new and delete of the whole
// program, libaxon.so's and its libraries' calls included.
//
// oneDNN allocates its own argument map in every primitive execution (cpu/onednn_gemm.cpp says
// why no caller can avoid it): allocations made while an execution runs are counted apart, so
// the tests can hold axon's own code to zero and oneDNN's to a bound per execution.
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>

#include "axon/cpu_gemm.h"
#include "core/src/testing_hooks.h"

namespace axon_test::alloc_detail {
inline std::atomic<bool> counting{false};
inline std::atomic<long> allocations{0};
inline std::atomic<long> engine_allocations{0};
}  // namespace axon_test::alloc_detail

// These replace the global operators: memory from malloc, returned with free. (GCC cannot see
// that the pair matches and warns; the warning is about mixing, which this is not.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t bytes) {
  if (axon_test::alloc_detail::counting.load(std::memory_order_relaxed)) {
    (axon::testing::cpu_engine_running() > 0 ? axon_test::alloc_detail::engine_allocations
                                             : axon_test::alloc_detail::allocations)
        .fetch_add(1, std::memory_order_relaxed);
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

// oneDNN 2.6 makes 6-7 allocations per execution (one node per argument, the bucket array):
// more than this means it allocates for something else (a primitive made inside a step).
inline constexpr long kEngineAllocationsPerExecution = 8;

struct Allocations {
  long own = 0;                 // made outside oneDNN's executions: axon's own, must be 0
  long engine = 0;              // made inside them
  std::int64_t executions = 0;  // oneDNN executions
};

// The heap allocations `step` makes.
template <class F>
Allocations count_allocations(F&& step) {
  alloc_detail::allocations.store(0);
  alloc_detail::engine_allocations.store(0);
  const std::int64_t executions_before = axon::testing::cpu_engine_executions();
  alloc_detail::counting.store(true);
  step();
  alloc_detail::counting.store(false);
  return {alloc_detail::allocations.load(), alloc_detail::engine_allocations.load(),
          axon::testing::cpu_engine_executions() - executions_before};
}

// Sets the CPU GEMM library for a scope, then restores the one before.
class CpuGemmScope {
 public:
  explicit CpuGemmScope(axon::CpuGemm engine) : saved_(axon::cpu_gemm()) { axon::set_cpu_gemm(engine); }
  ~CpuGemmScope() { axon::set_cpu_gemm(saved_); }
  CpuGemmScope(const CpuGemmScope&) = delete;
  CpuGemmScope& operator=(const CpuGemmScope&) = delete;

 private:
  axon::CpuGemm saved_;
};

// All the heap allocations `step` makes, oneDNN's included.
template <class F>
long allocations_of(F&& step) {
  const Allocations counted = count_allocations(step);
  return counted.own + counted.engine;
}

}  // namespace axon_test
