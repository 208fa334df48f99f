// Training kernels: dropout, clamp, gradient-norm clipping and the optimizer steps. Each
// optimizer step is one threaded pass over the flat parameters, with torch.optim's formulas
// in its order of float operations.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "axon/error.h"

#include "core/src/philox.h"
#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"

namespace axon::cpu {

void CpuBackend::gather_rows(const Tensor& x, const Tensor& indices, const Tensor& out) {
  const std::int64_t rows = x.dim(0);
  const std::int64_t count = indices.numel();
  const std::int32_t* index = indices.data<std::int32_t>();
  // Every index is checked before anything is written.
  for (std::int64_t i = 0; i < count; ++i) {
    if (index[i] < 0 || index[i] >= rows) {
      throw ValueError("axon::gather_rows: index " + std::to_string(index[i]) + " at position " + std::to_string(i) +
                       " is outside [0, " + std::to_string(rows) + ") (x " + x.describe() + ")");
    }
  }
  const std::size_t row_bytes = static_cast<std::size_t>(x.numel() / rows) * dtype_size(x.dtype());
  // Rows are copied as bytes: the same code for float32 and int32.
  const auto bytes_of = [](const Tensor& t) {
    return t.dtype() == DType::kInt32 ? reinterpret_cast<char*>(t.data<std::int32_t>())
                                      : reinterpret_cast<char*>(t.data<float>());
  };
  const char* source = bytes_of(x);
  char* target = bytes_of(out);
  parallel_for_rows(count, static_cast<std::int64_t>(row_bytes / 4), [=](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      std::memcpy(target + static_cast<std::size_t>(i) * row_bytes, source + static_cast<std::size_t>(index[i]) * row_bytes,
                  row_bytes);
    }
  });
}

void CpuBackend::dropout(float p, PhiloxSlice slice, const Tensor& x, const Tensor& y, const Tensor& mask) {
  const std::int64_t n = x.numel();
  const float* in = x.data<float>();
  float* out = y.data<float>();
  float* m = mask.data<float>();
  const float scale = 1.0f / (1.0f - p);
  parallel_for(n, kParallelElements / 8, [=](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      const philox::Block block = philox::generate(slice.seed, slice.offset + static_cast<std::uint64_t>(i) / 4);
      const float keep = philox::to_unit_float(block.v[i % 4]) >= p ? scale : 0.0f;
      m[i] = keep;
      out[i] = in[i] * keep;
    }
  });
}

void CpuBackend::clamp(const Tensor& x, float low, float high, const Tensor& out) {
  // NaN stays NaN, as torch.clamp.
  map_unary(x.numel(), x.data<float>(), out.data<float>(),
            [=](float v) { return v < low ? low : (v > high ? high : v); });
}

void CpuBackend::clip_grad_norm(const Tensor& grads, float max_norm, const Tensor& total_norm) {
  const std::int64_t n = grads.numel();
  float* g = grads.data<float>();
  const double sum_squares = parallel_reduce(
      n >= kParallelElements, n, 16, 0.0,
      [=](std::int64_t begin, std::int64_t end) {
        double total = 0.0;
#pragma omp simd reduction(+ : total)
        for (std::int64_t i = begin; i < end; ++i) total += static_cast<double>(g[i]) * g[i];
        return total;
      },
      [](double a, double b) { return a + b; });
  const auto norm = static_cast<float>(std::sqrt(sum_squares));
  *total_norm.data<float>() = norm;
  // As torch.nn.utils.clip_grad_norm_: the factor in float, applied even when it is 1.
  const float factor = std::min(max_norm / (norm + 1e-6f), 1.0f);
  map_unary(n, g, g, [=](float v) { return v * factor; });
}

void CpuBackend::sgd_step(const SgdHyper& h, const Tensor& params, const Tensor& grads,
                          const Tensor& momentum_buffer) {
  const std::int64_t n = params.numel();
  float* p = params.data<float>();
  const float* g = grads.data<float>();
  float* buf = h.momentum != 0.0f ? momentum_buffer.data<float>() : nullptr;
  parallel_for(n, kParallelElements, [=](std::int64_t begin, std::int64_t end) {
    float* param = p;
    const float* grad = g;
    float* buffer = buf;
    for (std::int64_t i = begin; i < end; ++i) {
      float d = grad[i];
      if (h.weight_decay != 0.0f) d = d + h.weight_decay * param[i];
      if (buffer != nullptr) {
        const float b = h.first_step ? d : buffer[i] * h.momentum + (1.0f - h.dampening) * d;
        buffer[i] = b;
        d = h.nesterov ? d + h.momentum * b : b;
      }
      param[i] = param[i] + (-h.lr) * d;
    }
  });
}

