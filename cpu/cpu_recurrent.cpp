// The LSTM and GRU cells' elementwise halves (core/src/kernels/recurrent_math.h): rows in
// parallel, each row's hidden units in a loop vectorised with libmvec's expf and tanhf
// (vector_math.h) at the CPU's width (AXON_VECTOR_CLONES): scalar tanhf was most of an LSTM
// step's time.
#include "cpu/vector_math.h"  // first: gives the math calls below their vector versions
#include "core/src/kernels/recurrent_math.h"
#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"

namespace axon::cpu {

namespace {

AXON_VECTOR_CLONES void lstm_cell_rows(float* z, const float* previous, float* cell, float* out, std::int64_t hidden,
                                       std::int64_t first, std::int64_t last) {
  for (std::int64_t r = first; r < last; ++r) {
    float* zi = z + r * 4 * hidden;
    float* zf = zi + hidden;
    float* zg = zf + hidden;
    float* zo = zg + hidden;
    const float* c_prev = previous + r * hidden;
    float* c = cell + r * hidden;
    float* h = out + r * hidden;
#pragma omp simd
    for (std::int64_t j = 0; j < hidden; ++j) {
      float i = zi[j], f = zf[j], g = zg[j], o = zo[j];
      kernels::lstm_activate(i, f, g, o);
      const float state = kernels::lstm_cell_state(i, f, g, c_prev[j]);
      c[j] = state;
      h[j] = o * ::tanhf(state);
      zi[j] = i, zf[j] = f, zg[j] = g, zo[j] = o;
    }
  }
}

// kNextCell: the next step's cell gradient is given (else zero: the last step).
template <bool kNextCell>
AXON_VECTOR_CLONES void lstm_cell_backward_rows(const float* z, const float* previous, const float* cell, const float* dh,
                                                const float* dc, float* dz, float* dc_prev, std::int64_t hidden,
                                                std::int64_t first, std::int64_t last) {
  for (std::int64_t r = first; r < last; ++r) {
    const float* zr = z + r * 4 * hidden;
    float* dzr = dz + r * 4 * hidden;
    const std::int64_t k = r * hidden;
#pragma omp simd
    for (std::int64_t j = 0; j < hidden; ++j) {
      float d_i, d_f, d_g, d_o, d_c;
      kernels::lstm_cell_backward(zr[j], zr[hidden + j], zr[2 * hidden + j], zr[3 * hidden + j], previous[k + j], cell[k + j],
                                  dh[k + j], kNextCell ? dc[k + j] : 0.0f, d_i, d_f, d_g, d_o, d_c);
      dzr[j] = d_i, dzr[hidden + j] = d_f, dzr[2 * hidden + j] = d_g, dzr[3 * hidden + j] = d_o;
      dc_prev[k + j] = d_c;
    }
  }
}

AXON_VECTOR_CLONES void gru_cell_rows(float* gx, const float* gh, const float* previous, float* out, std::int64_t hidden,
                                      std::int64_t first, std::int64_t last) {
  for (std::int64_t r = first; r < last; ++r) {
    float* xr = gx + r * 3 * hidden;
    const float* hr = gh + r * 3 * hidden;
    const float* h_prev = previous + r * hidden;
    float* h = out + r * hidden;
#pragma omp simd
    for (std::int64_t j = 0; j < hidden; ++j) {
      float reset = xr[j], update = xr[hidden + j], candidate = xr[2 * hidden + j];
      kernels::gru_activate(reset, update, candidate, hr[j], hr[hidden + j], hr[2 * hidden + j]);
      h[j] = kernels::gru_hidden(update, candidate, h_prev[j]);
      xr[j] = reset, xr[hidden + j] = update, xr[2 * hidden + j] = candidate;
    }
  }
}

AXON_VECTOR_CLONES void gru_cell_backward_rows(const float* gx, const float* gh, const float* previous, const float* dh,
                                               float* dgx, float* dgh, float* dh_prev, std::int64_t hidden, std::int64_t first,
                                               std::int64_t last) {
  for (std::int64_t r = first; r < last; ++r) {
    const std::int64_t row = r * 3 * hidden, k = r * hidden;
#pragma omp simd
    for (std::int64_t j = 0; j < hidden; ++j) {
      float d_r, d_z, d_n, d_hn, d_prev;
      kernels::gru_cell_backward(gx[row + j], gx[row + hidden + j], gx[row + 2 * hidden + j], gh[row + 2 * hidden + j],
                                 previous[k + j], dh[k + j], d_r, d_z, d_n, d_hn, d_prev);
      dgx[row + j] = d_r, dgx[row + hidden + j] = d_z, dgx[row + 2 * hidden + j] = d_n;
      dgh[row + j] = d_r, dgh[row + hidden + j] = d_z, dgh[row + 2 * hidden + j] = d_hn;
      dh_prev[k + j] = d_prev;
    }
  }
}

}  // namespace

void CpuBackend::lstm_cell(const Tensor& gates, const Tensor& c_prev, const Tensor& c, const Tensor& h) {
  const std::int64_t rows = gates.dim(0), hidden = gates.dim(1) / 4;
  float* z = gates.data<float>();
  const float* previous = c_prev.data<float>();
  float* cell = c.data<float>();
  float* out = h.data<float>();
  parallel_for_rows(rows, 4 * hidden, [=](std::int64_t first, std::int64_t last) {
    lstm_cell_rows(z, previous, cell, out, hidden, first, last);
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
    if (dc != nullptr) {
      lstm_cell_backward_rows<true>(z, previous, cell, dh, dc, dz, dc_prev, hidden, first, last);
    } else {
      lstm_cell_backward_rows<false>(z, previous, cell, dh, dc, dz, dc_prev, hidden, first, last);
    }
  });
}

void CpuBackend::gru_cell(const Tensor& gates_x, const Tensor& gates_h, const Tensor& h_prev, const Tensor& h) {
  const std::int64_t rows = gates_x.dim(0), hidden = gates_x.dim(1) / 3;
  float* gx = gates_x.data<float>();
  const float* gh = gates_h.data<float>();
  const float* previous = h_prev.data<float>();
  float* out = h.data<float>();
  parallel_for_rows(rows, 3 * hidden, [=](std::int64_t first, std::int64_t last) {
    gru_cell_rows(gx, gh, previous, out, hidden, first, last);
  });
}

void CpuBackend::gru_cell_backward(const Tensor& gates_x, const Tensor& gates_h, const Tensor& h_prev, const Tensor& grad_h,
                                   const Tensor& grad_gates_x, const Tensor& grad_gates_h, const Tensor& grad_h_prev) {
  const std::int64_t rows = gates_x.dim(0), hidden = gates_x.dim(1) / 3;
  const float* gx = gates_x.data<float>();
  const float* gh = gates_h.data<float>();
  const float* previous = h_prev.data<float>();
  const float* dh = grad_h.data<float>();
  float* dgx = grad_gates_x.data<float>();
  float* dgh = grad_gates_h.data<float>();
  float* dh_prev = grad_h_prev.data<float>();
  parallel_for_rows(rows, 3 * hidden, [=](std::int64_t first, std::int64_t last) {
    gru_cell_backward_rows(gx, gh, previous, dh, dgx, dgh, dh_prev, hidden, first, last);
  });
}

}  // namespace axon::cpu
