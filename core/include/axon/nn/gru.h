#pragma once
// GRU: one recurrent layer over a batch of sequences, as torch.nn.GRU(input_size, hidden_size,
// batch_first=True) computes it: for each step t, with gx = x_t W_ih^T + b_ih and
// gh = h_{t-1} W_hh^T + b_hh (blocks of hidden_size: r, z, n)
//   r = sigmoid(gx_r + gh_r), z = sigmoid(gx_z + gh_z), n = tanh(gx_n + r gh_n)
//   h_t = (1 - z) n + z h_{t-1}
// from a zero initial state (the reset gate applies to the hidden product with its bias, as
// PyTorch's and cuDNN's GRU; ONNX's linear_before_reset = 1). Input [N, T, input_size], output
// [N, T, hidden_size]. Parameters as PyTorch names and shapes them: weight_ih_l0 [3 H, input_size],
// weight_hh_l0 [3 H, H], bias_ih_l0 and bias_hh_l0 [3 H], all from U(-1/sqrt(H), 1/sqrt(H)).
//
// Computed as the LSTM is (nn/lstm.h): the input products of all steps in one matrix product,
// per step one product with W_hh (its bias fused) and one fused cell op (gru_cell_out); back
// through time per step the cell's backward and one product for the hidden state's gradient,
// then the weight and input gradients in one product each over all steps. A steady step
// allocates nothing; a shorter batch takes views.
#include <cstdint>

#include "axon/nn/layer.h"

namespace axon::nn {

class AXON_API GRU final : public Layer {
 public:
  // input_size and hidden_size >= 1, else ValueError. generator: the initial weights' draws
  // (default_generator() when null).
  GRU(std::int64_t input_size, std::int64_t hidden_size, Generator* generator = nullptr, Device device = Device::cpu());

  std::string type() const override { return "GRU"; }
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
  // Sized by reserve for `capacity_` sequences of `steps_` steps; time-major blocks of capacity_
  // rows (block t: step t, the first N rows in use).
  std::int64_t capacity_ = 0, steps_ = 0;
  Tensor projections_;    // [capacity * T, 3H] batch-major: x W_ih^T + b_ih; in the backward, the
                          // input products' gradients batch-major
  Tensor gates_x_;        // [T * capacity, 3H]: each step's input product, then its activated gates,
                          // then their gradients
  Tensor gates_h_;        // [T * capacity, 3H]: each step's hidden product, then its gradients
  Tensor hiddens_;        // [(T + 1) * capacity, H]: h_{-1} = 0, h_0 .. h_{T-1}
  Tensor grad_h_;         // [capacity, H]: dL/dh_t at step t
  Tensor grad_carry_;     // [capacity, H]: dL/dh_{t-1} through step t
  Tensor grad_gates_h_batch_major_;    // [capacity * T, 3H]
  Tensor hiddens_before_batch_major_;  // [capacity * T, H]: h_{t-1} of row n * T + t
  Tensor to_time_major_, to_batch_major_;  // int32 row maps (core/src/nn/recurrent_common.h)
};

}  // namespace axon::nn
