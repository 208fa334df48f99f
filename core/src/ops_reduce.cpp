// Reductions over a whole tensor or over each row (the last axis).
#include <limits>
#include <string>

#include "axon/backend.h"
#include "axon/ops.h"
#include "core/src/check.h"

namespace axon {

Tensor reduce_all(ReduceOp op, const Tensor& x) {
  detail::check_kind("reduce_all", "reduce op", op, kReduceOpCount);
  const std::string name = std::string(reduce_name(op));
  const Device device = detail::check_same_device(name, {{"x", &x}});
  detail::check_dtype(name, {"x", &x}, DType::kFloat32);
  if (op != ReduceOp::kSum && x.numel() == 0) {
    throw ValueError("axon::" + name + ": the tensor is empty (" + x.describe() + ")");
  }
  Tensor out = Tensor::empty({1}, device);
  backend_for(device)->reduce_all(op, x, out);
  return out;
}

Tensor sum(const Tensor& x) { return reduce_all(ReduceOp::kSum, x); }
Tensor mean(const Tensor& x) { return reduce_all(ReduceOp::kMean, x); }
Tensor max(const Tensor& x) { return reduce_all(ReduceOp::kMax, x); }

void reduce_rows_out(ReduceOp op, const Tensor& x, const Tensor& out) {
  detail::check_kind("reduce_rows", "reduce op", op, kReduceOpCount);
  const std::string name = "reduce_rows(" + std::string(reduce_name(op)) + ")";
  const Device device = detail::check_same_device(name, {{"x", &x}, {"out", &out}});
  detail::check_dtype(name, {{"x", &x}, {"out", &out}}, DType::kFloat32);
  detail::check_min_rank(name, {"x", &x}, 1);
  detail::check_shape(name, {"out", &out}, Shape{x.shape().rows()}, {{"x", &x}});
  detail::check_disjoint(name, {"out", &out}, {{"x", &x}});
  if (op != ReduceOp::kSum && x.shape().cols() == 0 && x.shape().rows() > 0) {
    throw ValueError("axon::" + name + ": rows are empty (" + x.describe() + ")");
  }
  backend_for(device)->reduce_rows(op, x, out);
}

Tensor reduce_rows(ReduceOp op, const Tensor& x) {
  const std::string name = "reduce_rows(" + std::string(reduce_name(op)) + ")";
  detail::check_same_device(name, {{"x", &x}});
  detail::check_min_rank(name, {"x", &x}, 1);
  Tensor out = Tensor::empty({x.shape().rows()}, x.device());
  reduce_rows_out(op, x, out);
  return out;
}

Tensor argmax_rows(const Tensor& x) {
  const Device device = detail::check_same_device("argmax_rows", {{"x", &x}});
  detail::check_dtype("argmax_rows", {"x", &x}, DType::kFloat32);
  detail::check_min_rank("argmax_rows", {"x", &x}, 1);
  if (x.shape().cols() == 0 && x.shape().rows() > 0) {
    throw ValueError("axon::argmax_rows: rows are empty (" + x.describe() + ")");
  }
  if (x.shape().cols() > std::numeric_limits<std::int32_t>::max()) {
    throw ValueError("axon::argmax_rows: " + std::to_string(x.shape().cols()) +
                     " columns do not fit the int32 indices it returns (" + x.describe() + ")");
  }
  Tensor out = Tensor::empty({x.shape().rows()}, device, DType::kInt32);
  backend_for(device)->argmax_rows(x, out);
  return out;
}

}  // namespace axon
