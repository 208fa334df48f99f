// Activations forward and backward: the formulas of core/src/kernels/activation_math.h, the same
// source the CPU backend compiles, applied elementwise. One kernel per direction: the kind is a
// kernel argument (uniform across the grid, so the switch does not diverge) to keep the number
// of instantiations, and the build time for five architectures, small.
#include "core/src/kernels/activation_math.h"
#include "cuda/cuda_backend.h"
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

// PReLU over x as [planes, inner], plane p in channel p % channels.
__global__ void prelu_kernel(const float* x, const float* weight, float* y, std::int64_t n, std::int64_t inner,
                             std::int64_t channels) {
  for (std::int64_t i = global_thread(); i < n; i += grid_stride()) {
    const float v = x[i];
    y[i] = v > 0.0f ? v : weight[(i / inner) % channels] * v;
  }
}

// One block per channel: it walks the channel's elements (plane by plane, `inner` consecutive
// ones each), writes grad_x and sums grad_y * x where x <= 0 in double; the block's fixed
// reduction tree makes the sum the same on every run. grad_x may be grad_y (each element is
// read and written by the same thread).
__global__ void prelu_backward_kernel(const float* x, const float* weight, const float* grad_y, float* grad_x,
                                      float* grad_weight, std::int64_t planes, std::int64_t inner,
                                      std::int64_t channels) {
  __shared__ double shared[32];
  const std::int64_t c = blockIdx.x;
  const float slope = weight[c];
  const std::int64_t per_channel = (planes - c + channels - 1) / channels * inner;
  double sum = 0.0;
  for (std::int64_t k = threadIdx.x; k < per_channel; k += blockDim.x) {
    const std::int64_t i = (c + (k / inner) * channels) * inner + k % inner;
    const float v = x[i];
    const float g = grad_y[i];
    if (!(v > 0.0f)) sum += static_cast<double>(g) * v;
    if (grad_x != nullptr) grad_x[i] = v > 0.0f ? g : g * slope;
  }
  sum = block_reduce(sum, SumOp{}, 0.0, shared);
  if (threadIdx.x == 0) grad_weight[c] = static_cast<float>(sum);
}

}  // namespace

void CudaBackend::prelu(const Tensor& x, const Tensor& weight, std::int64_t inner, const Tensor& y) {
  DeviceGuard guard(index_);
  const std::int64_t n = x.numel();
  prelu_kernel<<<grid_for(launch(), n), kThreads, 0, stream_.get()>>>(x.data<float>(), weight.data<float>(),
                                                                      y.data<float>(), n, inner, weight.numel());
  AXON_KERNEL_CHECK("prelu_kernel");
}

void CudaBackend::prelu_backward(const Tensor& x, const Tensor& weight, const Tensor& grad_y, std::int64_t inner,
                                 const Tensor& grad_x, const Tensor& grad_weight) {
  DeviceGuard guard(index_);
  const std::int64_t channels = weight.numel();
  prelu_backward_kernel<<<static_cast<unsigned>(channels), kThreads, 0, stream_.get()>>>(
      x.data<float>(), weight.data<float>(), grad_y.data<float>(),
      grad_x.defined() ? grad_x.data<float>() : nullptr, grad_weight.data<float>(), x.numel() / inner, inner,
      channels);
  AXON_KERNEL_CHECK("prelu_backward_kernel");
}

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
