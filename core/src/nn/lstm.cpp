// LSTM (nn/lstm.h): the input projections of all steps in one product, the recurrence one
// product and one fused cell op per step; back through time the same way in reverse.
#include "axon/nn/lstm.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

#include "axon/error.h"
#include "axon/nn/registry.h"
#include "axon/ops.h"
#include "core/src/nn/sequence_rows.h"

namespace axon::nn {

namespace {
// A size a model file may give: far beyond any real layer, small enough to allocate.
constexpr std::int64_t kMaxSize = std::int64_t{1} << 20;

const bool kRegistered = [] {
  register_layer(
      "LSTM",
      [](const LayerConfig& c) {
        return std::make_unique<LSTM>(c.integer("input_size", 1, kMaxSize), c.integer("hidden_size", 1, kMaxSize));
      },
      [](const LayerConfig& c) {
        const std::int64_t in = c.integer("input_size", 1, kMaxSize), hidden = c.integer("hidden_size", 1, kMaxSize);
        return 4 * hidden * (in + hidden + 2);
      });
  return true;
}();

Parameter make_parameter(const char* name, const Shape& shape, Device device) {
  return {name, Tensor::empty(shape, device), Tensor::zeros(shape, device)};
}
}  // namespace

LSTM::LSTM(std::int64_t input_size, std::int64_t hidden_size, Generator* generator, Device device)
    : input_(input_size), hidden_(hidden_size) {
  if (input_ < 1 || hidden_ < 1 || input_ > kMaxSize || hidden_ > kMaxSize) {
    throw ValueError("LSTM: needs input_size and hidden_size in [1, " + std::to_string(kMaxSize) + "], got " +
                     std::to_string(input_) + " and " + std::to_string(hidden_));
  }
  weight_ih_ = make_parameter("weight_ih_l0", {4 * hidden_, input_}, device);
  weight_hh_ = make_parameter("weight_hh_l0", {4 * hidden_, hidden_}, device);
  bias_ih_ = make_parameter("bias_ih_l0", {4 * hidden_}, device);
  bias_hh_ = make_parameter("bias_hh_l0", {4 * hidden_}, device);
  reset_parameters(generator != nullptr ? *generator : default_generator());
}

LayerConfig LSTM::config() const { return LayerConfig().set("input_size", input_).set("hidden_size", hidden_); }

std::string LSTM::settings() const {
  char text[64];
  std::snprintf(text, sizeof(text), "%lld -> %lld", static_cast<long long>(input_), static_cast<long long>(hidden_));
  return text;
}

Shape LSTM::output_shape(const Shape& input) const {
  if (input.rank() != 3 || input[2] != input_) {
    throw ShapeError("LSTM(" + settings() + "): input must be [batch, steps, " + std::to_string(input_) + "], got " +
                     input.str());
  }
  return Shape{input[0], input[1], hidden_};
}

void LSTM::reset_parameters(Generator& generator) {
  // torch.nn.LSTM: every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)).
  const auto bound = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hidden_)));
  for (Parameter* p : parameters()) fill_uniform(p->value, -bound, bound, generator);
}

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
