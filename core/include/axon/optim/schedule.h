#pragma once
// Learning-rate schedules with torch.optim.lr_scheduler's formulas (closed forms). A schedule
// sets its optimizer's learning rates, each parameter group's from its own base rate, when
// built (the rates for epoch 0) and at every step(); call step() once per epoch, or once per
// batch for OneCycleLR and warm-up counted in batches.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "axon/export.h"
#include "axon/optim/optimizer.h"

namespace axon::optim {

class AXON_API Schedule {
 public:
  virtual ~Schedule() = default;
  Schedule(const Schedule&) = delete;
  Schedule& operator=(const Schedule&) = delete;

  // Advances one epoch (or batch) and sets every parameter group's learning rate.
  virtual void step();
  // What the trainer calls at the end of an epoch, with the epoch's monitored metric (the
  // validation loss, else the training loss): step() for every schedule but those that read
  // the metric (ReduceLROnPlateau).
  virtual void step_after_epoch(double metric) {
    (void)metric;
    step();
  }
  std::int64_t last_epoch() const { return last_epoch_; }
  // For checkpoints: continue from `epoch` (sets the rates for it).
  void set_last_epoch(std::int64_t epoch);
  // For checkpoints: what step() remembers beyond the epoch, as text — nothing for the
  // closed-form schedules, the best metric and counters for ReduceLROnPlateau. check_state
  // throws ValueError naming the fault for text state() could not have written; set_state
  // continues from text check_state accepts.
  virtual std::string state() const { return {}; }
  virtual void check_state(const std::string& state) const;
  virtual void set_state(const std::string& state);

  // Each parameter group's rate when the schedule was made (torch's initial_lr): every group
  // follows the formula from its own, as torch.optim.lr_scheduler's do. base_lr(): group 0's.
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  double base_lr() const { return base_lrs_.front(); }
  // The closed form: the rate at `epoch` of a group whose base rate is `base`. A subclass
  // implements this one function (ValueError for a schedule without one: ReduceLROnPlateau).
  virtual double rate_at(std::int64_t epoch, double base) const = 0;
  // Group 0's rate at `epoch`.
  double lr_at(std::int64_t epoch) const { return rate_at(epoch, base_lr()); }
  // False for a schedule whose rate follows what it is told (ReduceLROnPlateau): composites
  // (LinearWarmup, SequentialLR) refuse it.
  virtual bool closed_form() const { return true; }
  // ValueError unless every group's rate at `epoch` is finite and >= 0 (what resuming at that
  // epoch would set).
  virtual void check_epoch(std::int64_t epoch) const;

 protected:
  explicit Schedule(Optimizer& optimizer);
  // Derived constructors call this last: sets the rates for epoch 0.
  void start();
  // Sets each group's rate for `epoch` from its base.
  virtual void apply(std::int64_t epoch);
  // A composite gives its parts its own base rates (parts are made one after another on one
  // optimizer, each moving its rate: as in torch, all start from the first one's bases).
  static void rebase(Schedule& part, const std::vector<double>& bases);

  Optimizer& optimizer_;
  std::vector<double> base_lrs_;
  std::int64_t last_epoch_ = 0;
};

// base * gamma^(epoch / step_size)
class AXON_API StepLR final : public Schedule {
 public:
  StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma = 0.1);
  double rate_at(std::int64_t epoch, double base) const override;

 private:
  std::int64_t step_size_;
  double gamma_;
};

// base * gamma^(number of milestones <= epoch); milestones increasing.
class AXON_API MultiStepLR final : public Schedule {
 public:
  MultiStepLR(Optimizer& optimizer, std::vector<std::int64_t> milestones, double gamma = 0.1);
  double rate_at(std::int64_t epoch, double base) const override;

 private:
  std::vector<std::int64_t> milestones_;
  double gamma_;
};

// base * gamma^epoch
class AXON_API ExponentialLR final : public Schedule {
 public:
  ExponentialLR(Optimizer& optimizer, double gamma);
  double rate_at(std::int64_t epoch, double base) const override;

 private:
  double gamma_;
};

// eta_min + (base - eta_min) (1 + cos(pi epoch / t_max)) / 2
class AXON_API CosineAnnealingLR final : public Schedule {
 public:
  CosineAnnealingLR(Optimizer& optimizer, std::int64_t t_max, double eta_min = 0.0);
  double rate_at(std::int64_t epoch, double base) const override;

 private:
  std::int64_t t_max_;
  double eta_min_;
};

// Linear warm-up from start_factor * rate to the rate over `warmup` epochs, multiplied onto
// another schedule's rate (or the base rate without one): PyTorch's
// ChainedScheduler([LinearLR(start_factor, total_iters=warmup), inner]) for multiplicative
// inner schedules (Step, MultiStep, Exponential; Cosine with eta_min = 0).
class AXON_API LinearWarmup final : public Schedule {
 public:
  LinearWarmup(Optimizer& optimizer, std::int64_t warmup, double start_factor = 1.0 / 3.0,
               std::unique_ptr<Schedule> inner = nullptr);
  double rate_at(std::int64_t epoch, double base) const override;

