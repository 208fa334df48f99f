#include "axon/optim/optimizer.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <set>

#include "axon/error.h"
#include "axon/ops.h"
#include "core/src/limits.h"

namespace axon::optim {

namespace {
void require(bool ok, const std::string& optimizer, const std::string& what, double value) {
  if (!ok || std::isnan(value)) {
    throw ValueError(optimizer + ": invalid " + what + ": " + std::to_string(value));
  }
}
const Tensor kNone;  // a state tensor a configuration does not use

std::string exact(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.17g", value);
  return text;
}

// The value of `key` in a checkpoint's optimizer values, or ValueError naming it.
const std::string& value_of(const OptimizerState& state, const std::string& key) {
  const auto it = state.values.find(key);
  if (it == state.values.end()) throw ValueError("optimizer state: no '" + key + "'");
  return it->second;
}
}  // namespace

std::vector<std::string> parameters_where(const nn::ParamArena& parameters,
                                          const std::function<bool(const std::string&)>& keep) {
  std::vector<std::string> names;
  for (const nn::NamedParameter& p : parameters.parameters()) {
    if (keep(p.name)) names.push_back(p.name);
  }
  return names;
}

// ---- the base: groups, ranges, state ----

Optimizer::Optimizer(nn::ParamArena& parameters, double lr, double weight_decay, std::vector<ParamGroup> groups)
    : parameters_(parameters), group_specs_(std::move(groups)) {
  require(std::isfinite(lr) && lr >= 0.0, "optimizer", "learning rate", lr);
  groups_.push_back({lr, lr, weight_decay});
  for (std::size_t g = 0; g < group_specs_.size(); ++g) {
    const ParamGroup& spec = group_specs_[g];
    const double group_lr = spec.lr.value_or(lr);
    const double group_decay = spec.weight_decay.value_or(weight_decay);
    require(std::isfinite(group_lr) && group_lr >= 0.0, "optimizer", "learning rate of group " + std::to_string(g + 1),
            group_lr);
    require(group_decay >= 0.0, "optimizer", "weight_decay of group " + std::to_string(g + 1), group_decay);
    groups_.push_back({group_lr, group_lr, group_decay});
  }
}

void Optimizer::set_lr(double lr) {
  require(std::isfinite(lr) && lr >= 0.0, name(), "learning rate", lr);
  const double made_with = groups_.front().initial_lr;
  groups_.front().lr = lr;
  if (made_with == 0.0) return;
  for (std::size_t g = 1; g < groups_.size(); ++g) groups_[g].lr = groups_[g].initial_lr * (lr / made_with);
}

void Optimizer::set_group_lr(std::size_t group, double lr) {
  if (group >= groups_.size()) {
    throw ValueError(name() + ": no parameter group " + std::to_string(group) + " (it has " +
                     std::to_string(groups_.size()) + ")");
  }
  require(std::isfinite(lr) && lr >= 0.0, name(), "learning rate of group " + std::to_string(group), lr);
  groups_[group].lr = lr;
}

void Optimizer::set_steps(std::int64_t steps) {
  if (steps < 0 || steps > detail::kMaxRestoredCount) {
    throw ValueError(name() + ": steps must be in [0, 2^53], got " + std::to_string(steps));
  }
  steps_ = steps;
}

void Optimizer::build_ranges() {
  // Each parameter's group, checked against the arena: names known, none in two groups.
  const auto& named = parameters_.parameters();
  std::vector<std::size_t> group_of(named.size(), 0);
  std::map<std::string_view, std::size_t> index;
  for (std::size_t i = 0; i < named.size(); ++i) index.emplace(named[i].name, i);
  std::set<std::size_t> grouped;
  for (std::size_t g = 0; g < group_specs_.size(); ++g) {
    for (const std::string& name : group_specs_[g].parameters) {
      const auto it = index.find(name);
      if (it == index.end()) throw ValueError(this->name() + ": group " + std::to_string(g + 1) + " names '" + name +
                                              "', which is not a parameter of the model");
      if (!grouped.insert(it->second).second) {
        throw ValueError(this->name() + ": parameter '" + name + "' is in two groups");
      }
      group_of[it->second] = g + 1;
    }
  }
  ranges_.clear();
  for (std::size_t i = 0; i < named.size(); ++i) {
    const std::int64_t begin = parameters_.offset(i);
    const std::int64_t end = i + 1 < named.size() ? parameters_.offset(i + 1) : parameters_.size();
    if (!ranges_.empty() && ranges_.back().group == group_of[i] && ranges_.back().end == begin) {
      ranges_.back().end = end;
    } else {
      ranges_.push_back({begin, end, group_of[i], {}, {}});
    }
  }
  for (Range& range : ranges_) {
    range.values = parameters_.values().rows(range.begin, range.end);
    range.grads = parameters_.grads().rows(range.begin, range.end);
  }
}

void Optimizer::fill_slot(const Tensor& slot, float initial) {
  // The initial value on the parameters' elements, zero on the padding between them: the
  // padding stays zero (the arena's promise) for any update that keeps zero state at zero.
  fill(slot, 0.0f);
  if (initial == 0.0f) return;
  const auto& named = parameters_.parameters();
  for (std::size_t i = 0; i < named.size(); ++i) {
    const std::int64_t begin = parameters_.offset(i);
    fill(slot.rows(begin, begin + named[i].parameter->value.numel()), initial);
  }
}

void Optimizer::ready() {
  if (parameters_.size() == 0) return;
  if (ready_for_ == parameters_.layout()) {
    // The layout stands, but the values may have moved to another device: views follow.
    if (!ranges_.empty() && ranges_.front().values.device() != parameters_.device()) build_ranges();
    return;
  }
  build_ranges();
  for (const SlotSpec& spec : slot_specs()) {
    if (!parameters_.has_slot(spec.name)) fill_slot(parameters_.slot(spec.name), spec.initial);
  }
  ready_for_ = parameters_.layout();
}

void Optimizer::reset_state() {
  ready();
  if (parameters_.size() == 0) return;
  for (const SlotSpec& spec : slot_specs()) fill_slot(parameters_.slot(spec.name), spec.initial);
}

Tensor Optimizer::slot(std::string_view name, const Range& range) {
  return parameters_.slot(name).rows(range.begin, range.end);
}

void Optimizer::step() {
  ++steps_;
  if (parameters_.size() == 0) return;
  ready();
  prepare(steps_);
  launch();
}

OptimizerState Optimizer::save_state() {
  ready();
  OptimizerState state;
  for (const SlotSpec& spec : slot_specs()) {
    if (parameters_.size() > 0) state.tensors.emplace_back(spec.name, parameters_.slot(spec.name));
  }
  state.values["steps"] = std::to_string(steps_);
  state.values["lr"] = exact(lr());
  state.values["groups"] = std::to_string(groups_.size());
  std::string rates;
  for (const Group& group : groups_) {
    if (!rates.empty()) rates += ' ';
    rates += exact(group.lr);
  }
  state.values["group_lrs"] = rates;
  save_values(state.values);
  return state;
}

void Optimizer::check_state(const OptimizerState& state) {
  // (no ready(): checking makes no slot, so a refused state leaves the optimizer as it was)
  std::map<std::string, const Tensor*> given;
  for (const auto& [name, tensor] : state.tensors) given.emplace(name, &tensor);
  const Shape want = parameters_.size() > 0 ? parameters_.values().shape() : Shape{0};
  for (const SlotSpec& spec : slot_specs()) {
    if (parameters_.size() == 0) break;
    const auto it = given.find(spec.name);
    if (it == given.end()) throw ValueError(name() + " state has no slot '" + spec.name + "'");
    if (it->second->shape() != want || it->second->dtype() != DType::kFloat32) {
      throw ValueError(name() + " slot '" + spec.name + "' is " + it->second->describe() + ", the arena is " +
                       parameters_.values().describe());
    }
    given.erase(it);
  }
  if (!given.empty()) throw ValueError(name() + " keeps no slot '" + given.begin()->first + "'");
  std::int64_t steps = 0;
  const std::string& steps_text = value_of(state, "steps");
  if (const auto [end, error] = std::from_chars(steps_text.data(), steps_text.data() + steps_text.size(), steps);
      error != std::errc() || end != steps_text.data() + steps_text.size() || steps < 0 ||
      steps > detail::kMaxRestoredCount) {
    throw ValueError(name() + " state: 'steps' is not a whole number in [0, 2^53]: '" + steps_text + "'");
  }
  double lr = 0.0;
  const std::string& lr_text = value_of(state, "lr");
  if (const auto [end, error] = std::from_chars(lr_text.data(), lr_text.data() + lr_text.size(), lr);
      error != std::errc() || end != lr_text.data() + lr_text.size() || !std::isfinite(lr) || lr < 0.0) {
    throw ValueError(name() + " state: 'lr' is not a finite rate >= 0: '" + lr_text + "'");
  }
  if (const auto groups = state.values.find("groups");
      groups != state.values.end() && groups->second != std::to_string(groups_.size())) {
    throw ValueError(name() + " state has " + groups->second + " parameter groups, this optimizer " +
                     std::to_string(groups_.size()));
  }
  if (const auto rates = state.values.find("group_lrs"); rates != state.values.end()) {
    (void)group_rates(rates->second);
  }
  check_values(state.values);
}

std::vector<double> Optimizer::group_rates(const std::string& text) const {
  std::vector<double> rates;
  const char* at = text.data();
  const char* const end = text.data() + text.size();
  while (at < end && rates.size() <= groups_.size()) {
    double rate = 0.0;
    const auto [next, error] = std::from_chars(at, end, rate);
    if (error != std::errc() || !std::isfinite(rate) || rate < 0.0 || (next != end && *next != ' ')) break;
    rates.push_back(rate);
    at = next == end ? end : next + 1;
  }
  if (at != end || rates.size() != groups_.size()) {
    throw ValueError(name() + " state: 'group_lrs' is not " + std::to_string(groups_.size()) +
                     " finite rates >= 0: '" + text.substr(0, 200) + "'");
  }
  return rates;
}

void Optimizer::load_state(const OptimizerState& state) {
  check_state(state);
  ready();
  for (const auto& [slot_name, tensor] : state.tensors) parameters_.slot(slot_name).copy_from(tensor);
  steps_ = std::stoll(value_of(state, "steps"));
  if (const auto rates = state.values.find("group_lrs"); rates != state.values.end()) {
    const std::vector<double> lrs = group_rates(rates->second);
    for (std::size_t g = 0; g < lrs.size(); ++g) groups_[g].lr = lrs[g];
  } else {  // (a checkpoint written before groups kept their own rates)
    set_lr(std::stod(value_of(state, "lr")));
  }
  load_values(state.values);
}

// ---- SGD ----

SGD::SGD(nn::ParamArena& parameters, SgdOptions options, std::vector<ParamGroup> groups)
    : Optimizer(parameters, options.lr, options.weight_decay, std::move(groups)), options_(options) {
  require(options.momentum >= 0.0, "SGD", "momentum", options.momentum);
  require(options.weight_decay >= 0.0, "SGD", "weight_decay", options.weight_decay);
  require(std::isfinite(options.dampening), "SGD", "dampening", options.dampening);
  if (options.nesterov && (options.momentum <= 0.0 || options.dampening != 0.0)) {
    throw ValueError("SGD: Nesterov momentum requires a momentum and zero dampening");
  }
}

std::vector<SlotSpec> SGD::slot_specs() const {
  if (options_.momentum == 0.0) return {};
  return {{"momentum_buffer"}};
}

void SGD::prepare(std::int64_t step) {
  hyper_.resize(group_count());
  for (std::size_t g = 0; g < group_count(); ++g) {
    hyper_[g] = {static_cast<float>(group_lr(g)), static_cast<float>(options_.momentum),
                 static_cast<float>(1.0 - options_.dampening), static_cast<float>(group_weight_decay(g)),
                 options_.nesterov, step == 1};
  }
}

void SGD::launch() {
  for (const Range& r : ranges()) {
    sgd_step(hyper_[r.group], r.values, r.grads, options_.momentum != 0.0 ? slot("momentum_buffer", r) : kNone);
  }
}

// ---- Adagrad ----

Adagrad::Adagrad(nn::ParamArena& parameters, AdagradOptions options, std::vector<ParamGroup> groups)
    : Optimizer(parameters, options.lr, options.weight_decay, std::move(groups)), options_(options) {
  require(options.lr_decay >= 0.0, "Adagrad", "lr_decay", options.lr_decay);
  require(options.weight_decay >= 0.0, "Adagrad", "weight_decay", options.weight_decay);
  require(options.initial_accumulator_value >= 0.0, "Adagrad", "initial_accumulator_value",
          options.initial_accumulator_value);
  require(options.eps >= 0.0, "Adagrad", "eps", options.eps);
}

std::vector<SlotSpec> Adagrad::slot_specs() const {
  return {{"sum", static_cast<float>(options_.initial_accumulator_value)}};
}

void Adagrad::prepare(std::int64_t step) {
  hyper_.resize(group_count());
  for (std::size_t g = 0; g < group_count(); ++g) {
    const double clr = group_lr(g) / (1.0 + static_cast<double>(step - 1) * options_.lr_decay);
    hyper_[g] = {static_cast<float>(clr), static_cast<float>(group_weight_decay(g)), static_cast<float>(options_.eps)};
  }
}

void Adagrad::launch() {
  for (const Range& r : ranges()) adagrad_step(hyper_[r.group], r.values, r.grads, slot("sum", r));
}

// ---- RMSprop ----

RMSprop::RMSprop(nn::ParamArena& parameters, RmspropOptions options, std::vector<ParamGroup> groups)
    : Optimizer(parameters, options.lr, options.weight_decay, std::move(groups)), options_(options) {
  require(options.alpha >= 0.0, "RMSprop", "alpha", options.alpha);
  require(options.eps >= 0.0, "RMSprop", "eps", options.eps);
  require(options.momentum >= 0.0, "RMSprop", "momentum", options.momentum);
  require(options.weight_decay >= 0.0, "RMSprop", "weight_decay", options.weight_decay);
}

std::vector<SlotSpec> RMSprop::slot_specs() const {
  std::vector<SlotSpec> specs{{"square_avg"}};
  if (options_.momentum > 0.0) specs.push_back({"momentum_buffer"});
  if (options_.centered) specs.push_back({"grad_avg"});
  return specs;
}

void RMSprop::prepare(std::int64_t) {
  hyper_.resize(group_count());
  for (std::size_t g = 0; g < group_count(); ++g) {
    hyper_[g] = {static_cast<float>(group_lr(g)), static_cast<float>(options_.alpha),
                 static_cast<float>(1.0 - options_.alpha), static_cast<float>(options_.eps),
                 static_cast<float>(group_weight_decay(g)), static_cast<float>(options_.momentum), options_.centered};
  }
}

void RMSprop::launch() {
  for (const Range& r : ranges()) {
    rmsprop_step(hyper_[r.group], r.values, r.grads, slot("square_avg", r),
                 options_.momentum > 0.0 ? slot("momentum_buffer", r) : kNone,
                 options_.centered ? slot("grad_avg", r) : kNone);
  }
}

// ---- Adam, AdamW ----

namespace {
void check_adam(const char* name, const AdamOptions& options) {
  require(options.eps >= 0.0, name, "epsilon value", options.eps);
  require(options.beta1 >= 0.0 && options.beta1 < 1.0, name, "beta parameter at index 0", options.beta1);
  require(options.beta2 >= 0.0 && options.beta2 < 1.0, name, "beta parameter at index 1", options.beta2);
  require(options.weight_decay >= 0.0, name, "weight_decay value", options.weight_decay);
}
}  // namespace

Adam::Adam(nn::ParamArena& parameters, AdamOptions options, std::vector<ParamGroup> groups)
    : Adam(parameters, options, std::move(groups), false) {}

Adam::Adam(nn::ParamArena& parameters, AdamOptions options, std::vector<ParamGroup> groups, bool decoupled)
    : Optimizer(parameters, options.lr, options.weight_decay, std::move(groups)), options_(options), decoupled_(decoupled) {
  check_adam(decoupled ? "AdamW" : "Adam", options);
}

std::vector<SlotSpec> Adam::slot_specs() const {
  std::vector<SlotSpec> specs{{"exp_avg"}, {"exp_avg_sq"}};
  if (options_.amsgrad) specs.push_back({"max_exp_avg_sq"});
  return specs;
}

void Adam::prepare(std::int64_t step) {
  // As torch.optim.Adam: the bias corrections and complements in double, then one float each.
  const double bias_correction1 = 1.0 - std::pow(options_.beta1, static_cast<double>(step));
  const double bias_correction2 = 1.0 - std::pow(options_.beta2, static_cast<double>(step));
  hyper_.resize(group_count());
  for (std::size_t g = 0; g < group_count(); ++g) {
    const double lr = group_lr(g), decay = group_weight_decay(g);
    AdamHyper& h = hyper_[g];
    h.lr = static_cast<float>(lr);
    h.one_minus_beta1 = static_cast<float>(1.0 - options_.beta1);
    h.beta2 = static_cast<float>(options_.beta2);
    h.one_minus_beta2 = static_cast<float>(1.0 - options_.beta2);
    h.eps = static_cast<float>(options_.eps);
    h.weight_decay = static_cast<float>(decay);
    h.decoupled_weight_decay = decoupled_;
    h.amsgrad = options_.amsgrad;
    h.step_size = static_cast<float>(lr / bias_correction1);
    h.bias_correction2_sqrt = static_cast<float>(std::sqrt(bias_correction2));
    h.decay_factor = static_cast<float>(1.0 - lr * decay);
  }
}

void Adam::launch() {
  for (const Range& r : ranges()) {
    adam_step(hyper_[r.group], r.values, r.grads, slot("exp_avg", r), slot("exp_avg_sq", r),
              options_.amsgrad ? slot("max_exp_avg_sq", r) : kNone);
  }
}

AdamW::AdamW(nn::ParamArena& parameters, AdamOptions options, std::vector<ParamGroup> groups)
    : Adam(parameters, options, std::move(groups), true) {}

// ---- clipping ----

Tensor clip_grad_norm(nn::ParamArena& parameters, float max_norm, ClipOptions options) {
  Tensor norm = Tensor::zeros({1}, parameters.device());
  if (parameters.size() == 0) return norm;
  clip_grad_norm_out(parameters.grads(), GradNormClip{max_norm, options.norm_type, options.error_if_nonfinite}, norm);
  if (options.error_if_nonfinite) check_finite_norm(norm, options.norm_type);
  return norm;
}

void check_finite_norm(const Tensor& norm, float norm_type) {
  const float value = norm.item();
  if (std::isfinite(value)) return;
  char order[32];
  std::snprintf(order, sizeof(order), "%g", static_cast<double>(norm_type));
  throw ValueError(std::string("clip_grad_norm: the total norm of order ") + order + " of the gradients is " +
                   std::to_string(value) + ": not clipped (error_if_nonfinite); the gradients are as they were");
}

void clip_grad_value(nn::ParamArena& parameters, float clip_value) {
  if (!(clip_value >= 0.0f)) throw ValueError("clip_grad_value: clip_value must be >= 0, got " + std::to_string(clip_value));
  if (parameters.size() > 0) clamp_out(parameters.grads(), -clip_value, clip_value, parameters.grads());
}

}  // namespace axon::optim
