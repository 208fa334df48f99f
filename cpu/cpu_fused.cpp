// Fused ops: Dense forward (GEMM, then bias + activation in one pass) and backward (activation
// derivative + bias gradient in one pass).
#include "cpu/vector_math.h"  // first: gives the math calls below their vector versions
#include "core/src/kernels/activation_math.h"
#include "cpu/cpu_backend.h"
#include "cpu/onednn_gemm.h"
#include "cpu/parallel.h"

namespace axon::cpu {

void CpuBackend::bias_activation(Activation kind, float alpha, const Tensor& x, const Tensor& bias,
                                 const Tensor& pre, const Tensor& y) {
  const std::int64_t rows = x.dim(0);
  const std::int64_t cols = x.dim(1);
  const float* in = x.data<float>();
  const float* b = bias.data<float>();
  float* pre_data = pre.data<float>();
  float* out = y.data<float>();
  kernels::with_activation(kind, [=](auto kind_constant) {
    constexpr Activation kKind = decltype(kind_constant)::value;
    parallel_for_rows(rows, cols, [=](std::int64_t begin, std::int64_t end) {
      for (std::int64_t r = begin; r < end; ++r) {
        const float* in_row = in + r * cols;
        float* pre_row = pre_data + r * cols;
        float* out_row = out + r * cols;
        const float* bias_row = b;
#pragma omp simd
        for (std::int64_t col = 0; col < cols; ++col) {
          const float value = in_row[col] + bias_row[col];
          pre_row[col] = value;
          out_row[col] = kernels::activate<kKind>(alpha, value);
        }
      }
    });
  });
}

void CpuBackend::activation_backward_bias_grad(Activation kind, float alpha, const Tensor& pre, const Tensor& y,
                                               const Tensor& grad_y, const Tensor& grad_pre,
                                               const Tensor& grad_bias) {
  const std::int64_t rows = pre.dim(0);
  const std::int64_t cols = pre.dim(1);
  const float* p = pre.data<float>();
  const float* out = y.data<float>();
  const float* g = grad_y.data<float>();
  float* gp = grad_pre.data<float>();
  float* gb = grad_bias.data<float>();
  kernels::with_activation(kind, [=](auto kind_constant) {
    constexpr Activation kKind = decltype(kind_constant)::value;
    parallel_column_blocks(rows, cols, [=](std::int64_t begin, std::int64_t end) {
      float* sums = gb;
      for (std::int64_t col = begin; col < end; ++col) sums[col] = 0.0f;
      for (std::int64_t r = 0; r < rows; ++r) {
        const std::int64_t offset = r * cols;
        const float* p_row = p + offset;
        const float* out_row = out + offset;
        const float* g_row = g + offset;
        float* gp_row = gp + offset;
#pragma omp simd
        for (std::int64_t col = begin; col < end; ++col) {
          const float value = g_row[col] * kernels::derivative<kKind>(alpha, p_row[col], out_row[col]);
          gp_row[col] = value;
          sums[col] += value;
        }
      }
    });
  });
}

void CpuBackend::linear(Activation kind, float alpha, const Tensor& x, const Tensor& w, const Tensor& bias,
                        const Tensor& pre, const Tensor& y) {
  // The product lands in pre (or in y when pre is not kept). oneDNN adds the bias as it writes
  // the product (after the whole sum, as a separate pass would) and f runs after it: oneDNN's
  // eltwise post-ops do not keep NaN as ours do (its ReLU maps NaN to 0). With OpenBLAS, bias
  // and f run in one pass after the GEMM.
  const Tensor& product = pre.defined() ? pre : y;
  const std::int64_t rows = x.dim(0), in = x.dim(1), out = w.dim(0);
  if (rows > 0 && in > 0 && out > 0 && gemm_on_onednn()) {
    onednn::multiply({.transpose_b = true,
                      .m = rows,
                      .n = out,
                      .k = in,
                      .a = x.data<float>(),
                      .lda = in,
                      .b = w.data<float>(),
                      .ldb = in,
                      .c = product.data<float>(),
                      .ldc = out,
                      .bias = bias.data<float>()},
                     gemm_threads());
    if (kind != Activation::kIdentity || pre.defined()) activation_forward(kind, alpha, product, y);
    return;
  }
  gemm(false, true, 1.0f, x, w, 0.0f, product);
  bias_activation(kind, alpha, product, bias, product, y);
}

}  // namespace axon::cpu
