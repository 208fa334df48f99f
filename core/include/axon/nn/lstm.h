#pragma once
// LSTM: one recurrent layer over a batch of sequences, as torch.nn.LSTM(input_size,
// hidden_size, batch_first=True) computes it: for each step t
//   gates = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh     (blocks of hidden_size: i, f, g, o)
//   c_t = sigmoid(f) c_{t-1} + sigmoid(i) tanh(g),  h_t = sigmoid(o) tanh(c_t)
// from zero initial states, the output the h_t of every step. Input [N, T, input_size] (the batch
// first, as every axon layer's input), output [N, T, hidden_size]. Parameters as PyTorch names
// and shapes them, so state_dicts move both ways: weight_ih_l0 [4 H, input_size],
// weight_hh_l0 [4 H, H], bias_ih_l0 and bias_hh_l0 [4 H], all drawn from U(-1/sqrt(H), 1/sqrt(H))
// as PyTorch's default.
//
// The forward makes the input projections of all steps in one matrix product, then per step one
// product with W_hh and one fused cell op (lstm_cell_out); the backward runs back through time
// (lstm_cell_backward_out per step) and makes the weight and input gradients in one product
// each over all steps. Buffers are sized by reserve for the batch and sequence length: a steady
// step allocates nothing, a shorter batch takes views.
//
// Not yet (issue 22): several layers, bidirectional, initial and final states, lengths (for the
// GRU too: nn/gru.h).
#include <cstdint>

#include "axon/nn/layer.h"

namespace axon::nn {

class AXON_API LSTM final : public Layer {
 public:
  // input_size and hidden_size >= 1, else ValueError. generator: the initial weights' draws
  // (default_generator() when null).
  LSTM(std::int64_t input_size, std::int64_t hidden_size, Generator* generator = nullptr, Device device = Device::cpu());

  std::string type() const override { return "LSTM"; }
  LayerConfig config() const override;  // "input_size", "hidden_size"
  std::string settings() const override;
  Shape output_shape(const Shape& input) const override;  // [N, T, input_size] -> [N, T, hidden_size]
  std::vector<Parameter*> parameters() override { return {&weight_ih_, &weight_hh_, &bias_ih_, &bias_hh_}; }
  void reset_parameters(Generator& generator) override;
  void reserve(const Shape& input, Device device) override;
  void forward(const Tensor& x, const Tensor& y, const StepContext& context) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& grad_y, const Tensor& grad_x) override;

  std::int64_t input_size() const { return input_; }
  std::int64_t hidden_size() const { return hidden_; }

 private:
  std::int64_t input_, hidden_;
  Parameter weight_ih_, weight_hh_, bias_ih_, bias_hh_;
  // Sized by reserve for `capacity_` sequences of `steps_` steps. Time-major blocks of capacity_
  // rows: block t holds step t's rows (the first N of them in use).
  std::int64_t capacity_ = 0, steps_ = 0;
  Tensor projections_;  // [capacity * T, 4H], batch-major: x W_ih^T + b_ih + b_hh
  Tensor gates_;        // [T * capacity, 4H]: each step's activated gates, then its gradients
  Tensor cells_;        // [(T + 1) * capacity, H]: c_{-1} = 0, c_0 .. c_{T-1}
  Tensor hiddens_;      // [(T + 1) * capacity, H]: h_{-1} = 0, h_0 .. h_{T-1}
  Tensor grad_hiddens_; // [T * capacity, H]
  Tensor grad_cell_;    // [capacity, H]
  Tensor grad_gates_batch_major_;    // [capacity * T, 4H]
  Tensor hiddens_before_batch_major_;  // [capacity * T, H]: h_{t-1} of row n * T + t
  Tensor to_time_major_;  // int32 [T * capacity]: row t * capacity + n -> n * T + t
  Tensor to_batch_major_; // int32 [capacity * T]: row n * T + t -> t * capacity + n
};

}  // namespace axon::nn
