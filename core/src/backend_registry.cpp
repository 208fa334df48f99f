// Which backend owns a device. The CPU backend always exists; a CUDA backend is created on first
// use of each GPU that is present. Asking for an absent device throws one clear DeviceError.
#include <array>
#include <mutex>

#include "axon/backend.h"
#include "axon/error.h"
#include "core/src/builtin_backends.h"

namespace axon {

std::shared_ptr<Backend> backend_for(Device device) {
  if (device.is_cpu() && device.index == 0) {
    static const std::shared_ptr<Backend> cpu = detail::make_cpu_backend();
    return cpu;
  }
  if (!is_available(device)) detail::throw_unavailable(device);
#if defined(AXON_WITH_CUDA)
  // Every op asks for its backend: after the first call per device this is one atomic load.
  struct Slot {
    std::once_flag created;
    std::shared_ptr<Backend> backend;
  };
  constexpr int kMaxCudaDevices = 64;
  static std::array<Slot, kMaxCudaDevices> slots;
  if (device.index >= kMaxCudaDevices) {
    throw DeviceError(device.str() + " is beyond the " + std::to_string(kMaxCudaDevices) +
                      " CUDA devices axon supports");
  }
  Slot& slot = slots[static_cast<std::size_t>(device.index)];
  std::call_once(slot.created, [&] { slot.backend = detail::make_cuda_backend(device.index); });
  return slot.backend;
#else
  detail::throw_unavailable(device);
#endif
}

}  // namespace axon
