#pragma once
// A tensor's dimensions: a small value type, at most kMaxRank of them, row-major.
#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>

#include "axon/export.h"

namespace axon {

class AXON_API Shape {
 public:
  static constexpr int kMaxRank = 8;

  Shape() = default;  // rank 0: a scalar with one element
  Shape(std::initializer_list<std::int64_t> dims);
  explicit Shape(std::span<const std::int64_t> dims);

  int rank() const { return rank_; }
  std::int64_t operator[](int axis) const { return dims_[static_cast<std::size_t>(axis)]; }
  std::int64_t numel() const;  // ValueError when the product overflows int64
  // numel(), or -1 when a dimension is negative or the product overflows int64.
  std::int64_t checked_numel() const;
  std::span<const std::int64_t> dims() const { return {dims_.data(), static_cast<std::size_t>(rank_)}; }
  // Rows and columns when the tensor is read as a matrix: the last axis is the columns,
  // all others fold into rows. A scalar is 1x1, a vector of n is 1xn.
  std::int64_t rows() const;
  std::int64_t cols() const;
  std::string str() const;  // "[2, 3]"
  // The same shape with `rows` as its first dimension (a batch of another size). Rank >= 1.
  Shape with_rows(std::int64_t rows) const;

  friend AXON_API bool operator==(const Shape& a, const Shape& b);

 private:
  std::array<std::int64_t, kMaxRank> dims_{};
  int rank_ = 0;
};

}  // namespace axon
