// LSTM (nn/lstm.h): the input projections of all steps in one product, the recurrence one
// product and one fused cell op per step; back through time the same way in reverse.
#include "axon/nn/lstm.h"

#include <algorithm>
#include <vector>

#include "axon/error.h"
#include "axon/ops.h"
#include "core/src/nn/recurrent_common.h"

namespace axon::nn {

namespace {
const bool kRegistered = detail::register_recurrent<LSTM>("LSTM", 4);
}  // namespace

LSTM::LSTM(std::int64_t input_size, std::int64_t hidden_size, Generator* generator, Device device)
    : input_(input_size), hidden_(hidden_size) {
  detail::RecurrentParameters p = detail::make_recurrent_parameters("LSTM", 4, input_, hidden_, device);
  weight_ih_ = std::move(p.weight_ih);
  weight_hh_ = std::move(p.weight_hh);
  bias_ih_ = std::move(p.bias_ih);
  bias_hh_ = std::move(p.bias_hh);
  reset_parameters(generator != nullptr ? *generator : default_generator());
}

LayerConfig LSTM::config() const { return LayerConfig().set("input_size", input_).set("hidden_size", hidden_); }

std::string LSTM::settings() const { return detail::recurrent_settings(input_, hidden_); }

Shape LSTM::output_shape(const Shape& input) const {
  return detail::recurrent_output_shape("LSTM(" + settings() + ")", input, input_, hidden_);
}

void LSTM::reset_parameters(Generator& generator) { detail::reset_recurrent_parameters(parameters(), hidden_, generator); }

void LSTM::reserve(const Shape& input, Device device) {
  (void)output_shape(input);
  const std::int64_t rows = input[0], steps = input[1];
  if (rows <= capacity_ && steps == steps_ && projections_.defined() && projections_.device() == device) return;
  const std::int64_t capacity = std::max(rows, capacity_), g = 4 * hidden_;
  detail::SequenceRowMaps maps = detail::make_sequence_row_maps(steps, capacity, g, "LSTM(" + settings() + ")", device);
  projections_ = Tensor::empty({capacity * steps, g}, device);
  gates_ = Tensor::empty({steps * capacity, g}, device);
  cells_ = Tensor::zeros({(steps + 1) * capacity, hidden_}, device);
  hiddens_ = Tensor::zeros({(steps + 1) * capacity, hidden_}, device);
  grad_hiddens_ = Tensor::empty({steps * capacity, hidden_}, device);
  grad_cell_ = Tensor::empty({capacity, hidden_}, device);
  grad_gates_batch_major_ = Tensor::empty({capacity * steps, g}, device);
  hiddens_before_batch_major_ = Tensor::empty({capacity * steps, hidden_}, device);
  to_time_major_ = std::move(maps.to_time_major);
  to_batch_major_ = std::move(maps.to_batch_major);
  capacity_ = capacity;
  steps_ = steps;
}

void LSTM::forward(const Tensor& x, const Tensor& y, const StepContext&) {
  reserve(x.shape(), x.device());  // (a no-op once planned)
  const std::int64_t n = x.dim(0), steps = x.dim(1), cap = capacity_;
  if (n == 0 || steps == 0) return;
  const auto block = [cap, n](const Tensor& t, std::int64_t index) { return t.rows(index * cap, index * cap + n); };
  // Every step's x_t W_ih^T + b_ih, then + b_hh, batch-major: one product over N * T rows.
  const Tensor projections = projections_.rows(0, n * steps);
  linear_out(Activation::kIdentity, x.reshape({n * steps, input_}), weight_ih_.value, bias_ih_.value, Tensor(), projections);
  bias_add_out(projections, bias_hh_.value, projections);
  for (std::int64_t t = 0; t < steps; ++t) {
    const Tensor gates = block(gates_, t);
    gather_rows_out(projections, block(to_time_major_, t), gates);
    if (t > 0) gemm(block(hiddens_, t), weight_hh_.value, gates, 1.0f, 1.0f, false, true);  // + h_{t-1} W_hh^T
    lstm_cell_out(gates, block(cells_, t), block(cells_, t + 1), block(hiddens_, t + 1));
  }
  // y[n, t] = h_t of sequence n.
  gather_rows_out(hiddens_.rows(cap, (steps + 1) * cap), to_batch_major_.rows(0, n * steps), y.reshape({n * steps, hidden_}));
}

void LSTM::backward(const Tensor& x, const Tensor&, const Tensor& grad_y, const Tensor& grad_x) {
  const std::int64_t n = x.dim(0), steps = x.dim(1), cap = capacity_;
  if (n == 0 || steps == 0) {
    for (Parameter* p : parameters()) fill(p->grad, 0.0f);
    return;
  }
  const auto block = [cap, n](const Tensor& t, std::int64_t index) { return t.rows(index * cap, index * cap + n); };
  const Tensor grad_y_rows = grad_y.reshape({n * steps, hidden_});
  // Back through time: dh_t = dL/dh_t from the output + dgates_{t+1} W_hh; the cell's backward
  // turns step t's activated gates into their gradients in place.
  for (std::int64_t t = steps - 1; t >= 0; --t) {
    const Tensor grad_h = block(grad_hiddens_, t);
    gather_rows_out(grad_y_rows, block(to_time_major_, t), grad_h);
    if (t + 1 < steps) gemm(block(gates_, t + 1), weight_hh_.value, grad_h, 1.0f, 1.0f);
    const Tensor grad_c = block(grad_cell_, 0);
    lstm_cell_backward_out(block(gates_, t), block(cells_, t), block(cells_, t + 1), grad_h,
                           t + 1 < steps ? grad_c : Tensor(), block(gates_, t), grad_c);
  }
  // Batch-major again for the products over all steps.
  const Tensor to_batch = to_batch_major_.rows(0, n * steps);
  const Tensor grad_gates = grad_gates_batch_major_.rows(0, n * steps);
  gather_rows_out(gates_.rows(0, steps * cap), to_batch, grad_gates);
  const Tensor hiddens_before = hiddens_before_batch_major_.rows(0, n * steps);
  gather_rows_out(hiddens_.rows(0, steps * cap), to_batch, hiddens_before);  // h_{t-1} (h_{-1} = 0)
  gemm(grad_gates, x.reshape({n * steps, input_}), weight_ih_.grad, 1.0f, 0.0f, true, false);
  gemm(grad_gates, hiddens_before, weight_hh_.grad, 1.0f, 0.0f, true, false);
  bias_grad_out(grad_gates, bias_ih_.grad);
  bias_hh_.grad.copy_from(bias_ih_.grad);  // the two biases add: the same gradient
  if (grad_x.defined()) gemm(grad_gates, weight_ih_.value, grad_x.reshape({n * steps, input_}));
}

}  // namespace axon::nn
