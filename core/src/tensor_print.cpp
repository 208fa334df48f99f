// Printing: "Tensor([2, 3] float32 cpu)" then the values, nested by axis like NumPy. Tensors
// over kSummaryThreshold elements show the first and last kEdgeItems of each axis with "...".
#include <iomanip>
#include <ostream>
#include <sstream>

#include "axon/tensor.h"

namespace axon {

namespace {

constexpr std::int64_t kSummaryThreshold = 1000;
constexpr std::int64_t kEdgeItems = 3;

template <class T>
void print_axis(std::ostream& out, const std::vector<T>& values, const Shape& shape, int axis,
                std::int64_t offset, bool summarize, int indent) {
  const std::int64_t count = shape[axis];
  std::int64_t stride = 1;
  for (int later = axis + 1; later < shape.rank(); ++later) stride *= shape[later];
  const bool last_axis = axis == shape.rank() - 1;
  out << '[';
  for (std::int64_t i = 0; i < count; ++i) {
    if (summarize && count > 2 * kEdgeItems && i == kEdgeItems) {
      out << (last_axis ? "..., " : "...,\n" + std::string(static_cast<std::size_t>(indent + 1), ' '));
      i = count - kEdgeItems - 1;
      continue;
    }
    if (last_axis) {
      out << values[static_cast<std::size_t>(offset + i)];
    } else {
      print_axis(out, values, shape, axis + 1, offset + i * stride, summarize, indent + 1);
    }
    if (i + 1 < count) out << (last_axis ? ", " : ",\n" + std::string(static_cast<std::size_t>(indent + 1), ' '));
  }
  out << ']';
}

template <class T>
void print_values(std::ostream& out, const Tensor& tensor, const std::vector<T>& values) {
  if (tensor.rank() == 0) {
    out << values[0];
    return;
  }
  print_axis(out, values, tensor.shape(), 0, 0, tensor.numel() > kSummaryThreshold, 0);
}

}  // namespace

std::string Tensor::str() const {
  std::ostringstream out;
  out << *this;
  return out.str();
}

std::ostream& operator<<(std::ostream& out, const Tensor& tensor) {
  out << "Tensor(" << tensor.describe() << ")";
  if (!tensor.defined()) return out;
  out << '\n';
  std::ostringstream values;
  values << std::setprecision(6);
  if (tensor.dtype() == DType::kFloat32) {
    print_values(values, tensor, tensor.to_vector());
  } else {
    print_values(values, tensor, tensor.to_int_vector());
  }
  return out << values.str();
}

}  // namespace axon
