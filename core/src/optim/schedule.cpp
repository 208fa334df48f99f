#include "axon/optim/schedule.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <string_view>
#include <cmath>
#include <limits>
#include <numbers>

#include "axon/error.h"
#include "core/src/limits.h"

namespace axon::optim {

Schedule::Schedule(Optimizer& optimizer) : optimizer_(optimizer) {
  for (std::size_t g = 0; g < optimizer.group_count(); ++g) base_lrs_.push_back(optimizer.group_lr(g));
}

void Schedule::start() { apply(0); }

void Schedule::apply(std::int64_t epoch) {
  for (std::size_t g = 0; g < base_lrs_.size(); ++g) optimizer_.set_group_lr(g, rate_at(epoch, base_lrs_[g]));
}

void Schedule::rebase(Schedule& part, const std::vector<double>& bases) { part.base_lrs_ = bases; }

void Schedule::step() {
  ++last_epoch_;
  apply(last_epoch_);
}

void Schedule::set_last_epoch(std::int64_t epoch) {
  if (epoch < 0 || epoch > detail::kMaxRestoredCount) {
    throw ValueError("Schedule::set_last_epoch: epoch must be in [0, 2^53], got " + std::to_string(epoch));
  }
  check_epoch(epoch);
  last_epoch_ = epoch;
  apply(epoch);
}

void Schedule::check_epoch(std::int64_t epoch) const {
  for (std::size_t g = 0; g < base_lrs_.size(); ++g) {
    const double rate = rate_at(epoch, base_lrs_[g]);
    if (!std::isfinite(rate) || rate < 0.0) {
      throw ValueError("the schedule's rate at epoch " + std::to_string(epoch) + " is " + std::to_string(rate) +
                       " (parameter group " + std::to_string(g) + ")");
    }
  }
}

void Schedule::check_state(const std::string& state) const {
  if (!state.empty()) throw ValueError("schedule state '" + state + "' given to a schedule that keeps none");
}

void Schedule::set_state(const std::string& state) { check_state(state); }

namespace {
void positive(bool ok, const char* schedule, const char* what) {
  if (!ok) throw ValueError(std::string(schedule) + ": " + what);
}
}  // namespace

StepLR::StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma)
    : Schedule(optimizer), step_size_(step_size), gamma_(gamma) {
  positive(step_size >= 1, "StepLR", "step_size must be >= 1");
  positive(gamma > 0.0 && std::isfinite(gamma), "StepLR", "gamma must be positive and finite");
  start();
}

double StepLR::rate_at(std::int64_t epoch, double base) const {
  return base * std::pow(gamma_, static_cast<double>(epoch / step_size_));
}

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<std::int64_t> milestones, double gamma)
    : Schedule(optimizer), milestones_(std::move(milestones)), gamma_(gamma) {
  positive(std::is_sorted(milestones_.begin(), milestones_.end()), "MultiStepLR", "milestones must increase");
  positive(gamma > 0.0 && std::isfinite(gamma), "MultiStepLR", "gamma must be positive and finite");
  start();
}

double MultiStepLR::rate_at(std::int64_t epoch, double base) const {
  const auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), epoch) - milestones_.begin();
  return base * std::pow(gamma_, static_cast<double>(passed));
}

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma) : Schedule(optimizer), gamma_(gamma) {
  positive(gamma > 0.0 && std::isfinite(gamma), "ExponentialLR", "gamma must be positive and finite");
  start();
}

double ExponentialLR::rate_at(std::int64_t epoch, double base) const {
  return base * std::pow(gamma_, static_cast<double>(epoch));
}

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, std::int64_t t_max, double eta_min)
    : Schedule(optimizer), t_max_(t_max), eta_min_(eta_min) {
  positive(t_max >= 1, "CosineAnnealingLR", "t_max must be >= 1");
  positive(eta_min >= 0.0, "CosineAnnealingLR", "eta_min must be >= 0");
  start();
}

