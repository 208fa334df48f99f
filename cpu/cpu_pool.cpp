// Pooling: the shared formulas (core/src/kernels/pool_math.h), one output or one input-gradient
// element per iteration. oneDNN's pooling is not used: its max pooling's backward needs a
// workspace of its own making and its NaN and tie rules are not torch's, and these loops are
// memory-bound either way.
#include "core/src/kernels/pool_math.h"
#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"

namespace axon::cpu {

void CpuBackend::max_pool2d(const Pool2dGeometry& g, const Tensor& x, const Tensor& y, const Tensor& indices) {
  const float* in = x.data<float>();
  float* out = y.data<float>();
  std::int32_t* argmax = indices.data<std::int32_t>();
  parallel_for(y.numel(), kParallelElements / 8, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t o = begin; o < end; ++o) kernels::max_pool_one(g, in, o, out[o], argmax[o]);
  });
}

void CpuBackend::max_pool2d_backward(const Pool2dGeometry& g, const Tensor& grad_y, const Tensor& indices,
                                     const Tensor& grad_x) {
  const float* gy = grad_y.data<float>();
  const std::int32_t* argmax = indices.data<std::int32_t>();
  float* gx = grad_x.data<float>();
  parallel_for(grad_x.numel(), kParallelElements / 8, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) gx[i] = kernels::max_pool_grad_one(g, gy, argmax, i);
  });
}

void CpuBackend::avg_pool2d(const Pool2dGeometry& g, const Tensor& x, const Tensor& y) {
  const float* in = x.data<float>();
  float* out = y.data<float>();
  parallel_for(y.numel(), kParallelElements / 8, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t o = begin; o < end; ++o) out[o] = kernels::avg_pool_one(g, in, o);
  });
}

void CpuBackend::avg_pool2d_backward(const Pool2dGeometry& g, const Tensor& grad_y, const Tensor& grad_x) {
  const float* gy = grad_y.data<float>();
  float* gx = grad_x.data<float>();
  parallel_for(grad_x.numel(), kParallelElements / 8, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) gx[i] = kernels::avg_pool_grad_one(g, gy, i);
  });
}

}  // namespace axon::cpu
