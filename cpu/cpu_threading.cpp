// One pool of CPU threads for our loops and OpenBLAS. See docs/threading.md.
#include <cblas.h>
#include <omp.h>

#include <atomic>

#include "axon/error.h"
#include "axon/threading.h"
#include "cpu/parallel.h"

namespace axon {

namespace cpu {

namespace {
// 0 until first asked: then OpenMP's default (OMP_NUM_THREADS, else one per core).
std::atomic<int> pool_size{0};
}  // namespace

// OpenMP's thread count is a per-thread setting; axon's is one number for the process, so a
// thread that never called set_num_threads still uses the pool size another thread set.
int pool_threads() {
  int size = pool_size.load(std::memory_order_relaxed);
  if (size == 0) {
    int expected = 0;
    pool_size.compare_exchange_strong(expected, omp_get_max_threads());
    size = pool_size.load(std::memory_order_relaxed);
  }
  return size;
}

void sync_openmp_threads() {
  const int size = pool_threads();
  if (omp_get_max_threads() != size) omp_set_num_threads(size);
}

}  // namespace cpu

namespace {
const char* blas_threading() {
  switch (openblas_get_parallel()) {
    case 0: return "sequential";
    case 1: return "pthreads";
    case 2: return "openmp";
    default: return "unknown";
  }
}
}  // namespace

void set_num_threads(int n) {
  if (n < 1) throw ValueError("axon::set_num_threads: needs n >= 1, got " + std::to_string(n));
  cpu::pool_size.store(n);
  omp_set_num_threads(n);
  // The OpenMP build of OpenBLAS follows omp_set_num_threads; a pthreads build has its own
  // pool, which we size the same so the two at least agree on how many cores there are.
  openblas_set_num_threads(n);
}

int num_threads() { return cpu::pool_threads(); }

std::string threading_info() {
  return "threads=" + std::to_string(num_threads()) + " openblas=" + blas_threading() + " (" +
         openblas_get_config() + ")";
}

}  // namespace axon