double CosineAnnealingLR::rate_at(std::int64_t epoch, double base) const {
  const double phase = std::numbers::pi * static_cast<double>(epoch) / static_cast<double>(t_max_);
  return eta_min_ + (base - eta_min_) * (1.0 + std::cos(phase)) / 2.0;
}

LinearWarmup::LinearWarmup(Optimizer& optimizer, std::int64_t warmup, double start_factor,
                           std::unique_ptr<Schedule> inner)
    : Schedule(optimizer), warmup_(warmup), start_factor_(start_factor), inner_(std::move(inner)) {
  positive(warmup >= 1, "LinearWarmup", "warmup must be >= 1");
  positive(start_factor > 0.0 && start_factor <= 1.0, "LinearWarmup", "start_factor must be in (0, 1]");
  if (inner_) {
    positive(inner_->closed_form(), "LinearWarmup", "the inner schedule must have a closed form (not ReduceLROnPlateau)");
    base_lrs_ = inner_->base_lrs();
  }
  start();
}

double LinearWarmup::rate_at(std::int64_t epoch, double base) const {
  const double progress = static_cast<double>(std::min(epoch, warmup_)) / static_cast<double>(warmup_);
  const double factor = start_factor_ + (1.0 - start_factor_) * progress;
  return factor * (inner_ ? inner_->rate_at(epoch, base) : base);
}

LinearLR::LinearLR(Optimizer& optimizer, double start_factor, double end_factor, std::int64_t total_iters)
    : Schedule(optimizer), start_factor_(start_factor), end_factor_(end_factor), total_iters_(total_iters) {
  positive(start_factor > 0.0 && start_factor <= 1.0, "LinearLR", "start_factor must be in (0, 1]");
  positive(end_factor >= 0.0 && end_factor <= 1.0, "LinearLR", "end_factor must be in [0, 1]");
  positive(total_iters >= 1, "LinearLR", "total_iters must be >= 1");
  start();
}

double LinearLR::rate_at(std::int64_t epoch, double base) const {
  const double progress = static_cast<double>(std::min(epoch, total_iters_)) / static_cast<double>(total_iters_);
  return base * (start_factor_ + (end_factor_ - start_factor_) * progress);
}

CosineAnnealingWarmRestarts::CosineAnnealingWarmRestarts(Optimizer& optimizer, std::int64_t t_0, std::int64_t t_mult,
                                                         double eta_min)
    : Schedule(optimizer), t_0_(t_0), t_mult_(t_mult), eta_min_(eta_min) {
  positive(t_0 >= 1, "CosineAnnealingWarmRestarts", "t_0 must be >= 1");
  positive(t_mult >= 1, "CosineAnnealingWarmRestarts", "t_mult must be >= 1");
  positive(eta_min >= 0.0 && std::isfinite(eta_min), "CosineAnnealingWarmRestarts", "eta_min must be finite and >= 0");
  start();
}

double CosineAnnealingWarmRestarts::rate_at(std::int64_t epoch, double base) const {
  // Where `epoch` falls in its period: periods t_0, t_0 t_mult, t_0 t_mult^2, ... (whole
  // numbers, so no logarithm's rounding decides a restart).
  std::int64_t into = epoch, period = t_0_;
  if (t_mult_ == 1) {
    into = epoch % t_0_;
  } else {
    while (into >= period) {
      into -= period;
      if (period > std::numeric_limits<std::int64_t>::max() / t_mult_) break;  // (no later restart fits)
      period *= t_mult_;
    }
  }
  const double phase = std::numbers::pi * static_cast<double>(into) / static_cast<double>(period);
  return eta_min_ + (base - eta_min_) * (1.0 + std::cos(phase)) / 2.0;
}

LambdaLR::LambdaLR(Optimizer& optimizer, std::function<double(std::int64_t)> factor)
    : Schedule(optimizer), factor_(std::move(factor)) {
  positive(static_cast<bool>(factor_), "LambdaLR", "the factor function is empty");
  start();
}

double LambdaLR::rate_at(std::int64_t epoch, double base) const { return base * factor_(epoch); }

