// Reductions over a whole tensor or over each row (the last axis).
#include <limits>
#include <string>

#include "axon/backend.h"
#include "axon/ops.h"
#include "core/src/check.h"
#include "core/src/dispatch.h"

namespace axon {

using detail::OpName;

void reduce_all_out(ReduceOp op, const Tensor& x, const Tensor& out) {
  detail::check_kind("reduce_all_out", "reduce op", op, kReduceOpCount);
  const OpName name = reduce_name(op);
  const Device device = detail::check_same_device(name, {{"x", &x}, {"out", &out}});
  detail::check_dtype(name, {{"x", &x}, {"out", &out}}, DType::kFloat32);
  if (out.numel() != 1) {
    throw ShapeError(detail::prefix(name) + "out must have one element, got " + out.describe());
  }
  detail::check_disjoint(name, {"out", &out}, {{"x", &x}});
  if (op != ReduceOp::kSum && x.numel() == 0) {
    throw ValueError(detail::prefix(name) + "the tensor is empty (" + x.describe() + ")");
  }
  detail::op_backend(device).reduce_all(op, x, out);
}

Tensor reduce_all(ReduceOp op, const Tensor& x) {
  detail::check_kind("reduce_all", "reduce op", op, kReduceOpCount);
  detail::check_same_device(reduce_name(op), {{"x", &x}});
  Tensor out = Tensor::empty({1}, x.device());
  reduce_all_out(op, x, out);
  return out;
}

Tensor sum(const Tensor& x) { return reduce_all(ReduceOp::kSum, x); }
Tensor mean(const Tensor& x) { return reduce_all(ReduceOp::kMean, x); }
Tensor max(const Tensor& x) { return reduce_all(ReduceOp::kMax, x); }

void reduce_rows_out(ReduceOp op, const Tensor& x, const Tensor& out) {
  detail::check_kind("reduce_rows_out", "reduce op", op, kReduceOpCount);
  const OpName name("reduce_rows(", reduce_name(op), ")");
  const Device device = detail::check_same_device(name, {{"x", &x}, {"out", &out}});
  detail::check_dtype(name, {{"x", &x}, {"out", &out}}, DType::kFloat32);
  detail::check_min_rank(name, {"x", &x}, 1);
  detail::check_shape(name, {"out", &out}, Shape{x.shape().rows()}, {{"x", &x}});
  detail::check_disjoint(name, {"out", &out}, {{"x", &x}});
  if (op != ReduceOp::kSum && x.shape().cols() == 0 && x.shape().rows() > 0) {
    throw ValueError(detail::prefix(name) + "rows are empty (" + x.describe() + ")");
  }
  if (out.numel() == 0) return;
  Backend& backend = detail::op_backend(device);
  if (x.numel() == 0) {  // rows of no columns: each sums to zero
    backend.fill(out, 0.0f);
    return;
  }
  backend.reduce_rows(op, x, out);
}

Tensor reduce_rows(ReduceOp op, const Tensor& x) {
  detail::check_kind("reduce_rows", "reduce op", op, kReduceOpCount);
  const OpName name("reduce_rows(", reduce_name(op), ")");
  detail::check_same_device(name, {{"x", &x}});
  detail::check_min_rank(name, {"x", &x}, 1);
  Tensor out = Tensor::empty({x.shape().rows()}, x.device());
  reduce_rows_out(op, x, out);
  return out;
}

void argmax_rows_out(const Tensor& x, const Tensor& out) {
  const Device device = detail::check_same_device("argmax_rows", {{"x", &x}, {"out", &out}});
  detail::check_dtype("argmax_rows", {"x", &x}, DType::kFloat32);
  detail::check_dtype("argmax_rows", {"out", &out}, DType::kInt32);
  detail::check_min_rank("argmax_rows", {"x", &x}, 1);
  detail::check_shape("argmax_rows", {"out", &out}, Shape{x.shape().rows()}, {{"x", &x}});
  detail::check_disjoint("argmax_rows", {"out", &out}, {{"x", &x}});
  if (x.shape().cols() == 0 && x.shape().rows() > 0) {
    throw ValueError("axon::argmax_rows: rows are empty (" + x.describe() + ")");
  }
  if (x.shape().cols() > std::numeric_limits<std::int32_t>::max()) {
    throw ValueError("axon::argmax_rows: " + std::to_string(x.shape().cols()) +
                     " columns do not fit the int32 indices it returns (" + x.describe() + ")");
  }
  if (out.numel() == 0) return;
  detail::op_backend(device).argmax_rows(x, out);
}

Tensor argmax_rows(const Tensor& x) {
  detail::check_same_device("argmax_rows", {{"x", &x}});
  detail::check_min_rank("argmax_rows", {"x", &x}, 1);
  Tensor out = Tensor::empty({x.shape().rows()}, x.device(), DType::kInt32);
  argmax_rows_out(x, out);
  return out;
}

}  // namespace axon
