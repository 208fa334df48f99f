// Activations, their derivatives, and row-wise softmax / log-softmax.
#include <cmath>

#include "cpu/vector_math.h"  // first: gives the math calls below their vector versions
#include "core/src/kernels/activation_math.h"
#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"

namespace axon::cpu {

void CpuBackend::activation_forward(Activation kind, ActivationConstants constants, const Tensor& x, const Tensor& y) {
  const float* in = x.data<float>();
  float* out = y.data<float>();
  const std::int64_t n = x.numel();
  kernels::with_activation(kind, [=](auto kind_constant) {
    constexpr Activation kKind = decltype(kind_constant)::value;
    map_unary(n, in, out, [constants](float v) { return kernels::activate<kKind>(constants, v); });
  });
}

void CpuBackend::activation_backward(Activation kind, ActivationConstants constants, const Tensor& x, const Tensor& y,
                                     const Tensor& grad_y, const Tensor& grad_x) {
  const float* in = x.data<float>();
  const float* out = y.data<float>();
  const float* g = grad_y.data<float>();
  float* result = grad_x.data<float>();
  const std::int64_t n = x.numel();
  kernels::with_activation(kind, [=](auto kind_constant) {
    constexpr Activation kKind = decltype(kind_constant)::value;
    map_ternary(n, in, out, g, result, [constants](float input, float output, float grad) {
      return grad * kernels::derivative<kKind>(constants, input, output);
    });
  });
}

// x is [planes, inner] with plane p in channel p % channels.
void CpuBackend::prelu(const Tensor& x, const Tensor& weight, std::int64_t inner, const Tensor& y) {
  const float* in = x.data<float>();
  const float* slope = weight.data<float>();
  float* out = y.data<float>();
  const std::int64_t channels = weight.numel();
  parallel_for(x.numel(), kParallelElements, [=](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      const float a = slope[(i / inner) % channels];
      out[i] = in[i] > 0.0f ? in[i] : a * in[i];
    }
  });
}

void CpuBackend::prelu_backward(const Tensor& x, const Tensor& weight, const Tensor& grad_y, std::int64_t inner,
                                const Tensor& grad_x, const Tensor& grad_weight) {
  const float* in = x.data<float>();
  const float* slope = weight.data<float>();
  const float* g = grad_y.data<float>();
  float* slope_grad = grad_weight.data<float>();
  const std::int64_t n = x.numel();
  const std::int64_t channels = weight.numel();
  const std::int64_t planes = n / inner;
  // The slopes' gradients first (grad_x may be grad_y's memory): each channel summed by one
  // thread, plane by plane, in double, so the bits do not depend on the thread count.
  parallel_chunks(channels > 1 && n >= kParallelElements, channels, 1, [=](std::int64_t first, std::int64_t last) {
    for (std::int64_t c = first; c < last; ++c) {
      double sum = 0.0;
      for (std::int64_t p = c; p < planes; p += channels) {
        const float* xs = in + p * inner;
        const float* gs = g + p * inner;
        for (std::int64_t j = 0; j < inner; ++j) {
          if (!(xs[j] > 0.0f)) sum += static_cast<double>(gs[j]) * xs[j];
        }
      }
      slope_grad[c] = static_cast<float>(sum);
    }
  });
  if (!grad_x.defined()) return;
  float* result = grad_x.data<float>();
  parallel_for(n, kParallelElements, [=](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      result[i] = in[i] > 0.0f ? g[i] : g[i] * slope[(i / inner) % channels];
    }
  });
}

namespace {

// Max of a row, and the sum of exp(x - max) accumulated in double.
struct RowStats {
  float max;
  double sum_exp;
};

RowStats row_stats(const float* row, std::int64_t cols) {
  float max = row[0];
  for (std::int64_t col = 1; col < cols; ++col) max = row[col] > max ? row[col] : max;
  double sum = 0.0;
  for (std::int64_t col = 0; col < cols; ++col) sum += std::exp(static_cast<double>(row[col] - max));
  return {max, sum};
}

template <class RowFunction>
void for_each_row(const Tensor& x, RowFunction function) {
  const std::int64_t rows = x.shape().rows();
  const std::int64_t cols = x.shape().cols();
  if (cols == 0) return;
  parallel_for_rows(rows, cols, [&](std::int64_t first, std::int64_t end) {
    for (std::int64_t r = first; r < end; ++r) function(r * cols, cols);
  });
}

}  // namespace

void CpuBackend::softmax(const Tensor& x, const Tensor& y) {
  const float* in = x.data<float>();
  float* out = y.data<float>();
  for_each_row(x, [=](std::int64_t start, std::int64_t cols) {
    const RowStats stats = row_stats(in + start, cols);
    const double inverse = 1.0 / stats.sum_exp;
    for (std::int64_t col = 0; col < cols; ++col) {
      out[start + col] = static_cast<float>(std::exp(static_cast<double>(in[start + col] - stats.max)) * inverse);
    }
  });
}

void CpuBackend::log_softmax(const Tensor& x, const Tensor& y) {
  const float* in = x.data<float>();
  float* out = y.data<float>();
  for_each_row(x, [=](std::int64_t start, std::int64_t cols) {
    const RowStats stats = row_stats(in + start, cols);
    const double log_sum = std::log(stats.sum_exp);
    for (std::int64_t col = 0; col < cols; ++col) {
      out[start + col] = static_cast<float>(static_cast<double>(in[start + col] - stats.max) - log_sum);
    }
  });
}

// dx = y * (dy - sum(dy * y))
void CpuBackend::softmax_backward(const Tensor& y, const Tensor& grad_y, const Tensor& grad_x) {
  const float* out = y.data<float>();
  const float* g = grad_y.data<float>();
  float* result = grad_x.data<float>();
  for_each_row(y, [=](std::int64_t start, std::int64_t cols) {
    double dot = 0.0;
    for (std::int64_t col = 0; col < cols; ++col) dot += static_cast<double>(g[start + col]) * out[start + col];
    const auto dot_f = static_cast<float>(dot);
    for (std::int64_t col = 0; col < cols; ++col) result[start + col] = out[start + col] * (g[start + col] - dot_f);
  });
}

// dx = dy - softmax(x) * sum(dy), with softmax(x) = exp(y)
void CpuBackend::log_softmax_backward(const Tensor& y, const Tensor& grad_y, const Tensor& grad_x) {
  const float* out = y.data<float>();
  const float* g = grad_y.data<float>();
  float* result = grad_x.data<float>();
  for_each_row(y, [=](std::int64_t start, std::int64_t cols) {
    double total = 0.0;
    for (std::int64_t col = 0; col < cols; ++col) total += g[start + col];
    const auto total_f = static_cast<float>(total);
    for (std::int64_t col = 0; col < cols; ++col) {
      result[start + col] = g[start + col] - std::exp(out[start + col]) * total_f;
    }
  });
}

}  // namespace axon::cpu
