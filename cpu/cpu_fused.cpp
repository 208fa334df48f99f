// Fused ops: Dense forward (GEMM, then bias + activation in one pass) and backward (activation
// derivative + bias gradient in one pass).
#include <algorithm>

#include "cpu/vector_math.h"  // first: gives the math calls below their vector versions
#include "core/src/kernels/activation_math.h"
#include "cpu/cpu_backend.h"
#include "cpu/onednn_gemm.h"
#include "cpu/parallel.h"

namespace axon::cpu {

namespace {

// Rows [first, end) of pre = x + bias, y = f(pre).
template <Activation kKind>
AXON_VECTOR_CLONES void bias_activation_rows(ActivationConstants constants, const float* in, const float* bias, float* pre, float* out,
                                             std::int64_t cols, std::int64_t first, std::int64_t end) {
  for (std::int64_t r = first; r < end; ++r) {
    const float* in_row = in + r * cols;
    float* pre_row = pre + r * cols;
    float* out_row = out + r * cols;
#pragma omp simd
    for (std::int64_t col = 0; col < cols; ++col) {
      const float value = in_row[col] + bias[col];
      pre_row[col] = value;
      out_row[col] = kernels::activate<kKind>(constants, value);
    }
  }
}

// Columns [begin, end) (at most kColumnBlock) of grad_pre = grad_y * f'(pre) and their sums
// over all rows: in float over blocks of kSumRowBlock rows, the blocks in double (parallel.h).
// One thread owns a column: the sums do not depend on the thread count.
template <Activation kKind>
AXON_VECTOR_CLONES void backward_bias_grad_columns(ActivationConstants constants, const float* pre, const float* y, const float* grad_y,
                                                   float* grad_pre, float* sums, std::int64_t rows, std::int64_t cols,
                                                   std::int64_t begin, std::int64_t end) {
  double totals[kColumnBlock] = {};
  float partial[kColumnBlock];
  const std::int64_t width = end - begin;
  for (std::int64_t block = 0; block < rows; block += kSumRowBlock) {
    for (std::int64_t c = 0; c < width; ++c) partial[c] = 0.0f;
    const std::int64_t block_end = std::min(rows, block + kSumRowBlock);
    for (std::int64_t r = block; r < block_end; ++r) {
      const std::int64_t offset = r * cols + begin;
      const float* p_row = pre + offset;
      const float* y_row = y + offset;
      const float* g_row = grad_y + offset;
      float* gp_row = grad_pre + offset;
#pragma omp simd
      for (std::int64_t c = 0; c < width; ++c) {
        const float value = g_row[c] * kernels::derivative<kKind>(constants, p_row[c], y_row[c]);
        gp_row[c] = value;
        partial[c] += value;
      }
    }
    for (std::int64_t c = 0; c < width; ++c) totals[c] += partial[c];
  }
  for (std::int64_t c = 0; c < width; ++c) sums[begin + c] = static_cast<float>(totals[c]);
}

}  // namespace

void CpuBackend::bias_activation(Activation kind, ActivationConstants constants, const Tensor& x, const Tensor& bias,
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
      bias_activation_rows<kKind>(constants, in, b, pre_data, out, cols, begin, end);
    });
  });
}

void CpuBackend::activation_backward_bias_grad(Activation kind, ActivationConstants constants, const Tensor& pre, const Tensor& y,
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
      backward_bias_grad_columns<kKind>(constants, p, out, g, gp, gb, rows, cols, begin, end);
    });
  });
}

void CpuBackend::linear(Activation kind, ActivationConstants constants, const Tensor& x, const Tensor& w, const Tensor& bias,
                        const Tensor& pre, const Tensor& y) {
  // The product lands in pre (or in y when pre is not kept). With many rows oneDNN adds the bias
  // as it writes the product (after the whole sum, as a separate pass would) and f runs after
  // it: oneDNN's eltwise post-ops do not keep NaN as ours do (its ReLU maps NaN to 0). With few
  // rows its gemm kernels would add the bias in a threaded pass of their own (~1 us a layer at
  // batch 1 on two threads), and with OpenBLAS: bias and f then run in one pass of ours.
  const Tensor& product = pre.defined() ? pre : y;
  const std::int64_t rows = x.dim(0), in = x.dim(1), out = w.dim(0);
  if (rows >= onednn::kFewRows && in > 0 && out > 0 && gemm_on_onednn()) {
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
    if (kind != Activation::kIdentity || pre.defined()) activation_forward(kind, constants, product, y);
    return;
  }
  gemm(false, true, 1.0f, x, w, 0.0f, product);
  bias_activation(kind, constants, product, bias, product, y);
}

}  // namespace axon::cpu
