#pragma once
// Where memory lives: a device type and an index. Which devices exist is answered at run time:
// the CPU always, CUDA devices when the library was built with CUDA and a GPU is present.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "axon/export.h"

namespace axon {

enum class DeviceType : std::uint8_t { kCpu = 0, kCuda = 1 };

struct AXON_API Device {
  DeviceType type = DeviceType::kCpu;
  int index = 0;

  static constexpr Device cpu() { return {DeviceType::kCpu, 0}; }
  static constexpr Device cuda(int index = 0) { return {DeviceType::kCuda, index}; }
  // "cpu", "cuda", "cuda:1"; throws ValueError on anything else.
  static Device parse(std::string_view text);

  bool is_cpu() const { return type == DeviceType::kCpu; }
  bool is_cuda() const { return type == DeviceType::kCuda; }
  std::string str() const;  // "cpu", "cuda:0"
  friend bool operator==(const Device&, const Device&) = default;
};

struct DeviceInfo {
  Device device;
  std::string name;
  int compute_major = 0;  // 0 for the CPU
  int compute_minor = 0;
  std::size_t total_memory = 0;  // bytes
};

// True when the library was compiled with the CUDA backend (a GPU may still be absent).
AXON_API bool cuda_compiled();
// Number of devices of a type present now: 1 for the CPU, 0..n for CUDA.
AXON_API int device_count(DeviceType type);
AXON_API bool is_available(Device device);
AXON_API std::vector<Device> available_devices();
// The first CUDA device when there is one, else the CPU.
AXON_API Device best_device();
// Throws DeviceError, in one sentence, when the device is not present.
AXON_API DeviceInfo device_info(Device device);

}  // namespace axon
