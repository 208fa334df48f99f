// One pool of CPU threads for our loops and OpenBLAS. See docs/threading.md.
#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include "axon/cpu_gemm.h"
#include "axon/error.h"
#include "axon/threading.h"
#include "core/src/no_destructor.h"
#include "cpu/onednn_gemm.h"
#include "cpu/parallel.h"

namespace axon {

namespace cpu {

namespace {

// The pool size, and the thread count OpenBLAS settled on for it (it caps what it was built
// for). OpenBLAS keeps its thread count and per-thread buffers in globals that a GEMM reads
// and, when the caller's OpenMP setting differs, rewrites: changing them while another thread
// is inside a GEMM hung OpenBLAS or gave wrong products. So GEMMs hold `mutex` shared, a size
// change holds it exclusive, and every GEMM runs with the caller's OpenMP setting equal to
// OpenBLAS's own count, so no GEMM ever changes it.
struct Pool {
  std::shared_mutex mutex;
  // Set while a size change waits: new GEMMs hold back, so back-to-back GEMMs from several
  // threads cannot keep the shared lock taken forever (glibc's rwlock prefers readers).
  std::atomic<bool> change_pending{false};
  std::once_flag initialized;
  std::atomic<int> size{0};
  std::atomic<int> blas_threads{1};
};

Pool& pool() {
  static axon::detail::NoDestructor<Pool> instance;  // GEMMs may run from static destructors
  return instance.get();
}

// Under the exclusive lock (or before any GEMM can run): tell OpenBLAS, read back what it took.
void apply_size(Pool& p, int n) {
  p.size.store(n);
  openblas_set_num_threads(n);  // the OpenMP build also sets this thread's OpenMP count
  p.blas_threads.store(std::max(1, openblas_get_num_threads()));
}

Pool& initialized_pool() {
  Pool& p = pool();
  // The default is OpenMP's: OMP_NUM_THREADS, else one per core.
  std::call_once(p.initialized, [&] {
    std::unique_lock lock(p.mutex);
    apply_size(p, omp_get_max_threads());
  });
  return p;
}

}  // namespace

// OpenMP's thread count is a per-thread setting; axon's is one number for the process, so a
// thread that never called set_num_threads still uses the pool size another thread set.
int pool_threads() { return initialized_pool().size.load(std::memory_order_relaxed); }

BlasCall::BlasCall() {
  Pool& p = initialized_pool();
  while (p.change_pending.load(std::memory_order_acquire)) std::this_thread::yield();
  p.mutex.lock_shared();
  // The OpenMP build of OpenBLAS sizes its team from this thread's setting: make it OpenBLAS's.
  const int threads = p.blas_threads.load(std::memory_order_relaxed);
  if (omp_get_max_threads() != threads) omp_set_num_threads(threads);
}

BlasCall::~BlasCall() { pool().mutex.unlock_shared(); }

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
  cpu::Pool& p = cpu::initialized_pool();
  {
    p.change_pending.store(true, std::memory_order_release);  // new GEMMs wait for the change
    std::unique_lock lock(p.mutex);                            // running ones finish first
    cpu::apply_size(p, n);
    p.change_pending.store(false, std::memory_order_release);
  }
  omp_set_num_threads(n);
}

int num_threads() { return cpu::pool_threads(); }

std::string threading_info() {
  return "threads=" + std::to_string(num_threads()) + " gemm=" + cpu_gemm_name(cpu_gemm()) + " (" +
         cpu::onednn::describe() + ") openblas=" + blas_threading() + " (" + openblas_get_config() + ", kernel " +
         openblas_get_corename() + ")";
}

}  // namespace axon
