#pragma once
// What the backends were asked to do, counted for the step checker (testing_hooks.h:
// axon::testing::backend_counts). A planned training step should request no device memory,
// make the host wait on no device, and run a known number of ops; these counters let every CPU
// test check that, and the same tests check it on CUDA where a GPU is present.
//
// Counted on every device alike, so that a CPU test sees what a GPU would wait for: a read of
// tensor values into host memory is a copy on the CPU and a synchronisation on CUDA. Relaxed
// atomic increments: nanoseconds beside ops of microseconds.
#include <atomic>
#include <cstdint>

namespace axon::detail {

struct BackendCounters {
  std::atomic<std::int64_t> ops{0};          // op calls into a backend (one may be several kernels)
  std::atomic<std::int64_t> allocations{0};  // requests to a backend's memory (cached blocks too)
  std::atomic<std::int64_t> host_waits{0};   // synchronize, and every read of tensor values to the host
  std::atomic<std::int64_t> uploads{0};      // copies of host memory into a tensor
};

BackendCounters& backend_counters();

inline void count(std::atomic<std::int64_t>& counter) { counter.fetch_add(1, std::memory_order_relaxed); }

}  // namespace axon::detail
