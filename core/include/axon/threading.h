#pragma once
// CPU threads. axon's loops (OpenMP) and OpenBLAS share one pool of threads: with the OpenMP
// build of OpenBLAS (what scripts/ install) a GEMM runs on the same threads as our loops, so
// they never compete for cores. set_num_threads sizes that pool. See docs/threading.md.
#include <string>

#include "axon/export.h"

namespace axon {

// Threads for CPU ops (our loops and OpenBLAS). n >= 1, else ValueError.
AXON_API void set_num_threads(int n);
AXON_API int num_threads();
// One line: the pool size and how OpenBLAS is threaded ("openmp", "pthreads", "sequential").
AXON_API std::string threading_info();

}  // namespace axon
