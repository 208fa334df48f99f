// Device enumeration and registration of the CUDA backend. A machine without a GPU (or without a
// driver) reports zero devices; nothing here aborts.
#include <cuda_runtime.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "axon/error.h"
#include "core/src/builtin_backends.h"
#include "core/src/no_destructor.h"
#include "cuda/cuda_backend.h"
#include "cuda/cuda_check.h"

namespace axon::detail {

namespace {

// One backend per device, created on first use and kept for the life of the process: never
// destroyed, so an op from a user's static destructor still finds it (the driver reclaims the
// device's memory and handles when the process ends).
struct BackendTable {
  std::mutex mutex;
  std::vector<std::shared_ptr<cuda::CudaBackend>> backends;
};

BackendTable& table() {
  static NoDestructor<BackendTable> instance;
  return instance.get();
}

}  // namespace

int cuda_device_count() noexcept {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device"/"no driver" status
    return 0;
  }
  return count;
}

DeviceInfo cuda_device_info(int index) {
  cudaDeviceProp props{};
  const cudaError_t status = cudaGetDeviceProperties(&props, index);
  if (status != cudaSuccess) {
    cudaGetLastError();
    throw BackendError("cudaGetDeviceProperties(" + std::to_string(index) +
                       ") failed: " + cudaGetErrorString(status));
  }
  return DeviceInfo{Device::cuda(index), props.name, props.major, props.minor, props.totalGlobalMem};
}

std::shared_ptr<Backend> make_cuda_backend(int index) {
  const int count = cuda_device_count();
  if (index < 0 || index >= count) {
    throw DeviceError(Device::cuda(index).str() + " was requested, but this machine has " +
                      std::to_string(count) + " CUDA device(s)");
  }
  BackendTable& t = table();
  std::lock_guard lock(t.mutex);
  if (t.backends.size() < static_cast<std::size_t>(count)) t.backends.resize(static_cast<std::size_t>(count));
  auto& slot = t.backends[static_cast<std::size_t>(index)];
  if (!slot) {
    cuda::DeviceGuard guard(index);  // the backend's stream and handles are created on it
    slot = std::make_shared<cuda::CudaBackend>(index);
  }
  return slot;
}

void cuda_fail_one_runtime_call(int device) {
  cuda::DeviceGuard guard(device);
  try {
    // No such device: the runtime refuses it and records the status as the last error.
    AXON_CUDA_CHECK(cudaSetDevice(-1));
  } catch (const BackendError&) {
  }
}

bool cuda_context_active(int device) { return cuda::primary_context_active(device); }

}  // namespace axon::detail
