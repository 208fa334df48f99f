// The LSTM and GRU cells' elementwise halves (core/src/kernels/recurrent_math.h): one thread per
// (row, hidden unit), grid-stride; each thread reads and writes only its unit's gates, so the
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
    float i = zr[j], f = zr[hidden + j], g = zr[2 * hidden + j], o = zr[3 * hidden + j];
    kernels::lstm_activate(i, f, g, o);
    const float state = kernels::lstm_cell_state(i, f, g, c_prev[k]);
    c[k] = state;
    h[k] = o * ::tanhf(state);
    zr[j] = i, zr[hidden + j] = f, zr[2 * hidden + j] = g, zr[3 * hidden + j] = o;
  }
}

__global__ void lstm_cell_backward_kernel(const float* z, const float* c_prev, const float* c, const float* dh,
                                          const float* dc, float* dz, float* dc_prev, std::int64_t rows, std::int64_t hidden) {
  const std::int64_t n = rows * hidden;
  for (std::int64_t k = global_thread(); k < n; k += grid_stride()) {
    const std::int64_t r = k / hidden, j = k % hidden;
    const float* zr = z + r * 4 * hidden;
    float* dzr = dz + r * 4 * hidden;
    float d_i, d_f, d_g, d_o, d_c;
    kernels::lstm_cell_backward(zr[j], zr[hidden + j], zr[2 * hidden + j], zr[3 * hidden + j], c_prev[k], c[k], dh[k],
                                dc != nullptr ? dc[k] : 0.0f, d_i, d_f, d_g, d_o, d_c);
    dzr[j] = d_i, dzr[hidden + j] = d_f, dzr[2 * hidden + j] = d_g, dzr[3 * hidden + j] = d_o;
    dc_prev[k] = d_c;
  }
}

__global__ void gru_cell_kernel(float* gx, const float* gh, const float* h_prev, float* h, std::int64_t rows,
                                std::int64_t hidden) {
  const std::int64_t n = rows * hidden;
  for (std::int64_t k = global_thread(); k < n; k += grid_stride()) {
    const std::int64_t r = k / hidden, j = k % hidden;
    float* xr = gx + r * 3 * hidden;
    const float* hr = gh + r * 3 * hidden;
    float reset = xr[j], update = xr[hidden + j], candidate = xr[2 * hidden + j];
    kernels::gru_activate(reset, update, candidate, hr[j], hr[hidden + j], hr[2 * hidden + j]);
    h[k] = kernels::gru_hidden(update, candidate, h_prev[k]);
    xr[j] = reset, xr[hidden + j] = update, xr[2 * hidden + j] = candidate;
  }
}

__global__ void gru_cell_backward_kernel(const float* gx, const float* gh, const float* h_prev, const float* dh, float* dgx,
                                         float* dgh, float* dh_prev, std::int64_t rows, std::int64_t hidden) {
  const std::int64_t n = rows * hidden;
  for (std::int64_t k = global_thread(); k < n; k += grid_stride()) {
    const std::int64_t r = k / hidden, j = k % hidden, row = r * 3 * hidden;
    float d_r, d_z, d_n, d_hn, d_prev;
    kernels::gru_cell_backward(gx[row + j], gx[row + hidden + j], gx[row + 2 * hidden + j], gh[row + 2 * hidden + j], h_prev[k],
                               dh[k], d_r, d_z, d_n, d_hn, d_prev);
    dgx[row + j] = d_r, dgx[row + hidden + j] = d_z, dgx[row + 2 * hidden + j] = d_n;
    dgh[row + j] = d_r, dgh[row + hidden + j] = d_z, dgh[row + 2 * hidden + j] = d_hn;
    dh_prev[k] = d_prev;
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

void CudaBackend::gru_cell(const Tensor& gates_x, const Tensor& gates_h, const Tensor& h_prev, const Tensor& h) {
  DeviceGuard guard(index_);
  const std::int64_t rows = gates_x.dim(0), hidden = gates_x.dim(1) / 3;
  gru_cell_kernel<<<grid_for(launch(), rows * hidden), kThreads, 0, stream_.get()>>>(
      gates_x.data<float>(), gates_h.data<float>(), h_prev.data<float>(), h.data<float>(), rows, hidden);
  AXON_KERNEL_CHECK("gru_cell_kernel");
}

void CudaBackend::gru_cell_backward(const Tensor& gates_x, const Tensor& gates_h, const Tensor& h_prev, const Tensor& grad_h,
                                    const Tensor& grad_gates_x, const Tensor& grad_gates_h, const Tensor& grad_h_prev) {
  DeviceGuard guard(index_);
  const std::int64_t rows = gates_x.dim(0), hidden = gates_x.dim(1) / 3;
  gru_cell_backward_kernel<<<grid_for(launch(), rows * hidden), kThreads, 0, stream_.get()>>>(
      gates_x.data<float>(), gates_h.data<float>(), h_prev.data<float>(), grad_h.data<float>(), grad_gates_x.data<float>(),
      grad_gates_h.data<float>(), grad_h_prev.data<float>(), rows, hidden);
  AXON_KERNEL_CHECK("gru_cell_backward_kernel");
}

}  // namespace axon::cuda
