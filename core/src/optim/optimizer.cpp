#include "axon/optim/optimizer.h"

#include <cmath>

#include "axon/error.h"
#include "core/src/limits.h"
#include "axon/ops.h"

namespace axon::optim {

namespace {
void require(bool ok, const std::string& optimizer, const std::string& what, double value) {
  if (!ok || std::isnan(value)) {
    throw ValueError(optimizer + ": invalid " + what + ": " + std::to_string(value));
  }
}
const Tensor kNone;  // a state tensor a configuration does not use
}  // namespace

Optimizer::Optimizer(nn::ParamArena& parameters, double lr) : parameters_(parameters), lr_(lr) {
  require(std::isfinite(lr) && lr >= 0.0, "optimizer", "learning rate", lr);
}

void Optimizer::set_lr(double lr) {
  require(std::isfinite(lr) && lr >= 0.0, name(), "learning rate", lr);
  lr_ = lr;
}

void Optimizer::set_steps(std::int64_t steps) {
  if (steps < 0 || steps > detail::kMaxRestoredCount) {
    throw ValueError(name() + ": steps must be in [0, 2^53], got " + std::to_string(steps));
  }
  steps_ = steps;
}

void Optimizer::step() {
  ++steps_;
  if (parameters_.size() == 0) return;
  update(steps_);
}

// ---- SGD ----

SGD::SGD(nn::ParamArena& parameters, SgdOptions options) : Optimizer(parameters, options.lr), options_(options) {
  require(options.momentum >= 0.0, "SGD", "momentum", options.momentum);
  require(options.weight_decay >= 0.0, "SGD", "weight_decay", options.weight_decay);
  require(std::isfinite(options.dampening), "SGD", "dampening", options.dampening);
  if (options.nesterov && (options.momentum <= 0.0 || options.dampening != 0.0)) {
    throw ValueError("SGD: Nesterov momentum requires a momentum and zero dampening");
  }
  if (options.momentum != 0.0) (void)parameters.slot("momentum_buffer");
}

void SGD::update(std::int64_t step) {
  nn::ParamArena& p = parameters();
  const SgdHyper hyper{static_cast<float>(lr()), static_cast<float>(options_.momentum),
                       static_cast<float>(options_.dampening), static_cast<float>(options_.weight_decay),
                       options_.nesterov, step == 1};
  sgd_step(hyper, p.values(), p.grads(), options_.momentum != 0.0 ? p.slot("momentum_buffer") : kNone);
}

// ---- Adagrad ----

Adagrad::Adagrad(nn::ParamArena& parameters, AdagradOptions options)
    : Optimizer(parameters, options.lr), options_(options) {
  require(options.lr_decay >= 0.0, "Adagrad", "lr_decay", options.lr_decay);
  require(options.weight_decay >= 0.0, "Adagrad", "weight_decay", options.weight_decay);
  require(options.initial_accumulator_value >= 0.0, "Adagrad", "initial_accumulator_value",
          options.initial_accumulator_value);
  require(options.eps >= 0.0, "Adagrad", "eps", options.eps);
}

void Adagrad::update(std::int64_t step) {
  nn::ParamArena& p = parameters();
  const double clr = lr() / (1.0 + static_cast<double>(step - 1) * options_.lr_decay);
  const AdagradHyper hyper{static_cast<float>(clr), static_cast<float>(options_.weight_decay),
                           static_cast<float>(options_.eps)};
  // The sum starts at initial_accumulator_value whenever the slot is (re)made: first step, or
  // after the arena was rebuilt.
  const bool fresh = !p.has_slot("sum");
  const Tensor sum = p.slot("sum");
  if (fresh) fill(sum, static_cast<float>(options_.initial_accumulator_value));
  adagrad_step(hyper, p.values(), p.grads(), sum);
}

// ---- RMSprop ----

RMSprop::RMSprop(nn::ParamArena& parameters, RmspropOptions options)
    : Optimizer(parameters, options.lr), options_(options) {
  require(options.alpha >= 0.0, "RMSprop", "alpha", options.alpha);
  require(options.eps >= 0.0, "RMSprop", "eps", options.eps);
  require(options.momentum >= 0.0, "RMSprop", "momentum", options.momentum);
  require(options.weight_decay >= 0.0, "RMSprop", "weight_decay", options.weight_decay);
}

void RMSprop::update(std::int64_t) {
  nn::ParamArena& p = parameters();
  const RmspropHyper hyper{static_cast<float>(lr()), static_cast<float>(options_.alpha),
                           static_cast<float>(options_.eps), static_cast<float>(options_.weight_decay),
                           static_cast<float>(options_.momentum), options_.centered};
  rmsprop_step(hyper, p.values(), p.grads(), p.slot("square_avg"),
               options_.momentum > 0.0 ? p.slot("momentum_buffer") : kNone,
               options_.centered ? p.slot("grad_avg") : kNone);
}

// ---- Adam, AdamW ----

namespace {
void check_adam(const char* name, const AdamOptions& options) {
  require(options.eps >= 0.0, name, "epsilon value", options.eps);
  require(options.beta1 >= 0.0 && options.beta1 < 1.0, name, "beta parameter at index 0", options.beta1);
  require(options.beta2 >= 0.0 && options.beta2 < 1.0, name, "beta parameter at index 1", options.beta2);
  require(options.weight_decay >= 0.0, name, "weight_decay value", options.weight_decay);
}

void adam_update(nn::ParamArena& p, double lr, const AdamOptions& options, bool decoupled, std::int64_t step) {
  // As torch.optim.Adam: the bias corrections in double, then one float each for the kernel.
  const double bias_correction1 = 1.0 - std::pow(options.beta1, static_cast<double>(step));
  const double bias_correction2 = 1.0 - std::pow(options.beta2, static_cast<double>(step));
  AdamHyper hyper;
  hyper.lr = static_cast<float>(lr);
  hyper.beta1 = static_cast<float>(options.beta1);
  hyper.beta2 = static_cast<float>(options.beta2);
  hyper.eps = static_cast<float>(options.eps);
  hyper.weight_decay = static_cast<float>(options.weight_decay);
  hyper.decoupled_weight_decay = decoupled;
  hyper.amsgrad = options.amsgrad;
  hyper.step_size = static_cast<float>(lr / bias_correction1);
  hyper.bias_correction2_sqrt = static_cast<float>(std::sqrt(bias_correction2));
  hyper.decay_factor = static_cast<float>(1.0 - lr * options.weight_decay);
  adam_step(hyper, p.values(), p.grads(), p.slot("exp_avg"), p.slot("exp_avg_sq"),
            options.amsgrad ? p.slot("max_exp_avg_sq") : kNone);
}
}  // namespace

Adam::Adam(nn::ParamArena& parameters, AdamOptions options) : Optimizer(parameters, options.lr), options_(options) {
  check_adam("Adam", options);
}

void Adam::update(std::int64_t step) { adam_update(parameters(), lr(), options_, false, step); }

AdamW::AdamW(nn::ParamArena& parameters, AdamOptions options) : Optimizer(parameters, options.lr), options_(options) {
  check_adam("AdamW", options);
}

void AdamW::update(std::int64_t step) { adam_update(parameters(), lr(), options_, true, step); }

// ---- clipping ----

Tensor clip_grad_norm(nn::ParamArena& parameters, float max_norm) {
  Tensor norm = Tensor::zeros({1}, parameters.device());
  if (parameters.size() > 0) clip_grad_norm_out(parameters.grads(), max_norm, norm);
  return norm;
}

void clip_grad_value(nn::ParamArena& parameters, float clip_value) {
  if (!(clip_value >= 0.0f)) throw ValueError("clip_grad_value: clip_value must be >= 0, got " + std::to_string(clip_value));
  if (parameters.size() > 0) clamp_out(parameters.grads(), -clip_value, clip_value, parameters.grads());
}

}  // namespace axon::optim
