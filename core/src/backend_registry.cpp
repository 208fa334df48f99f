// Which backend owns a device. The CPU backend always exists; a CUDA backend is created on first
// use of each GPU that is present. Asking for an absent device throws one clear DeviceError.
// The registry is never destroyed, so an op run from a user's static destructor at exit still
// finds its backend (a destroyed registry there was a use-after-free).
#include <array>
#include <mutex>

#include "axon/backend.h"
#include "axon/error.h"
#include "core/src/builtin_backends.h"
#include "core/src/dispatch.h"
#include "core/src/no_destructor.h"

namespace axon {

namespace {

constexpr int kMaxCudaDevices = 64;

struct CudaSlot {
  std::once_flag created;
  std::shared_ptr<Backend> backend;
};

struct Registry {
  std::shared_ptr<Backend> cpu = detail::make_cpu_backend();
  std::array<CudaSlot, kMaxCudaDevices> cuda;
};

Registry& registry() {
  static detail::NoDestructor<Registry> instance;
  return instance.get();
}

const std::shared_ptr<Backend>& find_backend(Device device) {
  if (device.is_cpu() && device.index == 0) return registry().cpu;
  if (!is_available(device)) detail::throw_unavailable(device);
#if defined(AXON_WITH_CUDA)
  if (device.index >= kMaxCudaDevices) {
    throw DeviceError(device.str() + " is beyond the " + std::to_string(kMaxCudaDevices) +
                      " CUDA devices axon supports");
  }
  // Every op asks for its backend: after the first call per device this is one atomic load.
  CudaSlot& slot = registry().cuda[static_cast<std::size_t>(device.index)];
  std::call_once(slot.created, [&] { slot.backend = detail::make_cuda_backend(device.index); });
  return slot.backend;
#else
  detail::throw_unavailable(device);
#endif
}

}  // namespace

std::shared_ptr<Backend> backend_for(Device device) { return find_backend(device); }

namespace detail {
Backend& backend_of(Device device) { return *find_backend(device); }

BackendCounters& backend_counters() {
  static BackendCounters counters;  // (trivially destructible in effect: atomics of integers)
  return counters;
}
}  // namespace detail

}  // namespace axon
