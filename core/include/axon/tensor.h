#pragma once
// Tensor: a view (shape, dtype, element offset) over reference-counted storage on one device.
// Copying a Tensor is cheap and shares the data, like a shared_ptr; clone() and to() copy data.
// Tensors are contiguous and row-major; reshape() and rows() return views of the same storage.
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "axon/device.h"
#include "axon/dtype.h"
#include "axon/export.h"
#include "axon/random.h"
#include "axon/shape.h"

namespace axon {

class Backend;

// A block of bytes on one device, freed by the backend that allocated it.
class AXON_API Storage {
 public:
  Storage(std::shared_ptr<Backend> backend, std::size_t bytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  std::size_t bytes() const { return bytes_; }
  Device device() const { return device_; }
  Backend& backend() const { return *backend_; }

 private:
  std::shared_ptr<Backend> backend_;  // keeps the backend alive as long as its memory is
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
  Device device_;
};

class AXON_API Tensor {
 public:
  Tensor() = default;  // undefined: no storage; defined() is false

  // ---- factories ----
  static Tensor empty(const Shape& shape, Device device = Device::cpu(), DType dtype = DType::kFloat32);
  static Tensor zeros(const Shape& shape, Device device = Device::cpu(), DType dtype = DType::kFloat32);
  static Tensor ones(const Shape& shape, Device device = Device::cpu());
  static Tensor full(const Shape& shape, float value, Device device = Device::cpu());
  // Uniform in [low, high); normal with the given mean and standard deviation.
  static Tensor uniform(const Shape& shape, float low, float high, Device device = Device::cpu(),
                        Generator& generator = default_generator());
  static Tensor normal(const Shape& shape, float mean, float stddev, Device device = Device::cpu(),
                       Generator& generator = default_generator());
  static Tensor from_vector(const Shape& shape, std::span<const float> values,
                            Device device = Device::cpu());
  static Tensor from_vector(const Shape& shape, std::span<const std::int32_t> values,
                            Device device = Device::cpu());

  // ---- what it is ----
  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int rank() const { return shape_.rank(); }
  std::int64_t dim(int axis) const;  // negative axes count from the end
  std::int64_t numel() const { return defined() ? shape_.numel() : 0; }
  std::size_t nbytes() const { return static_cast<std::size_t>(numel()) * dtype_size(dtype_); }
  DType dtype() const { return dtype_; }
  Device device() const;
  // "[2, 3] float32 cpu": the short description error messages use.
  std::string describe() const;

  // ---- views (share storage) ----
  // One dimension may be -1 and is inferred. Throws ShapeError when the counts differ.
  Tensor reshape(const Shape& shape) const;
  // Rows [begin, end) of the first axis.
  Tensor rows(std::int64_t begin, std::int64_t end) const;
  bool shares_storage_with(const Tensor& other) const;
  // The first element's index in the storage (views of one storage differ here).
  std::int64_t storage_offset() const { return offset_; }
  // True when the two tensors' elements share any byte of memory.
  bool overlaps(const Tensor& other) const;
  // True when both view exactly the same bytes (the in-place case: out is an input).
  bool same_memory(const Tensor& other) const;

  // ---- copies ----
  Tensor to(Device device) const;  // a copy on that device (a copy even if already there)
  Tensor clone() const;
  void copy_from(const Tensor& source) const;  // same shape and dtype, any devices
  std::vector<float> to_vector() const;        // float32 only
  std::vector<std::int32_t> to_int_vector() const;  // int32 only
  float item() const;                          // a one-element float32 tensor's value

  // Raw pointer to the first element, on the tensor's device (a GPU address for CUDA).
  // The handle is const, the data is not: as in libtorch, a Tensor is a shared reference.
  template <class T>
  T* data() const;

  // Shape, device, dtype and the values, abbreviated when there are many.
  std::string str() const;

 private:
  Tensor(std::shared_ptr<Storage> storage, std::int64_t offset, Shape shape, DType dtype)
      : storage_(std::move(storage)), offset_(offset), shape_(shape), dtype_(dtype) {}
  void* raw_data() const;

  std::shared_ptr<Storage> storage_;
  std::int64_t offset_ = 0;  // in elements
  Shape shape_;
  DType dtype_ = DType::kFloat32;
};

extern template AXON_API float* Tensor::data<float>() const;
extern template AXON_API std::int32_t* Tensor::data<std::int32_t>() const;

AXON_API std::ostream& operator<<(std::ostream& out, const Tensor& tensor);

}  // namespace axon
