// GRU (nn/gru.h): the input products of all steps in one product, per step the hidden product
// (bias fused) and one fused cell op; back through time the same way in reverse.
#include "axon/nn/gru.h"

#include <algorithm>

#include "axon/error.h"
#include "axon/ops.h"
#include "core/src/nn/recurrent_common.h"

namespace axon::nn {

namespace {
const bool kRegistered = detail::register_recurrent<GRU>("GRU", 3);
}  // namespace

GRU::GRU(std::int64_t input_size, std::int64_t hidden_size, Generator* generator, Device device)
    : input_(input_size), hidden_(hidden_size) {
  detail::RecurrentParameters p = detail::make_recurrent_parameters("GRU", 3, input_, hidden_, device);
  weight_ih_ = std::move(p.weight_ih);
  weight_hh_ = std::move(p.weight_hh);
  bias_ih_ = std::move(p.bias_ih);
  bias_hh_ = std::move(p.bias_hh);
  reset_parameters(generator != nullptr ? *generator : default_generator());
}

LayerConfig GRU::config() const { return LayerConfig().set("input_size", input_).set("hidden_size", hidden_); }

std::string GRU::settings() const { return detail::recurrent_settings(input_, hidden_); }

Shape GRU::output_shape(const Shape& input) const {
  return detail::recurrent_output_shape("GRU(" + settings() + ")", input, input_, hidden_);
}

void GRU::reset_parameters(Generator& generator) { detail::reset_recurrent_parameters(parameters(), hidden_, generator); }

void GRU::reserve(const Shape& input, Device device) {
  (void)output_shape(input);
  const std::int64_t rows = input[0], steps = input[1];
  if (rows <= capacity_ && steps == steps_ && projections_.defined() && projections_.device() == device) return;
  const std::int64_t capacity = std::max(rows, capacity_), g = 3 * hidden_;
  detail::SequenceRowMaps maps = detail::make_sequence_row_maps(steps, capacity, g, "GRU(" + settings() + ")", device);
  projections_ = Tensor::empty({capacity * steps, g}, device);
  gates_x_ = Tensor::empty({steps * capacity, g}, device);
  gates_h_ = Tensor::empty({steps * capacity, g}, device);
  hiddens_ = Tensor::zeros({(steps + 1) * capacity, hidden_}, device);
  grad_h_ = Tensor::empty({capacity, hidden_}, device);
  grad_carry_ = Tensor::empty({capacity, hidden_}, device);
  grad_gates_h_batch_major_ = Tensor::empty({capacity * steps, g}, device);
  hiddens_before_batch_major_ = Tensor::empty({capacity * steps, hidden_}, device);
  to_time_major_ = std::move(maps.to_time_major);
  to_batch_major_ = std::move(maps.to_batch_major);
  capacity_ = capacity;
  steps_ = steps;
}

void GRU::forward(const Tensor& x, const Tensor& y, const StepContext&) {
  reserve(x.shape(), x.device());  // (a no-op once planned)
  const std::int64_t n = x.dim(0), steps = x.dim(1), cap = capacity_;
  if (n == 0 || steps == 0) return;
  const auto block = [cap, n](const Tensor& t, std::int64_t index) { return t.rows(index * cap, index * cap + n); };
  // Every step's x_t W_ih^T + b_ih, batch-major: one product over N * T rows.
  const Tensor projections = projections_.rows(0, n * steps);
  linear_out(Activation::kIdentity, x.reshape({n * steps, input_}), weight_ih_.value, bias_ih_.value, Tensor(), projections);
  for (std::int64_t t = 0; t < steps; ++t) {
    const Tensor gates_x = block(gates_x_, t), gates_h = block(gates_h_, t);
    gather_rows_out(projections, block(to_time_major_, t), gates_x);
    // h_{t-1} W_hh^T + b_hh (h_{-1} = 0: the bias alone).
    linear_out(Activation::kIdentity, block(hiddens_, t), weight_hh_.value, bias_hh_.value, Tensor(), gates_h);
    gru_cell_out(gates_x, gates_h, block(hiddens_, t), block(hiddens_, t + 1));
  }
  // y[n, t] = h_t of sequence n.
  gather_rows_out(hiddens_.rows(cap, (steps + 1) * cap), to_batch_major_.rows(0, n * steps), y.reshape({n * steps, hidden_}));
}

void GRU::backward(const Tensor& x, const Tensor&, const Tensor& grad_y, const Tensor& grad_x) {
  const std::int64_t n = x.dim(0), steps = x.dim(1), cap = capacity_;
  if (n == 0 || steps == 0) {
    for (Parameter* p : parameters()) fill(p->grad, 0.0f);
    return;
  }
  const auto block = [cap, n](const Tensor& t, std::int64_t index) { return t.rows(index * cap, index * cap + n); };
  const Tensor grad_y_rows = grad_y.reshape({n * steps, hidden_});
  const Tensor grad_h = grad_h_.rows(0, n), carry = grad_carry_.rows(0, n);
  // Back through time: dL/dh_t = the output's gradient + what step t + 1 sent back (its direct
  // part dh z, and its hidden product's gradient times W_hh). The cell's backward turns the
  // step's activated gates and hidden product into their gradients in place.
  for (std::int64_t t = steps - 1; t >= 0; --t) {
    gather_rows_out(grad_y_rows, block(to_time_major_, t), grad_h);
    if (t + 1 < steps) axpy(1.0f, carry, grad_h);
    const Tensor gates_x = block(gates_x_, t), gates_h = block(gates_h_, t);
    gru_cell_backward_out(gates_x, gates_h, block(hiddens_, t), grad_h, gates_x, gates_h, carry);
    if (t > 0) gemm(gates_h, weight_hh_.value, carry, 1.0f, 1.0f);
  }
  // Batch-major again for the products over all steps.
  const Tensor to_batch = to_batch_major_.rows(0, n * steps);
  const Tensor grad_gates_x = projections_.rows(0, n * steps);
  gather_rows_out(gates_x_.rows(0, steps * cap), to_batch, grad_gates_x);
  const Tensor grad_gates_h = grad_gates_h_batch_major_.rows(0, n * steps);
  gather_rows_out(gates_h_.rows(0, steps * cap), to_batch, grad_gates_h);
  const Tensor hiddens_before = hiddens_before_batch_major_.rows(0, n * steps);
  gather_rows_out(hiddens_.rows(0, steps * cap), to_batch, hiddens_before);  // h_{t-1} (h_{-1} = 0)
  gemm(grad_gates_x, x.reshape({n * steps, input_}), weight_ih_.grad, 1.0f, 0.0f, true, false);
  gemm(grad_gates_h, hiddens_before, weight_hh_.grad, 1.0f, 0.0f, true, false);
  bias_grad_out(grad_gates_x, bias_ih_.grad);
  bias_grad_out(grad_gates_h, bias_hh_.grad);
  if (grad_x.defined()) gemm(grad_gates_x, weight_ih_.value, grad_x.reshape({n * steps, input_}));
}

}  // namespace axon::nn
