// Convolutions: oneDNN's primitives (onednn_conv.h), on the pool's threads. They run on oneDNN
// whichever library the matrix products use (axon/cpu_gemm.h).
#include "cpu/cpu_backend.h"
#include "cpu/onednn_conv.h"
#include "cpu/parallel.h"

namespace axon::cpu {

void CpuBackend::conv2d(const Conv2dGeometry& g, const Tensor& x, const Tensor& weight, const Tensor& bias,
                        const Tensor& y) {
  onednn::conv2d_forward(g, x.data<float>(), weight.data<float>(), bias.defined() ? bias.data<float>() : nullptr,
                         y.data<float>(), gemm_threads());
}

void CpuBackend::conv2d_backward_data(const Conv2dGeometry& g, const Tensor& grad_y, const Tensor& weight,
                                      const Tensor& grad_x) {
  onednn::conv2d_backward_data(g, grad_y.data<float>(), weight.data<float>(), grad_x.data<float>(), gemm_threads());
}

void CpuBackend::conv2d_backward_weights(const Conv2dGeometry& g, const Tensor& x, const Tensor& grad_y,
                                         const Tensor& grad_weight, const Tensor& grad_bias) {
  onednn::conv2d_backward_weights(g, x.data<float>(), grad_y.data<float>(), grad_weight.data<float>(),
                                  grad_bias.defined() ? grad_bias.data<float>() : nullptr, gemm_threads());
}

}  // namespace axon::cpu
