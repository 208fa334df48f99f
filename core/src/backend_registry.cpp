// Which backend owns a device. The CPU backend always exists; a CUDA backend is created on first
// use of each GPU that is present. Asking for an absent device throws one clear DeviceError.
#include <map>
#include <mutex>

#include "axon/backend.h"
#include "axon/error.h"
#include "core/src/builtin_backends.h"

namespace axon {

namespace detail {
[[noreturn]] void throw_unavailable(Device device);
}

std::shared_ptr<Backend> backend_for(Device device) {
  if (device.is_cpu() && device.index == 0) {
    static const std::shared_ptr<Backend> cpu = detail::make_cpu_backend();
    return cpu;
  }
  if (!is_available(device)) detail::throw_unavailable(device);
#if defined(AXON_WITH_CUDA)
  // make_cuda_backend caches per device itself; this lock only orders first creations.
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  return detail::make_cuda_backend(device.index);
#else
  detail::throw_unavailable(device);
#endif
}

}  // namespace axon
