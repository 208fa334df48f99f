#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace axon {

// Element types. float32 is what networks compute in; int32 holds class labels and argmax
// results. fp16/bf16 will join here.
enum class DType : std::uint8_t { kFloat32 = 0, kInt32 = 1 };
inline constexpr int kDTypeCount = 2;

constexpr std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return 4;
    case DType::kInt32: return 4;
  }
  return 0;
}

constexpr std::string_view dtype_name(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return "float32";
    case DType::kInt32: return "int32";
  }
  return "?";
}

template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::kFloat32; }
template <> constexpr DType dtype_of<std::int32_t>() { return DType::kInt32; }

}  // namespace axon
