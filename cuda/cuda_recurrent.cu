// The LSTM cell's elementwise half (core/src/kernels/recurrent_math.h): one thread per (row,
// hidden unit), grid-stride; each thread reads and writes only its unit's four gates, so the
// in-place forms (gates overwritten, grad_gates = gates) are safe.
#include "core/src/kernels/recurrent_math.h"
#include "cuda/cuda_backend.h"
#include "cuda/cuda_check.h"
#include "cuda/cuda_common.cuh"

namespace axon::cuda {

namespace {

__global__ void lstm_cell_kernel(float* z, const float* c_prev, float* c, float* h, std::int64_t rows, std::int64_t hidden) {
  const std::int64_t n = rows * hidden;
  for (std::int64_t k = global_thread(); k < n; k += grid_stride()) {
    const std::int64_t r = k / hidden, j = k % hidden;
    float* zr = z + r * 4 * hidden;
    const kernels::LstmGates a = kernels::lstm_activate(zr[j], zr[hidden + j], zr[2 * hidden + j], zr[3 * hidden + j]);
    const float state = kernels::lstm_cell_state(a, c_prev[k]);
    c[k] = state;
    h[k] = a.o * ::tanhf(state);
    zr[j] = a.i, zr[hidden + j] = a.f, zr[2 * hidden + j] = a.g, zr[3 * hidden + j] = a.o;
  }
}

__global__ void lstm_cell_backward_kernel(const float* z, const float* c_prev, const float* c, const float* dh,
                                          const float* dc, float* dz, float* dc_prev, std::int64_t rows, std::int64_t hidden) {
  const std::int64_t n = rows * hidden;
  for (std::int64_t k = global_thread(); k < n; k += grid_stride()) {
    const std::int64_t r = k / hidden, j = k % hidden;
    const float* zr = z + r * 4 * hidden;
    float* dzr = dz + r * 4 * hidden;
    const kernels::LstmGates a{zr[j], zr[hidden + j], zr[2 * hidden + j], zr[3 * hidden + j]};
    const kernels::LstmCellGrads g = kernels::lstm_cell_backward(a, c_prev[k], c[k], dh[k], dc != nullptr ? dc[k] : 0.0f);
    dzr[j] = g.a_i, dzr[hidden + j] = g.a_f, dzr[2 * hidden + j] = g.a_g, dzr[3 * hidden + j] = g.a_o;
    dc_prev[k] = g.c_prev;
  }
}

}  // namespace

void CudaBackend::lstm_cell(const Tensor& gates, const Tensor& c_prev, const Tensor& c, const Tensor& h) {
  DeviceGuard guard(index_);
  const std::int64_t rows = gates.dim(0), hidden = gates.dim(1) / 4;
  lstm_cell_kernel<<<grid_for(launch(), rows * hidden), kThreads, 0, stream_.get()>>>(
      gates.data<float>(), c_prev.data<float>(), c.data<float>(), h.data<float>(), rows, hidden);
  AXON_KERNEL_CHECK("lstm_cell_kernel");
}

void CudaBackend::lstm_cell_backward(const Tensor& gates, const Tensor& c_prev, const Tensor& c, const Tensor& grad_h,
                                     const Tensor& grad_c, const Tensor& grad_gates, const Tensor& grad_c_prev) {
  DeviceGuard guard(index_);
  const std::int64_t rows = gates.dim(0), hidden = gates.dim(1) / 4;
  lstm_cell_backward_kernel<<<grid_for(launch(), rows * hidden), kThreads, 0, stream_.get()>>>(
      gates.data<float>(), c_prev.data<float>(), c.data<float>(), grad_h.data<float>(),
      grad_c.defined() ? grad_c.data<float>() : nullptr, grad_gates.data<float>(), grad_c_prev.data<float>(), rows, hidden);
  AXON_KERNEL_CHECK("lstm_cell_backward_kernel");
}

}  // namespace axon::cuda