void CpuBackend::adagrad_step(const AdagradHyper& h, const Tensor& params, const Tensor& grads,
                              const Tensor& state_sum) {
  const std::int64_t n = params.numel();
  float* p = params.data<float>();
  const float* g = grads.data<float>();
  float* s = state_sum.data<float>();
  parallel_for(n, kParallelElements, [=](std::int64_t begin, std::int64_t end) {
    float* param = p;
    const float* grad = g;
    float* sum = s;
    for (std::int64_t i = begin; i < end; ++i) {
      float d = grad[i];
      if (h.weight_decay != 0.0f) d = d + h.weight_decay * param[i];
      sum[i] = sum[i] + d * d;
      const float std_dev = std::sqrt(sum[i]) + h.eps;
      param[i] = param[i] + (-h.lr) * d / std_dev;
    }
  });
}

void CpuBackend::rmsprop_step(const RmspropHyper& h, const Tensor& params, const Tensor& grads,
                              const Tensor& square_avg, const Tensor& momentum_buffer, const Tensor& grad_avg) {
  const std::int64_t n = params.numel();
  float* p = params.data<float>();
  const float* g = grads.data<float>();
  float* sq = square_avg.data<float>();
  float* buf = h.momentum > 0.0f ? momentum_buffer.data<float>() : nullptr;
  float* ga = h.centered ? grad_avg.data<float>() : nullptr;
  parallel_for(n, kParallelElements, [=](std::int64_t begin, std::int64_t end) {
    float* param = p;
    const float* grad = g;
    float* square = sq;
    float* buffer = buf;
    float* average = ga;
    for (std::int64_t i = begin; i < end; ++i) {
      float d = grad[i];
      if (h.weight_decay != 0.0f) d = d + h.weight_decay * param[i];
      square[i] = square[i] * h.alpha + (1.0f - h.alpha) * d * d;
      float avg = 0.0f;
      if (average != nullptr) {
        average[i] = average[i] + (1.0f - h.alpha) * (d - average[i]);  // lerp toward d
        avg = std::sqrt(square[i] - average[i] * average[i]);
      } else {
        avg = std::sqrt(square[i]);
      }
      avg = avg + h.eps;
      if (buffer != nullptr) {
        buffer[i] = buffer[i] * h.momentum + d / avg;
        param[i] = param[i] + (-h.lr) * buffer[i];
      } else {
        param[i] = param[i] + (-h.lr) * d / avg;
      }
    }
  });
}

void CpuBackend::adam_step(const AdamHyper& h, const Tensor& params, const Tensor& grads, const Tensor& exp_avg,
                           const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq) {
  const std::int64_t n = params.numel();
  float* p = params.data<float>();
  const float* g = grads.data<float>();
  float* m = exp_avg.data<float>();
  float* v = exp_avg_sq.data<float>();
  float* v_max = h.amsgrad ? max_exp_avg_sq.data<float>() : nullptr;
  const float decay = 1.0f - h.lr * h.weight_decay;  // AdamW's decoupled decay factor
  parallel_for(n, kParallelElements, [=](std::int64_t begin, std::int64_t end) {
    float* param = p;
    const float* grad = g;
    float* first = m;
    float* second = v;
    float* second_max = v_max;
    for (std::int64_t i = begin; i < end; ++i) {
      float d = grad[i];
      if (h.weight_decay != 0.0f) {
        if (h.decoupled_weight_decay) {
          param[i] = param[i] * decay;
        } else {
          d = d + h.weight_decay * param[i];
        }
      }
      first[i] = first[i] + (1.0f - h.beta1) * (d - first[i]);  // lerp toward d
      second[i] = second[i] * h.beta2 + (1.0f - h.beta2) * d * d;
      float denominator_source = second[i];
      if (second_max != nullptr) {
        second_max[i] = std::max(second_max[i], second[i]);
        denominator_source = second_max[i];
      }
      const float denominator = std::sqrt(denominator_source) / h.bias_correction2_sqrt + h.eps;
      param[i] = param[i] + (-h.step_size) * first[i] / denominator;
    }
  });
}

}  // namespace axon::cpu
