// Batch and layer normalisation: the shared formulas (core/src/kernels/norm_math.h), each
// channel's (row's, column's) sums in double by one thread in a fixed order (batch norm's over 8
// lanes, channel_sums), so the bits do not depend on the thread count.
// oneDNN's batch normalisation is not used: its statistics are float sums in its own order,
// while these match CUDA's to rounding and torch's float64 truth closer (measured later beside
// oneDNN in the benchmarks).
#include <algorithm>
#include <array>
#include <cmath>

#include "core/src/kernels/norm_math.h"
#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"

namespace axon::cpu {

namespace {
const float* data_or_null(const Tensor& t) { return t.defined() ? t.data<float>() : nullptr; }

template <class Body>
void for_each_channel(const BatchNormShape& s, const Body& body) {
  const bool parallel = s.channels > 1 && s.outer * s.channels * s.inner >= kParallelElements;
  parallel_chunks(parallel, s.channels, 1, [&](std::int64_t first, std::int64_t last) {
    for (std::int64_t c = first; c < last; ++c) body(c);
  });
}
}  // namespace

namespace {

// Per channel, its sums in double over kLanes partial sums (element j of a plane's run to lane
// j % kLanes) added lane by lane at the end: a fixed order that does not depend on the thread
// count, and independent additions that vectorise (one chain of double additions costs 4
// cycles an element). The loops are written out in each function, which is cloned per vector
// width (AXON_VECTOR_CLONES: GCC does not inline a helper of the default target into a clone).
constexpr std::int64_t kLanes = 8;

double add_lanes(const double* lanes) {
  double sum = 0.0;
  for (std::int64_t l = 0; l < kLanes; ++l) sum += lanes[l];
  return sum;
}

AXON_VECTOR_CLONES void batch_norm_train_channel(const BatchNormShape& s, std::int64_t c, const float* in,
                                                 const float* w, const float* b, float* out, float* mean_out,
                                                 float* invstd_out, float* rm, float* rv) {
  const std::int64_t n = s.outer * s.inner, inner = s.inner;
  double sums[kLanes] = {}, squares[kLanes] = {};
  for (std::int64_t p = 0; p < s.outer; ++p) {
    const float* run = in + (p * s.channels + c) * inner;
    std::int64_t j = 0;
    for (; j + kLanes <= inner; j += kLanes) {
      for (std::int64_t l = 0; l < kLanes; ++l) sums[l] += static_cast<double>(run[j + l]);
    }
    for (; j < inner; ++j) sums[j % kLanes] += static_cast<double>(run[j]);
  }
  const double mean = add_lanes(sums) / static_cast<double>(n);
  for (std::int64_t p = 0; p < s.outer; ++p) {
    const float* run = in + (p * s.channels + c) * inner;
    std::int64_t j = 0;
    for (; j + kLanes <= inner; j += kLanes) {
      for (std::int64_t l = 0; l < kLanes; ++l) {
        const double d = static_cast<double>(run[j + l]) - mean;
        squares[l] += d * d;
      }
    }
    for (; j < inner; ++j) {
      const double d = static_cast<double>(run[j]) - mean;
      squares[j % kLanes] += d * d;
    }
  }
  const double var = add_lanes(squares) / static_cast<double>(n);
  const double invstd = 1.0 / std::sqrt(var + static_cast<double>(s.eps));
  mean_out[c] = static_cast<float>(mean);
  invstd_out[c] = static_cast<float>(invstd);
  if (rm != nullptr) kernels::update_running(s, mean, var, n, rm, rv, c);
  const kernels::ChannelAffine a = kernels::train_affine(mean, invstd, w, b, c);
  for (std::int64_t p = 0; p < s.outer; ++p) {
    const std::int64_t start = (p * s.channels + c) * inner;
    const float* run = in + start;
    float* run_out = out + start;
    for (std::int64_t j = 0; j < inner; ++j) run_out[j] = kernels::apply_affine(a, run[j]);
  }
}

AXON_VECTOR_CLONES void batch_norm_eval_channel(const BatchNormShape& s, std::int64_t c, const float* in,
                                                const float* w, const float* b, const float* rm, const float* rv,
                                                float* out) {
  const kernels::ChannelAffine a = kernels::eval_affine(s, w, b, rm, rv, c);
  for (std::int64_t p = 0; p < s.outer; ++p) {
    const std::int64_t start = (p * s.channels + c) * s.inner;
    const float* run = in + start;
    float* run_out = out + start;
    for (std::int64_t j = 0; j < s.inner; ++j) run_out[j] = kernels::apply_affine(a, run[j]);
  }
}

AXON_VECTOR_CLONES void batch_norm_backward_channel(const BatchNormShape& s, std::int64_t c, const float* in,
                                                    const float* dy, const float* w, const float* mean_in,
                                                    const float* invstd_in, float* dx, float* dw, float* db) {
  const double mean = mean_in[c], invstd = invstd_in[c];
  const std::int64_t inner = s.inner;
  double sums[kLanes] = {}, dots[kLanes] = {};
  for (std::int64_t p = 0; p < s.outer; ++p) {
    const std::int64_t start = (p * s.channels + c) * inner;
    const float* x_run = in + start;
    const float* dy_run = dy + start;
    std::int64_t j = 0;
    for (; j + kLanes <= inner; j += kLanes) {
      for (std::int64_t l = 0; l < kLanes; ++l) {
        const double g = dy_run[j + l];
        sums[l] += g;
        dots[l] += g * (static_cast<double>(x_run[j + l]) - mean);
      }
    }
    for (; j < inner; ++j) {
      const double g = dy_run[j];
      sums[j % kLanes] += g;
      dots[j % kLanes] += g * (static_cast<double>(x_run[j]) - mean);
    }
  }
  const double sum_dy = add_lanes(sums), dot = add_lanes(dots);
  if (dw != nullptr) dw[c] = static_cast<float>(dot * invstd);
  if (db != nullptr) db[c] = static_cast<float>(sum_dy);
  if (dx == nullptr) return;
  const kernels::ChannelGrad k = kernels::channel_grad(mean, invstd, w != nullptr ? static_cast<double>(w[c]) : 1.0,
                                                       sum_dy, dot, s.outer * inner);
  for (std::int64_t p = 0; p < s.outer; ++p) {
    const std::int64_t start = (p * s.channels + c) * inner;
    const float* x_run = in + start;
    const float* dy_run = dy + start;
    float* dx_run = dx + start;
    for (std::int64_t j = 0; j < inner; ++j) dx_run[j] = kernels::input_grad(k, x_run[j], dy_run[j]);
  }
}

}  // namespace

void CpuBackend::batch_norm_train(const BatchNormShape& s, const Tensor& x, const Tensor& weight, const Tensor& bias,
                                  const Tensor& y, const Tensor& save_mean, const Tensor& save_invstd,
                                  const Tensor& running_mean, const Tensor& running_var) {
  const float* in = x.data<float>();
  float* out = y.data<float>();
  const float* w = data_or_null(weight);
  const float* b = data_or_null(bias);
  float* mean_out = save_mean.data<float>();
  float* invstd_out = save_invstd.data<float>();
  float* rm = running_mean.defined() ? running_mean.data<float>() : nullptr;
  float* rv = running_var.defined() ? running_var.data<float>() : nullptr;
  for_each_channel(s, [&](std::int64_t c) { batch_norm_train_channel(s, c, in, w, b, out, mean_out, invstd_out, rm, rv); });
}

void CpuBackend::batch_norm_eval(const BatchNormShape& s, const Tensor& x, const Tensor& weight, const Tensor& bias,
                                 const Tensor& running_mean, const Tensor& running_var, const Tensor& y) {
  const float* in = x.data<float>();
  float* out = y.data<float>();
  const float* w = data_or_null(weight);
  const float* b = data_or_null(bias);
  const float* rm = running_mean.data<float>();
  const float* rv = running_var.data<float>();
  for_each_channel(s, [&](std::int64_t c) { batch_norm_eval_channel(s, c, in, w, b, rm, rv, out); });
}

void CpuBackend::batch_norm_backward(const BatchNormShape& s, const Tensor& x, const Tensor& grad_y,
                                     const Tensor& weight, const Tensor& save_mean, const Tensor& save_invstd,
                                     const Tensor& grad_x, const Tensor& grad_weight, const Tensor& grad_bias) {
  const float* in = x.data<float>();
  const float* dy = grad_y.data<float>();
  const float* w = data_or_null(weight);
  const float* mean_in = save_mean.data<float>();
  const float* invstd_in = save_invstd.data<float>();
  float* dx = grad_x.defined() ? grad_x.data<float>() : nullptr;
  float* dw = grad_weight.defined() ? grad_weight.data<float>() : nullptr;
  float* db = grad_bias.defined() ? grad_bias.data<float>() : nullptr;
  for_each_channel(s, [&](std::int64_t c) {
    batch_norm_backward_channel(s, c, in, dy, w, mean_in, invstd_in, dx, dw, db);
  });
}

// ---- layer normalisation: rows on the pool's threads; the weight and bias gradients as column
// sums over the rows in row order, 64 columns per thread at a time ----

void CpuBackend::layer_norm(std::int64_t size, float eps, const Tensor& x, const Tensor& weight, const Tensor& bias,
                            const Tensor& y, const Tensor& save_mean, const Tensor& save_invstd) {
  const float* in = x.data<float>();
  float* out = y.data<float>();
  const float* w = data_or_null(weight);
  const float* b = data_or_null(bias);
  float* mean_out = save_mean.data<float>();
  float* invstd_out = save_invstd.data<float>();
  const std::int64_t rows = x.numel() / size;
  parallel_for_rows(rows, size, [&](std::int64_t first, std::int64_t end) {
    for (std::int64_t r = first; r < end; ++r) {
      const float* row = in + r * size;
      double sum = 0.0;
      for (std::int64_t j = 0; j < size; ++j) sum += row[j];
      const double mean = sum / static_cast<double>(size);
      double squares = 0.0;
      for (std::int64_t j = 0; j < size; ++j) squares += (row[j] - mean) * (row[j] - mean);
      const double invstd = 1.0 / std::sqrt(squares / static_cast<double>(size) + static_cast<double>(eps));
      mean_out[r] = static_cast<float>(mean);
      invstd_out[r] = static_cast<float>(invstd);
      for (std::int64_t j = 0; j < size; ++j) out[r * size + j] = kernels::layer_norm_value(row[j], mean, invstd, w, b, j);
    }
  });
}

void CpuBackend::layer_norm_backward(std::int64_t size, const Tensor& x, const Tensor& grad_y, const Tensor& weight,
                                     const Tensor& save_mean, const Tensor& save_invstd, const Tensor& grad_x,
                                     const Tensor& grad_weight, const Tensor& grad_bias) {
  const float* in = x.data<float>();
  const float* dy = grad_y.data<float>();
  const float* w = data_or_null(weight);
  const float* mean_in = save_mean.data<float>();
  const float* invstd_in = save_invstd.data<float>();
  const std::int64_t rows = x.numel() / size;
  // The parameters' gradients first: grad_x may be grad_y's memory.
  float* dw = grad_weight.defined() ? grad_weight.data<float>() : nullptr;
  float* db = grad_bias.defined() ? grad_bias.data<float>() : nullptr;
  if (dw != nullptr || db != nullptr) {
    constexpr std::int64_t kBlock = 64;
    parallel_chunks(size > kBlock && rows * size >= kParallelElements, size, kBlock,
                    [&](std::int64_t first, std::int64_t end) {
                      for (std::int64_t j0 = first; j0 < end; j0 += kBlock) {
                        const std::int64_t j1 = std::min(end, j0 + kBlock);
                        double acc_w[kBlock] = {}, acc_b[kBlock] = {};
                        for (std::int64_t r = 0; r < rows; ++r) {
                          const double mean = mean_in[r], invstd = invstd_in[r];
                          for (std::int64_t j = j0; j < j1; ++j) {
                            const double g = dy[r * size + j];
                            acc_w[j - j0] += g * (static_cast<double>(in[r * size + j]) - mean) * invstd;
                            acc_b[j - j0] += g;
                          }
                        }
                        for (std::int64_t j = j0; j < j1; ++j) {
                          if (dw != nullptr) dw[j] = static_cast<float>(acc_w[j - j0]);
                          if (db != nullptr) db[j] = static_cast<float>(acc_b[j - j0]);
                        }
                      }
                    });
  }
  if (!grad_x.defined()) return;
  float* dx = grad_x.data<float>();
  parallel_for_rows(rows, size, [&](std::int64_t first, std::int64_t end) {
    for (std::int64_t r = first; r < end; ++r) {
      const double mean = mean_in[r], invstd = invstd_in[r];
      double sum_g = 0.0, dot = 0.0;
      for (std::int64_t j = 0; j < size; ++j) {
        const double g = kernels::layer_norm_g(dy[r * size + j], w, j);
        sum_g += g;
        dot += g * (static_cast<double>(in[r * size + j]) - mean);
      }
      for (std::int64_t j = 0; j < size; ++j) {
        const std::int64_t i = r * size + j;
        dx[i] = kernels::layer_norm_input_grad(kernels::layer_norm_g(dy[i], w, j), in[i], mean, invstd, sum_g, dot, size);
      }
    }
  });
}

}  // namespace axon::cpu
