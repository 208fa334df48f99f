#include "axon/shape.h"

#include <string>

#include "axon/error.h"

namespace axon {

namespace {
void check_dims(std::span<const std::int64_t> dims) {
  if (dims.size() > static_cast<std::size_t>(Shape::kMaxRank)) {
    throw ShapeError("Shape: rank " + std::to_string(dims.size()) + " exceeds the maximum of " +
                     std::to_string(Shape::kMaxRank));
  }
}
}  // namespace

Shape::Shape(std::initializer_list<std::int64_t> dims)
    : Shape(std::span<const std::int64_t>(dims.begin(), dims.size())) {}

Shape::Shape(std::span<const std::int64_t> dims) {
  check_dims(dims);
  rank_ = static_cast<int>(dims.size());
  for (std::size_t i = 0; i < dims.size(); ++i) dims_[i] = dims[i];
}

namespace {
// The product of dims, or ValueError when it overflows int64 (a wrapped count would size a
// buffer wrongly).
std::int64_t product(std::span<const std::int64_t> dims, const Shape& shape) {
  std::int64_t n = 1;
  for (const std::int64_t dim : dims) {
    if (__builtin_mul_overflow(n, dim, &n)) {
      throw ValueError("Shape " + shape.str() + ": the element count overflows a 64-bit integer");
    }
  }
  return n;
}
}  // namespace

std::int64_t Shape::numel() const { return product(dims(), *this); }

std::int64_t Shape::checked_numel() const {
  std::int64_t n = 1;
  for (int i = 0; i < rank_; ++i) {
    const std::int64_t dim = dims_[static_cast<std::size_t>(i)];
    if (dim < 0 || __builtin_mul_overflow(n, dim, &n)) return -1;
  }
  return n;
}

std::int64_t Shape::cols() const { return rank_ == 0 ? 1 : dims_[static_cast<std::size_t>(rank_ - 1)]; }

std::int64_t Shape::rows() const {
  return rank_ == 0 ? 1 : product(dims().first(static_cast<std::size_t>(rank_ - 1)), *this);
}

Shape Shape::with_rows(std::int64_t rows) const {
  if (rank_ == 0) throw ShapeError("Shape::with_rows: a scalar has no rows");
  Shape shape = *this;
  shape.dims_[0] = rows;
  return shape;
}

std::string Shape::str() const {
  std::string text = "[";
  for (int i = 0; i < rank_; ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(dims_[static_cast<std::size_t>(i)]);
  }
  return text + "]";
}

bool operator==(const Shape& a, const Shape& b) {
  if (a.rank_ != b.rank_) return false;
  for (int i = 0; i < a.rank_; ++i) {
    if (a.dims_[static_cast<std::size_t>(i)] != b.dims_[static_cast<std::size_t>(i)]) return false;
  }
  return true;
}

}  // namespace axon
