// GEMM through cuBLAS. axon's tensors are row-major and cuBLAS is column-major: a row-major
// [r, c] matrix is, read column-major, its transpose [c, r] with leading dimension c. So
//   C = op(A) op(B)   (row-major, m x n)
// is computed as the column-major product
//   C^T = op(B)^T op(A)^T   (n x m, ldc = n)
// by passing B first with its own op flag, then A: cublasSgemm(opB, opA, n, m, k, B, ldb, A, lda).
// The leading dimension of each operand is its stored row length (its dim(1)).
// axon::allow_tf32() (axon/precision.h) switches the handle to TF32 tensor-core math per call.
#include <climits>
#include <string>

#include "axon/error.h"
#include "axon/precision.h"
#include "cuda/cuda_backend.h"
#include "cuda/cuda_check.h"

namespace axon::cuda {

namespace {

int as_blas_int(std::int64_t value, const char* what) {
  if (value > INT_MAX) {
    throw ValueError(std::string("axon::gemm on CUDA: ") + what + " = " + std::to_string(value) +
                     " exceeds cuBLAS's 32-bit limit " + std::to_string(INT_MAX));
  }
  return static_cast<int>(value);
}

}  // namespace

void CudaBackend::gemm(bool transpose_a, bool transpose_b, float alpha, const Tensor& a,
                       const Tensor& b, float beta, const Tensor& c) {
  DeviceGuard guard(index_);
  const std::int64_t m = c.dim(0);
  const std::int64_t n = c.dim(1);
  const std::int64_t k = transpose_a ? a.dim(0) : a.dim(1);
  if (m == 0 || n == 0) return;
  float* c_data = c.data<float>();
  if (k == 0) {  // an empty product: c = beta * c (and c is not read when beta == 0)
    if (beta == 0.0f) {
      launch_fill_f32(launch(), c_data, m * n, 0.0f);
    } else {
      launch_scale(launch(), c_data, beta, c_data, m * n);
    }
    return;
  }
  const int bm = as_blas_int(m, "m");
  const int bn = as_blas_int(n, "n");
  const int bk = as_blas_int(k, "k");
  const int lda = as_blas_int(a.dim(1), "lda");
  const int ldb = as_blas_int(b.dim(1), "ldb");
  const cublasOperation_t op_a = transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  // The math mode is a property of the handle: set it and call under one lock, so two threads
  // sharing this device cannot interleave a mode change with the other's GEMM.
  std::lock_guard lock(cublas_mutex_);
  AXON_CUBLAS_CHECK(cublasSetMathMode(
      cublas_.get(), allow_tf32() ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  // With beta == 0 cuBLAS does not read C (it may hold NaN), as the Backend contract requires.
  AXON_CUBLAS_CHECK(cublasSgemm(cublas_.get(), op_b, op_a, bn, bm, bk, &alpha, b.data<float>(), ldb,
                                a.data<float>(), lda, &beta, c_data, bn));
}

}  // namespace axon::cuda