SequentialLR::SequentialLR(Optimizer& optimizer, std::vector<std::unique_ptr<Schedule>> parts,
                           std::vector<std::int64_t> milestones)
    : Schedule(optimizer), parts_(std::move(parts)), milestones_(std::move(milestones)) {
  positive(!parts_.empty(), "SequentialLR", "needs at least one schedule");
  positive(milestones_.size() + 1 == parts_.size(), "SequentialLR",
           "needs one milestone fewer than schedules");
  positive(std::is_sorted(milestones_.begin(), milestones_.end()) &&
               std::adjacent_find(milestones_.begin(), milestones_.end()) == milestones_.end() &&
               (milestones_.empty() || milestones_.front() >= 1),
           "SequentialLR", "milestones must increase from >= 1");
  for (const auto& part : parts_) {
    positive(part != nullptr, "SequentialLR", "a schedule is null");
    positive(part->closed_form(), "SequentialLR", "every schedule must have a closed form (not ReduceLROnPlateau)");
  }
  base_lrs_ = parts_.front()->base_lrs();
  for (const auto& part : parts_) rebase(*part, base_lrs_);
  start();
}

double SequentialLR::rate_at(std::int64_t epoch, double base) const {
  const auto part = static_cast<std::size_t>(std::upper_bound(milestones_.begin(), milestones_.end(), epoch) -
                                             milestones_.begin());
  const std::int64_t since = part == 0 ? 0 : milestones_[part - 1];
  return parts_[part]->rate_at(epoch - since, base);
}

OneCycleLR::OneCycleLR(Optimizer& optimizer, double max_lr, std::int64_t total_steps, double pct_start,
                       double div_factor, double final_div_factor)
    : Schedule(optimizer),
      max_lr_(max_lr),
      initial_lr_(max_lr / div_factor),
      min_lr_(max_lr / div_factor / final_div_factor),
      total_steps_(total_steps),
      phase_end_(pct_start * static_cast<double>(total_steps) - 1.0) {
  positive(max_lr > 0.0 && std::isfinite(max_lr), "OneCycleLR", "max_lr must be positive and finite");
  positive(total_steps >= 2, "OneCycleLR", "total_steps must be >= 2");
  positive(pct_start > 0.0 && pct_start < 1.0, "OneCycleLR", "pct_start must be in (0, 1)");
  positive(div_factor > 0.0 && final_div_factor > 0.0, "OneCycleLR", "div factors must be positive");
  std::fill(base_lrs_.begin(), base_lrs_.end(), initial_lr_);
  start();
}

double OneCycleLR::rate_at(std::int64_t epoch, double) const {
  if (epoch > total_steps_) {  // stepping after the last batch (epoch == total_steps) is allowed
    throw ValueError("OneCycleLR: stepped " + std::to_string(epoch) + " times, more than total_steps = " +
                     std::to_string(total_steps_));
  }
  const auto anneal = [](double from, double to, double pct) {
    return to + (from - to) / 2.0 * (std::cos(std::numbers::pi * pct) + 1.0);
  };
  const auto step = static_cast<double>(epoch);
  // A warm-up of less than a step has no phase of its own (0 / 0 gave a NaN rate).
  const double warm_end = std::max(phase_end_, 0.0);
  if (warm_end > 0.0 && step <= warm_end) return anneal(initial_lr_, max_lr_, step / warm_end);
  const double end = static_cast<double>(total_steps_ - 1);
  return anneal(max_lr_, min_lr_, (step - warm_end) / (end - warm_end));
}

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, PlateauOptions options)
    : Schedule(optimizer),
      options_(options),
      best_(options.maximize ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity()) {
  positive(options.factor > 0.0 && options.factor < 1.0, "ReduceLROnPlateau", "factor must be in (0, 1)");
  positive(options.patience >= 0 && options.cooldown >= 0, "ReduceLROnPlateau", "patience and cooldown must be >= 0");
  positive(options.threshold >= 0.0 && options.min_lr >= 0.0, "ReduceLROnPlateau",
           "threshold and min_lr must be >= 0");
}

