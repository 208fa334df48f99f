// Activations forward and backward: the formulas of core/src/kernels/activation_math.h, the same
// source the CPU backend compiles, applied elementwise. One kernel per direction: the kind is a
// kernel argument (uniform across the grid, so the switch does not diverge) to keep the number
// of instantiations, and the build time for five architectures, small.
#include "core/src/kernels/activation_math.h"
#include "cuda/cuda_check.h"
#include "cuda/cuda_common.cuh"

namespace axon::cuda {

namespace {

__global__ void activation_forward_kernel(Activation kind, ActivationConstants constants, const float* x, float* y,
                                          std::int64_t n, bool vec) {
  const std::int64_t start = global_thread(), stride = grid_stride();
  const std::int64_t n4 = vec ? n / 4 : 0;
  for (std::int64_t i = start; i < n4; i += stride) {
    float4 v = reinterpret_cast<const float4*>(x)[i];
    v.x = kernels::activate(kind, constants, v.x);
    v.y = kernels::activate(kind, constants, v.y);
    v.z = kernels::activate(kind, constants, v.z);
    v.w = kernels::activate(kind, constants, v.w);
    reinterpret_cast<float4*>(y)[i] = v;
  }
  for (std::int64_t i = n4 * 4 + start; i < n; i += stride) y[i] = kernels::activate(kind, constants, x[i]);
}

__global__ void activation_backward_kernel(Activation kind, ActivationConstants constants, const float* x,
                                           const float* y, const float* grad_y, float* grad_x,
                                           std::int64_t n, bool vec) {
  const std::int64_t start = global_thread(), stride = grid_stride();
  const std::int64_t n4 = vec ? n / 4 : 0;
  for (std::int64_t i = start; i < n4; i += stride) {
    const float4 vx = reinterpret_cast<const float4*>(x)[i];
    const float4 vy = reinterpret_cast<const float4*>(y)[i];
    const float4 vg = reinterpret_cast<const float4*>(grad_y)[i];
    float4 r;
    r.x = vg.x * kernels::derivative(kind, constants, vx.x, vy.x);
    r.y = vg.y * kernels::derivative(kind, constants, vx.y, vy.y);
    r.z = vg.z * kernels::derivative(kind, constants, vx.z, vy.z);
    r.w = vg.w * kernels::derivative(kind, constants, vx.w, vy.w);
    reinterpret_cast<float4*>(grad_x)[i] = r;
  }
  for (std::int64_t i = n4 * 4 + start; i < n; i += stride) {
    grad_x[i] = grad_y[i] * kernels::derivative(kind, constants, x[i], y[i]);
  }
}

}  // namespace

void launch_activation_forward(const LaunchConfig& lc, Activation kind, ActivationConstants constants, const float* x,
                               float* y, std::int64_t n) {
  if (n <= 0) return;
  const bool vec = aligned16(x) && aligned16(y);
  activation_forward_kernel<<<grid_for(lc, vec ? ceil_div(n, 4) : n), kThreads, 0, lc.stream>>>(
      kind, constants, x, y, n, vec);
  AXON_KERNEL_CHECK("activation_forward_kernel");
}

void launch_activation_backward(const LaunchConfig& lc, Activation kind, ActivationConstants constants,
                                const float* x, const float* y, const float* grad_y,
                                float* grad_x, std::int64_t n) {
  if (n <= 0) return;
  const bool vec = aligned16(x) && aligned16(y) && aligned16(grad_y) && aligned16(grad_x);
  activation_backward_kernel<<<grid_for(lc, vec ? ceil_div(n, 4) : n), kThreads, 0, lc.stream>>>(
      kind, constants, x, y, grad_y, grad_x, n, vec);
  AXON_KERNEL_CHECK("activation_backward_kernel");
}

}  // namespace axon::cuda
