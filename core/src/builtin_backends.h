#pragma once
// The contract between core/ and the backends compiled into libaxon.so. core/ calls these to
// register the built-in backends; no CUDA type crosses this line.
#include <memory>

#include "axon/backend.h"
#include "axon/device.h"

namespace axon::detail {

// Throws DeviceError with one sentence saying why `device` cannot be used here (device.cpp).
[[noreturn]] void throw_unavailable(Device device);

// cpu/: the one CPU backend.
std::shared_ptr<Backend> make_cpu_backend();

#if defined(AXON_WITH_CUDA)
// cuda/: how many CUDA devices are usable now (0 without a GPU or driver; never throws).
int cuda_device_count() noexcept;
// cuda/: name, compute capability and memory of a device that exists.
DeviceInfo cuda_device_info(int index);
// cuda/: the backend of one device (its stream, handles and memory cache), created once.
std::shared_ptr<Backend> make_cuda_backend(int index);
// cuda/: for tests (testing_hooks.h).
void cuda_fail_one_runtime_call(int device);
bool cuda_context_active(int device);
#endif

}  // namespace axon::detail