double ReduceLROnPlateau::rate_at(std::int64_t, double) const {
  throw ValueError("ReduceLROnPlateau has no closed form: its rate follows the metrics it is given");
}

void ReduceLROnPlateau::step() {
  throw ValueError("ReduceLROnPlateau: step() needs the metric: call step(metric)");
}

void ReduceLROnPlateau::step(double metric) {
  ++last_epoch_;
  const bool better = options_.maximize ? metric > best_ * (1.0 + options_.threshold)
                                        : metric < best_ * (1.0 - options_.threshold);
  if (better) {
    best_ = metric;
    bad_epochs_ = 0;
  } else {
    ++bad_epochs_;
  }
  if (cooldown_left_ > 0) {
    --cooldown_left_;
    bad_epochs_ = 0;
  }
  if (bad_epochs_ > options_.patience) {
    for (std::size_t g = 0; g < optimizer_.group_count(); ++g) {
      const double old_lr = optimizer_.group_lr(g);
      const double new_lr = std::max(old_lr * options_.factor, options_.min_lr);
      if (old_lr - new_lr > options_.eps) optimizer_.set_group_lr(g, new_lr);
    }
    cooldown_left_ = options_.cooldown;
    bad_epochs_ = 0;
  }
}

namespace {
// ReduceLROnPlateau's state: "best=<metric> bad_epochs=<n> cooldown_left=<n>" ("none" for the
// best: the start, as checkpoints before the +-inf start wrote it).
struct PlateauState {
  std::optional<double> best;  // none: the start (+-inf)
  std::int64_t bad_epochs = 0;
  std::int64_t cooldown_left = 0;
};

PlateauState parse_plateau_state(const std::string& text) {
  if (text.empty()) return {};  // a checkpoint written without a schedule: start afresh
  const auto fail = [&]() -> void {
    throw ValueError("ReduceLROnPlateau state '" + text + "' is not 'best=<metric or none> bad_epochs=<n> cooldown_left=<n>'");
  };
  PlateauState state;
  std::size_t at = 0;
  const auto field = [&](std::string_view key) {
    if (text.compare(at, key.size(), key) != 0) fail();
    const std::size_t begin = at + key.size();
    const std::size_t end = std::min(text.find(' ', begin), text.size());
    at = end == text.size() ? end : end + 1;
    return std::string_view(text).substr(begin, end - begin);
  };
  const auto count = [&](std::string_view digits) {
    std::int64_t value = 0;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (error != std::errc() || end != digits.data() + digits.size() || value < 0 ||
        value > detail::kMaxRestoredCount) {
      fail();
    }
    return value;
  };
  if (const std::string_view best = field("best="); best != "none") {
    double value = 0.0;
    const auto [end, error] = std::from_chars(best.data(), best.data() + best.size(), value);
    // (+-inf round-trips: the start, or an infinite metric that improved on it; never NaN)
    if (error != std::errc() || end != best.data() + best.size() || std::isnan(value)) fail();
    state.best = value;
  }
  state.bad_epochs = count(field("bad_epochs="));
  state.cooldown_left = count(field("cooldown_left="));
  if (at != text.size()) fail();
  return state;
}
}  // namespace

std::string ReduceLROnPlateau::state() const {
  char best[32];
  std::snprintf(best, sizeof(best), "%.17g", best_);  // "inf" at the start
  return "best=" + std::string(best) + " bad_epochs=" + std::to_string(bad_epochs_) +
         " cooldown_left=" + std::to_string(cooldown_left_);
}

void ReduceLROnPlateau::check_state(const std::string& state) const { (void)parse_plateau_state(state); }

void ReduceLROnPlateau::set_state(const std::string& state) {
  const PlateauState parsed = parse_plateau_state(state);
  best_ = parsed.best.value_or(options_.maximize ? -std::numeric_limits<double>::infinity()
                                                 : std::numeric_limits<double>::infinity());
  bad_epochs_ = parsed.bad_epochs;
  cooldown_left_ = parsed.cooldown_left;
}

}  // namespace axon::optim
