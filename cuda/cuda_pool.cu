// Pooling: the CPU backend's formulas (core/src/kernels/pool_math.h), one thread per output or
// input-gradient element, so both backends give the same bits. cuDNN's pooling is not used: its
// backward scatters (atomics for overlapping windows, unless its deterministic mode) and keeps no
// indices, and torch's NaN and tie rules are ours to keep.
#include "core/src/kernels/pool_math.h"
#include "cuda/cuda_backend.h"
#include "cuda/cuda_check.h"
#include "cuda/cuda_common.cuh"

namespace axon::cuda {

namespace {

__global__ void max_pool_kernel(Pool2dGeometry g, const float* x, float* y, std::int32_t* indices, std::int64_t n) {
  for (std::int64_t o = global_thread(); o < n; o += grid_stride()) kernels::max_pool_one(g, x, o, y[o], indices[o]);
}

__global__ void max_pool_backward_kernel(Pool2dGeometry g, const float* grad_y, const std::int32_t* indices,
                                         float* grad_x, std::int64_t n) {
  for (std::int64_t i = global_thread(); i < n; i += grid_stride()) {
    grad_x[i] = kernels::max_pool_grad_one(g, grad_y, indices, i);
  }
}

__global__ void avg_pool_kernel(Pool2dGeometry g, const float* x, float* y, std::int64_t n) {
  for (std::int64_t o = global_thread(); o < n; o += grid_stride()) y[o] = kernels::avg_pool_one(g, x, o);
}

__global__ void avg_pool_backward_kernel(Pool2dGeometry g, const float* grad_y, float* grad_x, std::int64_t n) {
  for (std::int64_t i = global_thread(); i < n; i += grid_stride()) grad_x[i] = kernels::avg_pool_grad_one(g, grad_y, i);
}

}  // namespace

void CudaBackend::max_pool2d(const Pool2dGeometry& g, const Tensor& x, const Tensor& y, const Tensor& indices) {
  DeviceGuard guard(index_);
  const std::int64_t n = y.numel();
  max_pool_kernel<<<grid_for(launch(), n), kThreads, 0, stream_.get()>>>(g, x.data<float>(), y.data<float>(),
                                                                         indices.data<std::int32_t>(), n);
  AXON_KERNEL_CHECK("max_pool_kernel");
}

void CudaBackend::max_pool2d_backward(const Pool2dGeometry& g, const Tensor& grad_y, const Tensor& indices,
                                      const Tensor& grad_x) {
  DeviceGuard guard(index_);
  const std::int64_t n = grad_x.numel();
  max_pool_backward_kernel<<<grid_for(launch(), n), kThreads, 0, stream_.get()>>>(
      g, grad_y.data<float>(), indices.data<std::int32_t>(), grad_x.data<float>(), n);
  AXON_KERNEL_CHECK("max_pool_backward_kernel");
}

void CudaBackend::avg_pool2d(const Pool2dGeometry& g, const Tensor& x, const Tensor& y) {
  DeviceGuard guard(index_);
  const std::int64_t n = y.numel();
  avg_pool_kernel<<<grid_for(launch(), n), kThreads, 0, stream_.get()>>>(g, x.data<float>(), y.data<float>(), n);
  AXON_KERNEL_CHECK("avg_pool_kernel");
}

void CudaBackend::avg_pool2d_backward(const Pool2dGeometry& g, const Tensor& grad_y, const Tensor& grad_x) {
  DeviceGuard guard(index_);
  const std::int64_t n = grad_x.numel();
  avg_pool_backward_kernel<<<grid_for(launch(), n), kThreads, 0, stream_.get()>>>(g, grad_y.data<float>(),
                                                                                  grad_x.data<float>(), n);
  AXON_KERNEL_CHECK("avg_pool_backward_kernel");
}

}  // namespace axon::cuda
