#include "axon/tensor.h"

#include <array>
#include <cstring>
#include <limits>
#include <new>

#include "axon/backend.h"
#include "axon/error.h"
#include "axon/ops.h"
#include "core/src/backend_counters.h"

namespace axon {

// ---- Storage ----

Storage::Storage(std::shared_ptr<Backend> backend, std::size_t bytes)
    : backend_(std::move(backend)), bytes_(bytes), device_(backend_->device()) {
  if (bytes_ > 0) data_ = backend_->allocate(bytes_);
}

Storage::~Storage() {
  if (data_ != nullptr) backend_->deallocate(data_, bytes_);
}

// ---- factories ----

namespace {

// Rejects negative dimensions and element counts whose byte size would overflow, before any
// allocation is attempted.
void check_factory_shape(const char* factory, const Shape& shape) {
  for (const std::int64_t dim : shape.dims()) {
    if (dim < 0) {
      throw ValueError(std::string("Tensor::") + factory + ": negative dimension in shape " + shape.str());
    }
  }
  // Byte counts of up to 16 bytes per element must fit in int64 too.
  constexpr std::int64_t kMaxElements = std::numeric_limits<std::int64_t>::max() / 16;
  const std::int64_t count = shape.checked_numel();
  if (count < 0 || count > kMaxElements) {
    throw ValueError(std::string("Tensor::") + factory + ": shape " + shape.str() +
                     " has too many elements to allocate");
  }
}

template <class T>
Tensor from_host_values(const Shape& shape, std::span<const T> values, Device device) {
  check_factory_shape("from_vector", shape);
  if (static_cast<std::int64_t>(values.size()) != shape.numel()) {
    throw ValueError("Tensor::from_vector: shape " + shape.str() + " needs " +
                     std::to_string(shape.numel()) + " values, got " + std::to_string(values.size()));
  }
  Tensor tensor = Tensor::empty(shape, device, dtype_of<T>());
  if (!values.empty()) {
    detail::count(detail::backend_counters().uploads);
    backend_for(device)->copy_from_host(tensor.data<T>(), values.data(), values.size_bytes());
  }
  return tensor;
}

}  // namespace

Tensor Tensor::empty(const Shape& shape, Device device, DType dtype) {
  // Every factory comes here: a dtype cast from a bad integer has no size and must not pass.
  if (static_cast<int>(dtype) >= kDTypeCount) {
    throw ValueError("Tensor::empty: dtype " + std::to_string(static_cast<int>(dtype)) +
                     " is not one of the " + std::to_string(kDTypeCount) + " defined dtypes");
  }
  check_factory_shape("empty", shape);
  auto backend = backend_for(device);
  const auto bytes = static_cast<std::size_t>(shape.numel()) * dtype_size(dtype);
  try {
    return Tensor(std::make_shared<Storage>(std::move(backend), bytes), 0, shape, dtype);
  } catch (const OutOfMemory& error) {
    // Say which tensor did not fit, keeping the backend's byte counts.
    throw OutOfMemory("Tensor " + shape.str() + " " + std::string(dtype_name(dtype)) + " on " + device.str() +
                          ": " + error.what(),
                      error.bytes_requested(), error.bytes_free());
  }
}

Tensor Tensor::zeros(const Shape& shape, Device device, DType dtype) {
  Tensor tensor = empty(shape, device, dtype);
  axon::fill(tensor, 0.0f);
  return tensor;
}

Tensor Tensor::ones(const Shape& shape, Device device) { return full(shape, 1.0f, device); }

Tensor Tensor::full(const Shape& shape, float value, Device device) {
  Tensor tensor = empty(shape, device);
  axon::fill(tensor, value);
  return tensor;
}

Tensor Tensor::uniform(const Shape& shape, float low, float high, Device device, Generator& generator) {
  Tensor tensor = empty(shape, device);
  axon::fill_uniform(tensor, low, high, generator);
  return tensor;
}

Tensor Tensor::normal(const Shape& shape, float mean, float stddev, Device device, Generator& generator) {
  Tensor tensor = empty(shape, device);
  axon::fill_normal(tensor, mean, stddev, generator);
  return tensor;
}

Tensor Tensor::from_vector(const Shape& shape, std::span<const float> values, Device device) {
  return from_host_values(shape, values, device);
}

Tensor Tensor::from_vector(const Shape& shape, std::span<const std::int32_t> values, Device device) {
  return from_host_values(shape, values, device);
}

// ---- what it is ----

std::int64_t Tensor::dim(int axis) const {
  const int resolved = axis < 0 ? axis + rank() : axis;
  if (resolved < 0 || resolved >= rank()) {
    throw ValueError("Tensor::dim: axis " + std::to_string(axis) + " is out of range for " + describe());
  }
  return shape_[resolved];
}

Device Tensor::device() const { return storage_ ? storage_->device() : Device::cpu(); }

std::string Tensor::describe() const {
  if (!defined()) return "(undefined tensor)";
  return shape_.str() + " " + std::string(dtype_name(dtype_)) + " " + device().str();
}

void* Tensor::raw_data() const {
  if (!storage_ || storage_->data() == nullptr) return nullptr;
  return static_cast<char*>(storage_->data()) + offset_ * static_cast<std::int64_t>(dtype_size(dtype_));
}

template <class T>
T* Tensor::data() const {
  if (defined() && dtype_ != dtype_of<T>()) {
    throw DTypeError("Tensor::data: asked for " + std::string(dtype_name(dtype_of<T>())) +
                     " elements of a " + describe() + " tensor");
  }
  return static_cast<T*>(raw_data());
}

template float* Tensor::data<float>() const;
template std::int32_t* Tensor::data<std::int32_t>() const;

// ---- views ----

namespace {
void require_defined(const char* what, const Tensor& tensor) {
  if (!tensor.defined()) throw ValueError(std::string("Tensor::") + what + ": the tensor is undefined");
}
}  // namespace

Tensor Tensor::reshape(const Shape& shape) const {
  require_defined("reshape", *this);
  std::int64_t known = 1;
  int inferred_axis = -1;
  for (int axis = 0; axis < shape.rank(); ++axis) {
    if (shape[axis] == -1) {
      if (inferred_axis >= 0) {
        throw ShapeError("Tensor::reshape: more than one -1 in " + shape.str());
      }
      inferred_axis = axis;
    } else if (shape[axis] < 0) {
      throw ShapeError("Tensor::reshape: negative dimension in " + shape.str());
    } else if (__builtin_mul_overflow(known, shape[axis], &known)) {
      throw ShapeError("Tensor::reshape: the element count of " + shape.str() + " overflows");
    }
  }
  std::array<std::int64_t, Shape::kMaxRank> dims{};
  for (int axis = 0; axis < shape.rank(); ++axis) dims[static_cast<std::size_t>(axis)] = shape[axis];
  if (inferred_axis >= 0) {
    if (known == 0 || numel() % known != 0) {
      throw ShapeError("Tensor::reshape: cannot reshape " + describe() + " to " + shape.str());
    }
    dims[static_cast<std::size_t>(inferred_axis)] = numel() / known;
  }
  const Shape resolved(std::span<const std::int64_t>(dims.data(), static_cast<std::size_t>(shape.rank())));
  // The known dimensions' product was checked above, so this count cannot overflow.
  if (resolved.numel() != numel()) {
    throw ShapeError("Tensor::reshape: cannot reshape " + describe() + " (" + std::to_string(numel()) +
                     " elements) to " + resolved.str() + " (" + std::to_string(resolved.numel()) + " elements)");
  }
  return Tensor(storage_, offset_, resolved, dtype_);
}

Tensor Tensor::rows(std::int64_t begin, std::int64_t end) const {
  require_defined("rows", *this);
  if (rank() == 0) throw ShapeError("Tensor::rows: a scalar has no rows (" + describe() + ")");
  if (begin < 0 || end < begin || end > shape_[0]) {
    throw ShapeError("Tensor::rows: range [" + std::to_string(begin) + ", " + std::to_string(end) +
                     ") is outside the " + std::to_string(shape_[0]) + " rows of " + describe());
  }
  const Shape shape = shape_.with_rows(end - begin);
  const std::int64_t row_elements = shape_[0] == 0 ? 0 : numel() / shape_[0];
  return Tensor(storage_, offset_ + begin * row_elements, shape, dtype_);
}

bool Tensor::shares_storage_with(const Tensor& other) const {
  return storage_ != nullptr && storage_ == other.storage_;
}

bool Tensor::overlaps(const Tensor& other) const {
  if (!shares_storage_with(other) || nbytes() == 0 || other.nbytes() == 0) return false;
  const auto begin = static_cast<std::size_t>(offset_) * dtype_size(dtype_);
  const auto other_begin = static_cast<std::size_t>(other.offset_) * dtype_size(other.dtype_);
  return begin < other_begin + other.nbytes() && other_begin < begin + nbytes();
}

bool Tensor::same_memory(const Tensor& other) const {
  return shares_storage_with(other) && offset_ == other.offset_ && nbytes() == other.nbytes() &&
         dtype_ == other.dtype_;
}

// ---- copies ----

void Tensor::copy_from(const Tensor& source) const {
  require_defined("copy_from", *this);
  require_defined("copy_from", source);
  if (source.dtype() != dtype()) {
    throw DTypeError("Tensor::copy_from: source " + source.describe() + " and destination " + describe() +
                     " have different dtypes");
  }
  if (source.shape() != shape()) {
    throw ShapeError("Tensor::copy_from: source " + source.describe() + " does not match destination " +
                     describe());
  }
  const std::size_t bytes = nbytes();
  if (bytes == 0) return;
  const Device from = source.device();
  const Device to_device = device();
  detail::BackendCounters& counters = detail::backend_counters();
  if (from == to_device) {
    detail::count(counters.ops);
    storage_->backend().copy_on_device(raw_data(), source.raw_data(), bytes);
  } else if (from.is_cpu()) {
    detail::count(counters.uploads);
    storage_->backend().copy_from_host(raw_data(), source.raw_data(), bytes);
  } else if (to_device.is_cpu()) {
    detail::count(counters.host_waits);
    source.storage_->backend().copy_to_host(raw_data(), source.raw_data(), bytes);
  } else {
    detail::count(counters.host_waits);
    detail::count(counters.uploads);
    // Between two GPUs: through host memory (peer copies can come later).
    std::vector<char> staging(bytes);
    source.storage_->backend().copy_to_host(staging.data(), source.raw_data(), bytes);
    storage_->backend().copy_from_host(raw_data(), staging.data(), bytes);
  }
}

Tensor Tensor::to(Device device) const {
  require_defined("to", *this);
  Tensor copy = empty(shape_, device, dtype_);
  copy.copy_from(*this);
  return copy;
}

Tensor Tensor::clone() const { return to(device()); }

namespace {
template <class T>
std::vector<T> host_values(const Tensor& tensor, const char* what) {
  require_defined(what, tensor);
  if (tensor.dtype() != dtype_of<T>()) {
    throw DTypeError(std::string("Tensor::") + what + ": needs a " + std::string(dtype_name(dtype_of<T>())) +
                     " tensor, got " + tensor.describe());
  }
  std::vector<T> values(static_cast<std::size_t>(tensor.numel()));
  if (!values.empty()) {
    detail::count(detail::backend_counters().host_waits);
    backend_for(tensor.device())->copy_to_host(values.data(), tensor.data<T>(), tensor.nbytes());
  }
  return values;
}
}  // namespace

std::vector<float> Tensor::to_vector() const { return host_values<float>(*this, "to_vector"); }

std::vector<std::int32_t> Tensor::to_int_vector() const {
  return host_values<std::int32_t>(*this, "to_int_vector");
}

float Tensor::item() const {
  require_defined("item", *this);
  if (numel() != 1) {
    throw ShapeError("Tensor::item: needs exactly one element, got " + describe());
  }
  if (dtype() != DType::kFloat32) {
    throw DTypeError("Tensor::item: needs a float32 tensor, got " + describe());
  }
  float value = 0.0f;  // straight into a local: no host vector for one number
  detail::count(detail::backend_counters().host_waits);
  storage_->backend().copy_to_host(&value, raw_data(), sizeof(float));
  return value;
}

}  // namespace axon
