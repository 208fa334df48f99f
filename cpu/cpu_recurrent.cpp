// The LSTM cell's elementwise half (core/src/kernels/recurrent_math.h): rows in parallel, each
// row's hidden units in a loop the compiler vectorises.
#include "cpu/vector_math.h"  // first: gives the math calls below their vector versions
#include "core/src/kernels/recurrent_math.h"
#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"

namespace axon::cpu {

void CpuBackend::lstm_cell(const Tensor& gates, const Tensor& c_prev, const Tensor& c, const Tensor& h) {
  const std::int64_t rows = gates.dim(0), hidden = gates.dim(1) / 4;
  float* z = gates.data<float>();
  const float* previous = c_prev.data<float>();
  float* cell = c.data<float>();
  float* out = h.data<float>();
  parallel_for_rows(rows, 4 * hidden, [=](std::int64_t first, std::int64_t last) {
    for (std::int64_t r = first; r < last; ++r) {
      float* zi = z + r * 4 * hidden;
      float* zf = zi + hidden;
      float* zg = zf + hidden;
      float* zo = zg + hidden;
      for (std::int64_t j = 0; j < hidden; ++j) {
        const kernels::LstmGates a = kernels::lstm_activate(zi[j], zf[j], zg[j], zo[j]);
        const std::int64_t k = r * hidden + j;
        const float state = kernels::lstm_cell_state(a, previous[k]);
        cell[k] = state;
        out[k] = a.o * ::tanhf(state);
        zi[j] = a.i, zf[j] = a.f, zg[j] = a.g, zo[j] = a.o;
      }
    }
  });
}

void CpuBackend::lstm_cell_backward(const Tensor& gates, const Tensor& c_prev, const Tensor& c, const Tensor& grad_h,
                                    const Tensor& grad_c, const Tensor& grad_gates, const Tensor& grad_c_prev) {
  const std::int64_t rows = gates.dim(0), hidden = gates.dim(1) / 4;
  const float* z = gates.data<float>();
  const float* previous = c_prev.data<float>();
  const float* cell = c.data<float>();
  const float* dh = grad_h.data<float>();
  const float* dc = grad_c.defined() ? grad_c.data<float>() : nullptr;
  float* dz = grad_gates.data<float>();
  float* dc_prev = grad_c_prev.data<float>();
  parallel_for_rows(rows, 4 * hidden, [=](std::int64_t first, std::int64_t last) {
    for (std::int64_t r = first; r < last; ++r) {
      const float* zr = z + r * 4 * hidden;
      float* dzr = dz + r * 4 * hidden;
      for (std::int64_t j = 0; j < hidden; ++j) {
        const std::int64_t k = r * hidden + j;
        const kernels::LstmGates a{zr[j], zr[hidden + j], zr[2 * hidden + j], zr[3 * hidden + j]};
        const kernels::LstmCellGrads g =
            kernels::lstm_cell_backward(a, previous[k], cell[k], dh[k], dc != nullptr ? dc[k] : 0.0f);
        dzr[j] = g.a_i, dzr[hidden + j] = g.a_f, dzr[2 * hidden + j] = g.a_g, dzr[3 * hidden + j] = g.a_o;
        dc_prev[k] = g.c_prev;
      }
    }
  });
}

}  // namespace axon::cpu