 private:
  std::int64_t warmup_;
  double start_factor_;
  std::unique_ptr<Schedule> inner_;
};

// base * (start_factor + (end_factor - start_factor) * min(epoch, total_iters) / total_iters):
// torch's LinearLR. start_factor in (0, 1], end_factor in [0, 1], total_iters >= 1.
class AXON_API LinearLR final : public Schedule {
 public:
  LinearLR(Optimizer& optimizer, double start_factor = 1.0 / 3.0, double end_factor = 1.0, std::int64_t total_iters = 5);
  double rate_at(std::int64_t epoch, double base) const override;

 private:
  double start_factor_, end_factor_;
  std::int64_t total_iters_;
};

// Cosine annealing from base to eta_min over t_0 epochs, restarting at base; each period t_mult
// times the last (SGDR; torch's CosineAnnealingWarmRestarts). t_0 >= 1, t_mult >= 1.
class AXON_API CosineAnnealingWarmRestarts final : public Schedule {
 public:
  CosineAnnealingWarmRestarts(Optimizer& optimizer, std::int64_t t_0, std::int64_t t_mult = 1, double eta_min = 0.0);
  double rate_at(std::int64_t epoch, double base) const override;

 private:
  std::int64_t t_0_, t_mult_;
  double eta_min_;
};

// base * factor(epoch), for any factor a function gives (torch's LambdaLR with one lambda for
// every group). The function must be deterministic (a resumed run calls it again) and give a
// finite factor >= 0 (else ValueError when the rate is set).
class AXON_API LambdaLR final : public Schedule {
 public:
  LambdaLR(Optimizer& optimizer, std::function<double(std::int64_t epoch)> factor);
  double rate_at(std::int64_t epoch, double base) const override;

 private:
  std::function<double(std::int64_t)> factor_;
};

// One schedule after another: parts[i] runs from milestones[i - 1] (its epoch 0 there) to
// milestones[i] (torch's SequentialLR). Make the parts on the same optimizer first; every part
// follows the first one's base rates. milestones: parts.size() - 1 of them, increasing, >= 1.
class AXON_API SequentialLR final : public Schedule {
 public:
  SequentialLR(Optimizer& optimizer, std::vector<std::unique_ptr<Schedule>> parts, std::vector<std::int64_t> milestones);
  double rate_at(std::int64_t epoch, double base) const override;

 private:
  std::vector<std::unique_ptr<Schedule>> parts_;
  std::vector<std::int64_t> milestones_;
};

// One-cycle (Smith): from max_lr / div_factor up to max_lr over pct_start of total_steps, then
// down to max_lr / (div_factor * final_div_factor), cosine annealed; step once per batch. A
// warm-up shorter than one step (pct_start * total_steps <= 1) starts at max_lr. Every group
// takes the same rates (torch's OneCycleLR given one max_lr).
// (PyTorch's cycle_momentum is not applied: use cycle_momentum=False to compare.)
class AXON_API OneCycleLR final : public Schedule {
 public:
  OneCycleLR(Optimizer& optimizer, double max_lr, std::int64_t total_steps, double pct_start = 0.3,
             double div_factor = 25.0, double final_div_factor = 1e4);
  double rate_at(std::int64_t epoch, double base) const override;

 private:
  double max_lr_, initial_lr_, min_lr_;
  std::int64_t total_steps_;
  double phase_end_;
};

// Lowers the rate by `factor` when a metric stopped improving for `patience` epochs
// (torch.optim.lr_scheduler.ReduceLROnPlateau, threshold_mode "rel"). step(metric) per epoch.
// As PyTorch: the best starts at +inf (-inf for maximize), so a NaN or infinite metric is never
// an improvement, the first one included.
struct PlateauOptions {
  bool maximize = false;  // mode "max"
  double factor = 0.1;
  std::int64_t patience = 10;
  double threshold = 1e-4;
  std::int64_t cooldown = 0;
  double min_lr = 0.0;
  double eps = 1e-8;
};

class AXON_API ReduceLROnPlateau final : public Schedule {
 public:
  explicit ReduceLROnPlateau(Optimizer& optimizer, PlateauOptions options = {});
  void step() override;  // ValueError: it needs the metric
  void step(double metric);
  void step_after_epoch(double metric) override { step(metric); }
  double rate_at(std::int64_t epoch, double base) const override;  // ValueError: no closed form
  bool closed_form() const override { return false; }
  void check_epoch(std::int64_t) const override {}
  std::int64_t bad_epochs() const { return bad_epochs_; }
  std::string state() const override;
  void check_state(const std::string& state) const override;
  void set_state(const std::string& state) override;

 private:
  PlateauOptions options_;
  double best_;  // +inf (mode min) or -inf (max) until a metric improves on it, as PyTorch
  std::int64_t bad_epochs_ = 0;
  std::int64_t cooldown_left_ = 0;

  void apply(std::int64_t) override {}  // the rates move only when a metric says so
};

}  // namespace axon::optim
