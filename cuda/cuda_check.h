#pragma once
// Status checks for every CUDA runtime and cuBLAS call of the CUDA backend. A failed call throws
// axon::BackendError naming the call, file:line and the library's own description of the status.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "axon/error.h"

namespace axon::cuda {

[[noreturn]] void throw_cuda_error(cudaError_t status, const char* call, const char* file, int line);
[[noreturn]] void throw_cublas_error(cublasStatus_t status, const char* call, const char* file,
                                     int line);

}  // namespace axon::cuda

// AXON_CUDA_CHECK(cudaMemcpyAsync(...)); throws BackendError on anything but cudaSuccess.
#define AXON_CUDA_CHECK(call)                                                      \
  do {                                                                             \
    const cudaError_t axon_cuda_status_ = (call);                                  \
    if (axon_cuda_status_ != cudaSuccess) {                                        \
      ::axon::cuda::throw_cuda_error(axon_cuda_status_, #call, __FILE__, __LINE__); \
    }                                                                              \
  } while (0)

// AXON_CUBLAS_CHECK(cublasSgemm(...)); throws BackendError on anything but CUBLAS_STATUS_SUCCESS.
#define AXON_CUBLAS_CHECK(call)                                                        \
  do {                                                                                 \
    const cublasStatus_t axon_cublas_status_ = (call);                                 \
    if (axon_cublas_status_ != CUBLAS_STATUS_SUCCESS) {                                \
      ::axon::cuda::throw_cublas_error(axon_cublas_status_, #call, __FILE__, __LINE__); \
    }                                                                                  \
  } while (0)

// After a kernel launch: a bad configuration or a missing kernel image shows up here.
#define AXON_KERNEL_CHECK(name)                                                  \
  do {                                                                           \
    const cudaError_t axon_launch_status_ = cudaGetLastError();                  \
    if (axon_launch_status_ != cudaSuccess) {                                    \
      ::axon::cuda::throw_cuda_error(axon_launch_status_, "launch of " name,     \
                                     __FILE__, __LINE__);                        \
    }                                                                            \
  } while (0)
