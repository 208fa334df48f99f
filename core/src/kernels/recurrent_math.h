#pragma once
// The LSTM cell's elementwise half, written once for all backends (host code, and device code
// under nvcc), as PyTorch's fused cell computes it. The matrix products that make the gates'
// pre-activations (x W_ih^T + b_ih + h W_hh^T + b_hh, gate rows in the order i, f, g, o) are
// GEMMs outside; what is here is one hidden unit of one row:
//   i = sigmoid(a_i), f = sigmoid(a_f), g = tanh(a_g), o = sigmoid(a_o)
//   c = f c_prev + i g,  h = o tanh(c)
// and its backward from dh (the output's gradient) and dc (the next step's cell gradient).
#include <cmath>

#include "core/src/kernels/activation_math.h"

namespace axon::kernels {

struct LstmGates {
  float i, f, g, o;
};

AXON_HOST_DEVICE LstmGates lstm_activate(float a_i, float a_f, float a_g, float a_o) {
  return {stable_sigmoid(a_i), stable_sigmoid(a_f), ::tanhf(a_g), stable_sigmoid(a_o)};
}

AXON_HOST_DEVICE float lstm_cell_state(const LstmGates& z, float c_prev) { return z.f * c_prev + z.i * z.g; }

struct LstmCellGrads {
  float a_i, a_f, a_g, a_o;  // the pre-activations' gradients
  float c_prev;
};

// z: the activated gates the forward saved; c: the cell state it computed.
AXON_HOST_DEVICE LstmCellGrads lstm_cell_backward(const LstmGates& z, float c_prev, float c, float dh, float dc_next) {
  const float tanh_c = ::tanhf(c);
  const float dc = dc_next + dh * z.o * (1.0f - tanh_c * tanh_c);
  const float d_o = dh * tanh_c;
  LstmCellGrads g;
  g.a_i = dc * z.g * z.i * (1.0f - z.i);
  g.a_f = dc * c_prev * z.f * (1.0f - z.f);
  g.a_g = dc * z.i * (1.0f - z.g * z.g);
  g.a_o = d_o * z.o * (1.0f - z.o);
  g.c_prev = dc * z.f;
  return g;
}

}  // namespace axon::kernels
