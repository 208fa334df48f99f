#include "axon/device.h"

#include <charconv>

#include "axon/error.h"
#include "core/src/builtin_backends.h"

namespace axon {

Device Device::parse(std::string_view text) {
  if (text == "cpu") return cpu();
  if (text == "cuda") return cuda(0);
  constexpr std::string_view kPrefix = "cuda:";
  if (text.substr(0, kPrefix.size()) == kPrefix) {
    const std::string_view digits = text.substr(kPrefix.size());
    int index = -1;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
    if (error == std::errc() && end == digits.data() + digits.size() && !digits.empty() &&
        index >= 0) {
      return cuda(index);
    }
  }
  throw ValueError("Device::parse: '" + std::string(text) +
                   "' is not a device; expected \"cpu\", \"cuda\" or \"cuda:N\"");
}

std::string Device::str() const {
  return is_cpu() ? std::string("cpu") : "cuda:" + std::to_string(index);
}

bool cuda_compiled() {
#if defined(AXON_WITH_CUDA)
  return true;
#else
  return false;
#endif
}

int device_count(DeviceType type) {
  switch (type) {
    case DeviceType::kCpu: return 1;
    case DeviceType::kCuda:
#if defined(AXON_WITH_CUDA)
    {
      // Asked by every op that touches a GPU: count once (devices do not come and go while a
      // process runs; CUDA_VISIBLE_DEVICES is read once by the runtime too).
      static const int count = detail::cuda_device_count();
      return count;
    }
#else
      return 0;
#endif
  }
  return 0;
}

bool is_available(Device device) {
  return device.index >= 0 && device.index < device_count(device.type);
}

std::vector<Device> available_devices() {
  std::vector<Device> devices{Device::cpu()};
  for (int i = 0; i < device_count(DeviceType::kCuda); ++i) devices.push_back(Device::cuda(i));
  return devices;
}

Device best_device() { return device_count(DeviceType::kCuda) > 0 ? Device::cuda(0) : Device::cpu(); }

namespace detail {
void throw_unavailable(Device device) {
  if (device.is_cpu()) throw DeviceError("there is only one CPU device, cpu; " + device.str() + " does not exist");
  if (!cuda_compiled()) {
    throw DeviceError(device.str() + " was requested, but this build of axon has no CUDA backend "
                      "(configure with -DAXON_CUDA=ON on a machine with the CUDA toolkit)");
  }
  const int count = device_count(DeviceType::kCuda);
  if (count == 0) {
    throw DeviceError(device.str() + " was requested, but no CUDA GPU is available on this machine "
                      "(no device or no driver); use Device::cpu()");
  }
  throw DeviceError(device.str() + " was requested, but this machine has only " +
                    std::to_string(count) + " CUDA device(s), cuda:0..cuda:" + std::to_string(count - 1));
}
}  // namespace detail

DeviceInfo device_info(Device device) {
  if (!is_available(device)) detail::throw_unavailable(device);
  if (device.is_cpu()) return DeviceInfo{device, "cpu", 0, 0, 0};
#if defined(AXON_WITH_CUDA)
  return detail::cuda_device_info(device.index);
#else
  detail::throw_unavailable(device);
#endif
}

}  // namespace axon
