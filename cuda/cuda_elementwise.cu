// Fills, random fills (Philox, the same numbers as the CPU), binary ops, scale, axpy, bias_add.
// Grid-stride loops; float4 loads and stores when every pointer is 16-byte aligned, then a
// scalar tail.
#include "core/src/philox.h"
#include "cuda/cuda_check.h"
#include "cuda/cuda_common.cuh"

namespace axon::cuda {

namespace {

__global__ void fill_f32_kernel(float* out, std::int64_t n, float value, bool vec) {
  const std::int64_t start = global_thread(), stride = grid_stride();
  const std::int64_t n4 = vec ? n / 4 : 0;
  const float4 v4 = make_float4(value, value, value, value);
  for (std::int64_t i = start; i < n4; i += stride) reinterpret_cast<float4*>(out)[i] = v4;
  for (std::int64_t i = n4 * 4 + start; i < n; i += stride) out[i] = value;
}

__global__ void fill_i32_kernel(std::int32_t* out, std::int64_t n, std::int32_t value) {
  for (std::int64_t i = global_thread(); i < n; i += grid_stride()) out[i] = value;
}

__global__ void fill_uniform_kernel(float* out, std::int64_t n, float low, float high,
                                    std::uint64_t seed, std::uint64_t offset) {
  for (std::int64_t i = global_thread(); i < n; i += grid_stride()) {
    out[i] = philox::uniform_at(seed, offset, static_cast<std::uint64_t>(i), low, high);
  }
}

__global__ void fill_normal_kernel(float* out, std::int64_t n, float mean, float stddev,
                                   std::uint64_t seed, std::uint64_t offset) {
  for (std::int64_t i = global_thread(); i < n; i += grid_stride()) {
    out[i] = philox::normal_at(seed, offset, static_cast<std::uint64_t>(i), mean, stddev);
  }
}

__device__ __forceinline__ float apply_binary(BinaryOp op, float a, float b) {
  switch (op) {
    case BinaryOp::kAdd: return a + b;
    case BinaryOp::kSub: return a - b;
    case BinaryOp::kMul: return a * b;
  }
  return a + b;
}

__global__ void binary_kernel(BinaryOp op, const float* a, const float* b, float* out,
                              std::int64_t n, bool vec) {
  const std::int64_t start = global_thread(), stride = grid_stride();
  const std::int64_t n4 = vec ? n / 4 : 0;
  for (std::int64_t i = start; i < n4; i += stride) {
    const float4 va = reinterpret_cast<const float4*>(a)[i];
    const float4 vb = reinterpret_cast<const float4*>(b)[i];
    float4 r;
    r.x = apply_binary(op, va.x, vb.x);
    r.y = apply_binary(op, va.y, vb.y);
    r.z = apply_binary(op, va.z, vb.z);
    r.w = apply_binary(op, va.w, vb.w);
    reinterpret_cast<float4*>(out)[i] = r;
  }
  for (std::int64_t i = n4 * 4 + start; i < n; i += stride) out[i] = apply_binary(op, a[i], b[i]);
}

__global__ void scale_kernel(const float* x, float alpha, float* out, std::int64_t n, bool vec) {
  const std::int64_t start = global_thread(), stride = grid_stride();
  const std::int64_t n4 = vec ? n / 4 : 0;
  for (std::int64_t i = start; i < n4; i += stride) {
    float4 v = reinterpret_cast<const float4*>(x)[i];
    v.x *= alpha;
    v.y *= alpha;
    v.z *= alpha;
    v.w *= alpha;
    reinterpret_cast<float4*>(out)[i] = v;
  }
  for (std::int64_t i = n4 * 4 + start; i < n; i += stride) out[i] = alpha * x[i];
}

// y += alpha * x with a separate multiply and add (no FMA contraction), rounded exactly as the
// CPU loop rounds it.
__global__ void axpy_kernel(float alpha, const float* x, float* y, std::int64_t n, bool vec) {
  const std::int64_t start = global_thread(), stride = grid_stride();
  const std::int64_t n4 = vec ? n / 4 : 0;
  for (std::int64_t i = start; i < n4; i += stride) {
    const float4 vx = reinterpret_cast<const float4*>(x)[i];
    float4 vy = reinterpret_cast<float4*>(y)[i];
    vy.x = __fadd_rn(vy.x, __fmul_rn(alpha, vx.x));
    vy.y = __fadd_rn(vy.y, __fmul_rn(alpha, vx.y));
    vy.z = __fadd_rn(vy.z, __fmul_rn(alpha, vx.z));
    vy.w = __fadd_rn(vy.w, __fmul_rn(alpha, vx.w));
    reinterpret_cast<float4*>(y)[i] = vy;
  }
  for (std::int64_t i = n4 * 4 + start; i < n; i += stride) y[i] = __fadd_rn(y[i], __fmul_rn(alpha, x[i]));
}

// vec: cols % 4 == 0 and x, bias, out 16-byte aligned, so a float4 never crosses a row and
// bias + (i*4 % cols) is aligned too.
__global__ void bias_add_kernel(const float* x, const float* bias, float* out, std::int64_t n,
                                std::int64_t cols, bool vec) {
  const std::int64_t start = global_thread(), stride = grid_stride();
  if (vec) {
    const std::int64_t n4 = n / 4;
    for (std::int64_t i = start; i < n4; i += stride) {
      const float4 vx = reinterpret_cast<const float4*>(x)[i];
      const float4 vb = *reinterpret_cast<const float4*>(bias + (i * 4) % cols);
      reinterpret_cast<float4*>(out)[i] =
          make_float4(vx.x + vb.x, vx.y + vb.y, vx.z + vb.z, vx.w + vb.w);
    }
    return;  // n is a multiple of cols, hence of 4: no tail
  }
  for (std::int64_t i = start; i < n; i += stride) out[i] = x[i] + bias[i % cols];
}

}  // namespace

void launch_fill_f32(const LaunchConfig& lc, float* out, std::int64_t n, float value) {
  if (n <= 0) return;
  const bool vec = aligned16(out);
  fill_f32_kernel<<<grid_for(lc, vec ? ceil_div(n, 4) : n), kThreads, 0, lc.stream>>>(out, n, value, vec);
  AXON_KERNEL_CHECK("fill_f32_kernel");
}

void launch_fill_i32(const LaunchConfig& lc, std::int32_t* out, std::int64_t n, std::int32_t value) {
  if (n <= 0) return;
  fill_i32_kernel<<<grid_for(lc, n), kThreads, 0, lc.stream>>>(out, n, value);
  AXON_KERNEL_CHECK("fill_i32_kernel");
}

void launch_fill_uniform(const LaunchConfig& lc, float* out, std::int64_t n, float low, float high,
                         std::uint64_t seed, std::uint64_t offset) {
  if (n <= 0) return;
  fill_uniform_kernel<<<grid_for(lc, n), kThreads, 0, lc.stream>>>(out, n, low, high, seed, offset);
  AXON_KERNEL_CHECK("fill_uniform_kernel");
}

void launch_fill_normal(const LaunchConfig& lc, float* out, std::int64_t n, float mean,
                        float stddev, std::uint64_t seed, std::uint64_t offset) {
  if (n <= 0) return;
  fill_normal_kernel<<<grid_for(lc, n), kThreads, 0, lc.stream>>>(out, n, mean, stddev, seed, offset);
  AXON_KERNEL_CHECK("fill_normal_kernel");
}

void launch_binary(const LaunchConfig& lc, BinaryOp op, const float* a, const float* b, float* out,
                   std::int64_t n) {
  if (n <= 0) return;
  const bool vec = aligned16(a) && aligned16(b) && aligned16(out);
  binary_kernel<<<grid_for(lc, vec ? ceil_div(n, 4) : n), kThreads, 0, lc.stream>>>(op, a, b, out, n, vec);
  AXON_KERNEL_CHECK("binary_kernel");
}

void launch_scale(const LaunchConfig& lc, const float* x, float alpha, float* out, std::int64_t n) {
  if (n <= 0) return;
  const bool vec = aligned16(x) && aligned16(out);
  scale_kernel<<<grid_for(lc, vec ? ceil_div(n, 4) : n), kThreads, 0, lc.stream>>>(x, alpha, out, n, vec);
  AXON_KERNEL_CHECK("scale_kernel");
}

void launch_axpy(const LaunchConfig& lc, float alpha, const float* x, float* y, std::int64_t n) {
  if (n <= 0) return;
  const bool vec = aligned16(x) && aligned16(y);
  axpy_kernel<<<grid_for(lc, vec ? ceil_div(n, 4) : n), kThreads, 0, lc.stream>>>(alpha, x, y, n, vec);
  AXON_KERNEL_CHECK("axpy_kernel");
}

void launch_bias_add(const LaunchConfig& lc, const float* x, const float* bias, float* out,
                     std::int64_t rows, std::int64_t cols) {
  const std::int64_t n = rows * cols;
  if (n <= 0) return;
  const bool vec = cols % 4 == 0 && aligned16(x) && aligned16(bias) && aligned16(out);
  bias_add_kernel<<<grid_for(lc, vec ? n / 4 : n), kThreads, 0, lc.stream>>>(x, bias, out, n, cols, vec);
  AXON_KERNEL_CHECK("bias_add_kernel");
}

}  // namespace axon::cuda
