#pragma once
// Which library runs the CPU backend's matrix products (gemm, matmul and the Dense forward).
// oneDNN picks its kernels by the CPU's features at run time; OpenBLAS picks one from the CPU
// models it knows, and Debian's 0.3.21 falls back to generic SSE3 code on CPUs newer than it.
// Both run on the one OpenMP pool (docs/threading.md).
#include <string>

#include "axon/export.h"

namespace axon {

enum class CpuGemm {
  kOneDnn,    // oneDNN's matmul primitive, made once per shape and cached (the default)
  kOpenBlas,  // OpenBLAS's cblas_sgemm
};

// For the whole process, from the next product on. The default is AXON_CPU_GEMM from the
// environment ("onednn" or "openblas"), else oneDNN; another value in it throws ValueError
// from the first call that reads it (this, cpu_gemm, or any CPU op).
AXON_API void set_cpu_gemm(CpuGemm engine);
AXON_API CpuGemm cpu_gemm();
AXON_API const char* cpu_gemm_name(CpuGemm engine);  // "onednn", "openblas"

}  // namespace axon
