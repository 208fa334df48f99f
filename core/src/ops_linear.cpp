// matmul / gemm / bias: the linear half of a Dense layer.
#include "axon/backend.h"
#include "axon/ops.h"
#include "core/src/check.h"
#include "core/src/dispatch.h"

namespace axon {

using detail::Arg;

namespace {

struct GemmDims {
  std::int64_t m, n, k;
};

// The sizes of op(a) @ op(b), after checking both are 2-D float32 on one device with matching
// inner dimensions and sizes BLAS can take. Shared by gemm and matmul.
GemmDims check_gemm_inputs(const char* op, const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b) {
  detail::check_same_device(op, {{"a", &a}, {"b", &b}});
  detail::check_dtype(op, {{"a", &a}, {"b", &b}}, DType::kFloat32);
  detail::check_rank(op, {"a", &a}, 2);
  detail::check_rank(op, {"b", &b}, 2);
  const GemmDims dims{transpose_a ? a.dim(1) : a.dim(0), transpose_b ? b.dim(0) : b.dim(1),
                      transpose_a ? a.dim(0) : a.dim(1)};
  const std::int64_t k_b = transpose_b ? b.dim(1) : b.dim(0);
  if (dims.k != k_b) {
    detail::throw_shape(op,
                        "inner dimensions differ: op(a) is " + Shape{dims.m, dims.k}.str() + ", op(b) is " +
                            Shape{k_b, dims.n}.str() + " (transpose_a=" + (transpose_a ? "true" : "false") +
                            ", transpose_b=" + (transpose_b ? "true" : "false") + ")",
                        {{"a", &a}, {"b", &b}});
  }
  detail::check_blas_sizes(
      op, {{"m", dims.m}, {"n", dims.n}, {"k", dims.k}, {"a's row length", a.dim(1)}, {"b's row length", b.dim(1)}},
      {{"a", &a}, {"b", &b}});
  return dims;
}

}  // namespace

void gemm(const Tensor& a, const Tensor& b, const Tensor& c, float alpha, float beta,
          bool transpose_a, bool transpose_b) {
  constexpr const char* kOp = "gemm";
  const Device device = detail::check_same_device(kOp, {{"a", &a}, {"b", &b}, {"c", &c}});
  const GemmDims dims = check_gemm_inputs(kOp, a, b, transpose_a, transpose_b);
  detail::check_dtype(kOp, {"c", &c}, DType::kFloat32);
  detail::check_shape(kOp, {"c", &c}, Shape{dims.m, dims.n}, {{"a", &a}, {"b", &b}});
  detail::check_disjoint(kOp, {"c", &c}, {{"a", &a}, {"b", &b}});
  if (c.numel() == 0) return;
  detail::op_backend(device).gemm(transpose_a, transpose_b, alpha, a, b, beta, c);
}

Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b) {
  const GemmDims dims = check_gemm_inputs("matmul", a, b, transpose_a, transpose_b);
  Tensor c = Tensor::empty({dims.m, dims.n}, a.device());
  gemm(a, b, c, 1.0f, 0.0f, transpose_a, transpose_b);
  return c;
}

namespace {
void check_bias(const char* op, const Tensor& x, const Tensor& bias) {
  detail::check_dtype(op, {{"x", &x}, {"bias", &bias}}, DType::kFloat32);
  detail::check_min_rank(op, {"x", &x}, 1);
  detail::check_shape(op, {"bias", &bias}, Shape{x.shape().cols()}, {{"x", &x}});
}
}  // namespace

void bias_add_out(const Tensor& x, const Tensor& bias, const Tensor& out) {
  const Device device = detail::check_same_device("bias_add", {{"x", &x}, {"bias", &bias}, {"out", &out}});
  check_bias("bias_add", x, bias);
  detail::check_dtype("bias_add", {"out", &out}, DType::kFloat32);
  detail::check_shape("bias_add", {"out", &out}, x.shape(), {{"x", &x}});
  detail::check_in_place_or_disjoint("bias_add", {"out", &out}, {{"x", &x}});
  detail::check_disjoint("bias_add", {"out", &out}, {{"bias", &bias}});
  if (x.numel() == 0) return;
  detail::op_backend(device).bias_add(x, bias, out);
}

Tensor bias_add(const Tensor& x, const Tensor& bias) {
  detail::check_same_device("bias_add", {{"x", &x}, {"bias", &bias}});
  check_bias("bias_add", x, bias);
  Tensor out = Tensor::empty(x.shape(), x.device());
  bias_add_out(x, bias, out);
  return out;
}

void bias_grad_out(const Tensor& grad, const Tensor& out) {
  const Device device = detail::check_same_device("bias_grad", {{"grad", &grad}, {"out", &out}});
  detail::check_dtype("bias_grad", {{"grad", &grad}, {"out", &out}}, DType::kFloat32);
  detail::check_min_rank("bias_grad", {"grad", &grad}, 1);
  detail::check_shape("bias_grad", {"out", &out}, Shape{grad.shape().cols()}, {{"grad", &grad}});
  detail::check_disjoint("bias_grad", {"out", &out}, {{"grad", &grad}});
  Backend& backend = detail::op_backend(device);
  if (grad.numel() == 0) {  // a sum over no rows is zero (and no columns means nothing to write)
    if (out.numel() > 0) backend.fill(out, 0.0f);
    return;
  }
  backend.bias_grad(grad, out);
}

Tensor bias_grad(const Tensor& grad) {
  detail::check_same_device("bias_grad", {{"grad", &grad}});
  detail::check_min_rank("bias_grad", {"grad", &grad}, 1);
  Tensor out = Tensor::empty({grad.shape().cols()}, grad.device());
  bias_grad_out(grad, out);
  return out;
}

}  // namespace axon
