// GEMM on oneDNN or OpenBLAS (axon/cpu_gemm.h), bias add and bias gradient.
#include <cblas.h>

#include <algorithm>

#include "cpu/cpu_backend.h"
#include "cpu/onednn_gemm.h"
#include "cpu/parallel.h"

namespace axon::cpu {

void CpuBackend::gemm(bool transpose_a, bool transpose_b, float alpha, const Tensor& a, const Tensor& b,
                      float beta, const Tensor& c) {
  const auto m = static_cast<int>(c.dim(0));
  const auto n = static_cast<int>(c.dim(1));
  const auto k = static_cast<int>(transpose_a ? a.dim(0) : a.dim(1));
  if (m == 0 || n == 0) return;
  if (k == 0) {  // an empty product: c = beta * c (BLAS leaves this case to the caller)
    if (beta == 0.0f) {
      fill(c, 0.0f);
    } else {
      scale(c, beta, c);
    }
    return;
  }
  if (gemm_on_onednn()) {
    onednn::multiply({.transpose_a = transpose_a,
                      .transpose_b = transpose_b,
                      .m = m,
                      .n = n,
                      .k = k,
                      .alpha = alpha,
                      .beta = beta,
                      .a = a.data<float>(),
                      .lda = a.dim(1),
                      .b = b.data<float>(),
                      .ldb = b.dim(1),
                      .c = c.data<float>(),
                      .ldc = n},
                     gemm_threads());
    return;
  }
  const BlasCall blas_call;  // see cpu_threading.cpp: no pool-size change inside a GEMM
  // Row-major storage: the leading dimension is the stored row length.
  cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans, transpose_b ? CblasTrans : CblasNoTrans,
              m, n, k, alpha, a.data<float>(), static_cast<int>(a.dim(1)), b.data<float>(),
              static_cast<int>(b.dim(1)), beta, c.data<float>(), n);
}

void CpuBackend::bias_add(const Tensor& x, const Tensor& bias, const Tensor& out) {
  const std::int64_t rows = x.shape().rows();
  const std::int64_t cols = x.shape().cols();
  const float* in = x.data<float>();
  const float* b = bias.data<float>();
  float* result = out.data<float>();
  parallel_for_rows(rows, cols, [=](std::int64_t first, std::int64_t end) {
    for (std::int64_t r = first; r < end; ++r) {
      const float* in_row = in + r * cols;
      float* out_row = result + r * cols;
      const float* bias_row = b;
#pragma omp simd
      for (std::int64_t col = 0; col < cols; ++col) out_row[col] = in_row[col] + bias_row[col];
    }
  });
}

namespace {
// Columns [begin, end) of the column sums: float over row blocks, the blocks in double
// (parallel.h, kSumRowBlock).
AXON_VECTOR_CLONES void column_sums(const float* g, float* sums, std::int64_t rows, std::int64_t cols,
                                    std::int64_t begin, std::int64_t end) {
  double totals[kColumnBlock] = {};
  float partial[kColumnBlock];
  const std::int64_t width = end - begin;
  for (std::int64_t block = 0; block < rows; block += kSumRowBlock) {
    for (std::int64_t c = 0; c < width; ++c) partial[c] = 0.0f;
    const std::int64_t block_end = std::min(rows, block + kSumRowBlock);
    for (std::int64_t r = block; r < block_end; ++r) {
      const float* row = g + r * cols + begin;
#pragma omp simd
      for (std::int64_t c = 0; c < width; ++c) partial[c] += row[c];
    }
    for (std::int64_t c = 0; c < width; ++c) totals[c] += partial[c];
  }
  for (std::int64_t c = 0; c < width; ++c) sums[begin + c] = static_cast<float>(totals[c]);
}
}  // namespace

void CpuBackend::bias_grad(const Tensor& grad, const Tensor& out) {
  const std::int64_t rows = grad.shape().rows();
  const std::int64_t cols = grad.shape().cols();
  const float* g = grad.data<float>();
  float* sums = out.data<float>();
  parallel_column_blocks(rows, cols, [=](std::int64_t begin, std::int64_t end) { column_sums(g, sums, rows, cols, begin, end); });
}

}  // namespace axon::cpu
