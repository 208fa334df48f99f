#pragma once
// The LSTM and GRU cells' elementwise halves, written once for all backends (host code, and
// device code under nvcc), as PyTorch's fused cells compute them. The matrix products that make
// the gates' pre-activations are GEMMs outside; what is here is one hidden unit of one row.
// The functions take and give floats by reference rather than structs: GCC 12 does not vectorise
// a loop that calls an inlined function returning a struct (cpu/cpu_recurrent.cpp needs it).
#include <cmath>

#include "core/src/kernels/activation_math.h"

namespace axon::kernels {

// ---- LSTM: pre-activations a = x W_ih^T + b_ih + h W_hh^T + b_hh in blocks i, f, g, o ----
//   i = sigmoid(a_i), f = sigmoid(a_f), g = tanh(a_g), o = sigmoid(a_o)
//   c = f c_prev + i g,  h = o tanh(c)

// The pre-activations, in place, become the activated gates.
AXON_HOST_DEVICE void lstm_activate(float& i, float& f, float& g, float& o) {
  i = stable_sigmoid(i);
  f = stable_sigmoid(f);
  g = ::tanhf(g);
  o = stable_sigmoid(o);
}

AXON_HOST_DEVICE float lstm_cell_state(float i, float f, float g, float c_prev) { return f * c_prev + i * g; }

// From the activated gates and the forward's c_prev and c, the step's output gradient dh and the
// next step's cell gradient dc_next: the pre-activations' gradients and c_prev's.
AXON_HOST_DEVICE void lstm_cell_backward(float i, float f, float g, float o, float c_prev, float c, float dh, float dc_next,
                                         float& d_i, float& d_f, float& d_g, float& d_o, float& d_c_prev) {
  const float tanh_c = ::tanhf(c);
  const float dc = dc_next + dh * o * (1.0f - tanh_c * tanh_c);
  d_i = dc * g * i * (1.0f - i);
  d_f = dc * c_prev * f * (1.0f - f);
  d_g = dc * i * (1.0f - g * g);
  d_o = dh * tanh_c * o * (1.0f - o);
  d_c_prev = dc * f;
}

// ---- GRU, as PyTorch's: gx = x W_ih^T + b_ih and gh = h_prev W_hh^T + b_hh in blocks r, z, n ----
//   r = sigmoid(gx_r + gh_r), z = sigmoid(gx_z + gh_z), n = tanh(gx_n + r gh_n)
//   h = (h_prev - n) z + n                  (= (1 - z) n + z h_prev, in ATen's order)
// The reset gate applies to the hidden product with its bias (linear_before_reset in ONNX).

// The input product's blocks, in place, become r, z and n.
AXON_HOST_DEVICE void gru_activate(float& x_r, float& x_z, float& x_n, float h_r, float h_z, float h_n) {
  x_r = stable_sigmoid(x_r + h_r);
  x_z = stable_sigmoid(x_z + h_z);
  x_n = ::tanhf(x_n + x_r * h_n);
}

AXON_HOST_DEVICE float gru_hidden(float z, float n, float h_prev) { return (h_prev - n) * z + n; }

// From the activated gates, the hidden product's n block h_n and h_prev of the forward and the
// step's output gradient dh: the input product's gradients (d_x*), the hidden product's n block's
// (d_h_n; its r and z blocks' equal d_x_r and d_x_z), and h_prev's direct part (dh z; the part
// through the hidden product is a GEMM outside).
AXON_HOST_DEVICE void gru_cell_backward(float r, float z, float n, float h_n, float h_prev, float dh, float& d_x_r,
                                        float& d_x_z, float& d_x_n, float& d_h_n, float& d_h_prev) {
  const float dn = dh * (1.0f - z);
  const float dz = dh * (h_prev - n);
  d_x_n = dn * (1.0f - n * n);
  d_x_r = d_x_n * h_n * r * (1.0f - r);
  d_x_z = dz * z * (1.0f - z);
  d_h_n = d_x_n * r;
  d_h_prev = dh * z;
}

}  // namespace axon::kernels
