// Printing: "Tensor([2, 3] float32 cpu)" then the values, nested by axis like NumPy. Tensors
// over kSummaryThreshold elements show the first and last kEdgeItems of each axis with "...",
// and only those elements are copied to the host (a large GPU tensor is never copied whole).
#include <iomanip>
#include <ostream>
#include <sstream>
#include <vector>

#include "axon/backend.h"
#include "axon/tensor.h"
#include "core/src/backend_counters.h"

namespace axon {

namespace {

constexpr std::int64_t kSummaryThreshold = 1000;
constexpr std::int64_t kEdgeItems = 3;

// The indices of an axis that are shown.
std::vector<std::int64_t> shown_indices(std::int64_t size, bool summarize) {
  std::vector<std::int64_t> indices;
  for (std::int64_t i = 0; i < size; ++i) {
    if (summarize && size > 2 * kEdgeItems && i == kEdgeItems) i = size - kEdgeItems;
    indices.push_back(i);
  }
  return indices;
}

// The shown elements, in row-major order: one host copy per run of the last axis.
template <class T>
std::vector<T> shown_values(const Tensor& tensor, bool summarize) {
  const Shape& shape = tensor.shape();
  const int rank = shape.rank();
  const T* data = tensor.data<T>();
  auto backend = backend_for(tensor.device());
  detail::count(detail::backend_counters().host_waits);  // (one wait: the runs queue behind it)
  std::vector<T> values;
  const auto copy_run = [&](std::int64_t offset, std::int64_t count) {
    const std::size_t at = values.size();
    values.resize(at + static_cast<std::size_t>(count));
    backend->copy_to_host(values.data() + at, data + offset, static_cast<std::size_t>(count) * sizeof(T));
  };
  if (rank == 0) {
    copy_run(0, 1);
    return values;
  }
  const std::int64_t cols = shape[rank - 1];
  const std::vector<std::int64_t> shown_cols = shown_indices(cols, summarize);
  const bool split = static_cast<std::int64_t>(shown_cols.size()) < cols;
  // Odometer over the shown indices of the leading axes.
  std::vector<std::vector<std::int64_t>> leading;
  for (int axis = 0; axis + 1 < rank; ++axis) leading.push_back(shown_indices(shape[axis], summarize));
  std::vector<std::size_t> position(leading.size(), 0);
  for (const auto& indices : leading) {
    if (indices.empty()) return values;  // an axis of size 0: nothing to show
  }
  while (true) {
    std::int64_t row = 0;
    for (std::size_t axis = 0; axis < leading.size(); ++axis) row = row * shape[static_cast<int>(axis)] + leading[axis][position[axis]];
    if (split) {
      copy_run(row * cols, kEdgeItems);
      copy_run(row * cols + cols - kEdgeItems, kEdgeItems);
    } else if (cols > 0) {
      copy_run(row * cols, cols);
    }
    std::size_t axis = leading.size();
    while (axis > 0 && ++position[axis - 1] == leading[axis - 1].size()) position[--axis] = 0;
    if (axis == 0) break;
  }
  return values;
}

// Prints the shown elements, consuming `values` in order.
template <class T>
void print_axis(std::ostream& out, const std::vector<T>& values, std::size_t& next, const Shape& shape, int axis,
                bool summarize, int indent) {
  const std::int64_t count = shape[axis];
  const bool last_axis = axis == shape.rank() - 1;
  const std::string separator = last_axis ? ", " : ",\n" + std::string(static_cast<std::size_t>(indent + 1), ' ');
  out << '[';
  const std::vector<std::int64_t> indices = shown_indices(count, summarize);
  for (std::size_t k = 0; k < indices.size(); ++k) {
    if (k > 0) out << separator;
    if (k > 0 && indices[k] != indices[k - 1] + 1) out << "..." << separator;
    if (last_axis) {
      out << values[next++];
    } else {
      print_axis(out, values, next, shape, axis + 1, summarize, indent + 1);
    }
  }
  out << ']';
}

template <class T>
void print_values(std::ostream& out, const Tensor& tensor) {
  if (tensor.numel() == 0) {  // nothing to show: never walk the other axes ({1 << 40, 0} is empty)
    out << "[]";
    return;
  }
  const bool summarize = tensor.numel() > kSummaryThreshold;
  const std::vector<T> values = shown_values<T>(tensor, summarize);
  if (tensor.rank() == 0) {
    out << values[0];
    return;
  }
  std::size_t next = 0;
  print_axis(out, values, next, tensor.shape(), 0, summarize, 0);
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
    print_values<float>(values, tensor);
  } else {
    print_values<std::int32_t>(values, tensor);
  }
  return out << values.str();
}

}  // namespace axon
