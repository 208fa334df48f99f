#pragma once
// The step checker: what a piece of work (one training step, say) asked of the backends, from
// the counters every backend call passes (core/src/backend_counters.h). A planned step should
// show no allocations, no host waits and no uploads, and the op count its layers add up to;
// counted alike on every device, so a CPU test sees what a GPU would wait for.
#include <ostream>

#include "core/src/testing_hooks.h"

namespace axon_test {

struct BackendCounts {
  std::int64_t ops = 0, allocations = 0, host_waits = 0, uploads = 0;
  friend bool operator==(const BackendCounts&, const BackendCounts&) = default;
  friend std::ostream& operator<<(std::ostream& out, const BackendCounts& c) {
    return out << "{ops " << c.ops << ", allocations " << c.allocations << ", host waits " << c.host_waits
               << ", uploads " << c.uploads << "}";
  }
};

inline BackendCounts backend_counts_now() {
  const axon::testing::BackendCounts c = axon::testing::backend_counts();
  return {c.ops, c.allocations, c.host_waits, c.uploads};
}

inline BackendCounts difference(const BackendCounts& after, const BackendCounts& before) {
  return {after.ops - before.ops, after.allocations - before.allocations, after.host_waits - before.host_waits,
          after.uploads - before.uploads};
}

// The counts of what `work` asked of the backends (on this thread and any other meanwhile).
template <class Work>
BackendCounts count_backend(Work&& work) {
  const BackendCounts before = backend_counts_now();
  work();
  return difference(backend_counts_now(), before);
}

}  // namespace axon_test
