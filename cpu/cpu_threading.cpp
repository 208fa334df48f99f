// One pool of CPU threads for our loops and OpenBLAS. See docs/threading.md.
#include <cblas.h>
#include <omp.h>

#include "axon/error.h"
#include "axon/threading.h"

namespace axon {

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
  omp_set_num_threads(n);
  // The OpenMP build of OpenBLAS follows omp_set_num_threads; a pthreads build has its own
  // pool, which we size the same so the two at least agree on how many cores there are.
  openblas_set_num_threads(n);
}

int num_threads() { return omp_get_max_threads(); }

std::string threading_info() {
  return "threads=" + std::to_string(num_threads()) + " openblas=" + blas_threading() + " (" +
         openblas_get_config() + ")";
}

}  // namespace axon
