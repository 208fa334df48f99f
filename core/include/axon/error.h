#pragma once
// The exceptions axon throws. Every message says what was wrong and where: the op, the shapes,
// the devices, the CUDA call or the file offset.
#include <cstddef>
#include <stdexcept>
#include <string>

#include "axon/export.h"

namespace axon {

// The root: catch this to catch everything axon throws.
class AXON_API Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Shapes that do not fit the op (wrong rank, mismatched dimensions).
class AXON_API ShapeError : public Error {
 public:
  using Error::Error;
};

// Tensors on different devices, or a device that does not exist on this machine.
class AXON_API DeviceError : public Error {
 public:
  using Error::Error;
};

// A tensor of the wrong element type (float32 where int32 labels are expected, ...).
class AXON_API DTypeError : public Error {
 public:
  using Error::Error;
};

// An argument value out of its domain (negative size, label out of range, bad option).
class AXON_API ValueError : public Error {
 public:
  using Error::Error;
};

// A backend call that failed (a CUDA or cuBLAS status, a kernel launch).
class AXON_API BackendError : public Error {
 public:
  using Error::Error;
};

// An allocation the device could not satisfy.
class AXON_API OutOfMemory : public Error {
 public:
  OutOfMemory(const std::string& message, std::size_t bytes_requested, std::size_t bytes_free)
      : Error(message), bytes_requested_(bytes_requested), bytes_free_(bytes_free) {}
  std::size_t bytes_requested() const noexcept { return bytes_requested_; }
  std::size_t bytes_free() const noexcept { return bytes_free_; }

 private:
  std::size_t bytes_requested_;
  std::size_t bytes_free_;
};

// A file that is not what it claims to be (bad magic, truncated, wrong sizes).
class AXON_API FormatError : public Error {
 public:
  using Error::Error;
};

}  // namespace axon
