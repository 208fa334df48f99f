#pragma once
// Optimizers with torch.optim's semantics and defaults, so a run can be compared with PyTorch
// step by step. Each step is one fused backend op per parameter group over the model's flat
// parameters (ParamArena: one op for the usual single group), and the state lives in the
// arena's slots: it is on the parameters' device and moves with Sequential::to().
//
//   axon::optim::Adam optimizer(model.parameters(), {.lr = 1e-3});
//   ... model.backward(grad); optimizer.step();
//
// An optimizer owns its state: it declares its slots (slot_specs: name and initial value),
// saves and restores them with its scalars (save_state / load_state), so checkpoints and the
// trainer move the state of any optimizer, a user's too, without knowing its names. A step is a
// host part (prepare: step count, rates, bias corrections) and a device part (launch: the ops
// reading them), so the device part can later be captured once and replayed.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "axon/export.h"
#include "axon/nn/parameter.h"
#include "axon/op_kinds.h"

namespace axon::optim {

// One flat tensor of optimizer state (as long as the arena's values), and where it starts.
struct SlotSpec {
  std::string name;  // torch.optim's name: "momentum_buffer", "exp_avg", ...
  float initial = 0.0f;
};

// Parameters with settings of their own, as torch.optim's param_groups (e.g. no weight decay
// on biases and norms). A parameter in no group is in the optimizer's own, group 0.
struct ParamGroup {
  std::vector<std::string> parameters;  // full names, as ParamArena::parameters() ("0.bias")
  std::optional<double> lr;             // unset: the optimizer's
  std::optional<double> weight_decay;   // unset: the optimizer's
};

// The names of the arena's parameters for which `keep` is true (e.g. those ending in ".bias").
AXON_API std::vector<std::string> parameters_where(const nn::ParamArena& parameters,
                                                   const std::function<bool(const std::string&)>& keep);

// An optimizer's state as a checkpoint keeps it: its slots by name, and its scalars as text
// ("steps", "lr", "groups", "group_lrs", and what a subclass adds).
struct OptimizerState {
  std::vector<std::pair<std::string, Tensor>> tensors;
  std::map<std::string, std::string> values;
};

class AXON_API Optimizer {
 public:
  // `weight_decay` is the optimizer's own (each subclass's option); groups may set theirs.
  // ValueError for a group naming a parameter the arena lacks, or one in two groups.
  Optimizer(nn::ParamArena& parameters, double lr, double weight_decay = 0.0, std::vector<ParamGroup> groups = {});
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One update of every parameter from its gradient: prepare, then launch.
  void step();
  void zero_grad() { parameters_.zero_grad(); }

  virtual std::string name() const = 0;
  // The state this optimizer keeps, one slot each; made at its initial value before the first
  // step (or by ready()), and made again when the arena is rebuilt. The padding between the
  // parameters' segments starts at zero: an update that keeps zero state and a zero gradient at
  // zero keeps the padding zero.
  virtual std::vector<SlotSpec> slot_specs() const { return {}; }

  // The rate of group 0. set_lr sets it and every other group's to the same multiple of the
  // rate it was made with (each keeps its ratio to group 0's; when group 0 was made with rate
  // 0, the others are left as they are). Schedules set each group's own (set_group_lr), as
  // torch.optim.lr_scheduler does. ValueError unless finite and >= 0.
  double lr() const { return groups_.front().lr; }
  void set_lr(double lr);
  std::size_t group_count() const { return groups_.size(); }
  double group_lr(std::size_t group) const { return groups_.at(group).lr; }
  void set_group_lr(std::size_t group, double lr);
  double group_weight_decay(std::size_t group) const { return groups_.at(group).weight_decay; }
  std::int64_t steps() const { return steps_; }
  void set_steps(std::int64_t steps);  // ValueError outside [0, 2^53]
  nn::ParamArena& parameters() { return parameters_; }

  // Makes the slots (at their initial values) and the groups' ranges now, if the arena changed
  // since; step() does it itself.
  void ready();
  // Every slot back to its initial value.
  void reset_state();

  // ---- checkpoints ----
  // The slots (views of them) and the scalars.
  OptimizerState save_state();
  // Throws ValueError naming what does not fit (a missing or extra slot, a tensor of another
  // shape, a bad number, another number of groups), changing nothing (it makes no slot).
  void check_state(const OptimizerState& state);
  // check_state, then takes the state.
  void load_state(const OptimizerState& state);

 protected:
  // [begin, end) of the arena whose parameters share a group (consecutive parameters of one
  // group merged, the padding between them included), with views of the values and gradients.
  struct Range {
    std::int64_t begin = 0, end = 0;
    std::size_t group = 0;
    Tensor values, grads;
  };

  // The host part of step number `step` (1 for the first): what launch() will pass.
  virtual void prepare(std::int64_t step) = 0;
  // The device part: the ops, once per range.
  virtual void launch() = 0;
  // A subclass's own scalars for checkpoints, beside "steps", "lr", "groups" and "group_lrs".
  virtual void save_values(std::map<std::string, std::string>& values) const { (void)values; }
  virtual void check_values(const std::map<std::string, std::string>& values) const { (void)values; }
  virtual void load_values(const std::map<std::string, std::string>& values) { (void)values; }

  const std::vector<Range>& ranges() const { return ranges_; }
  // The part of slot `name` that `range` covers (the slot is one of slot_specs()).
  Tensor slot(std::string_view name, const Range& range);

 private:
  struct Group {
    double lr = 0.0;
    double initial_lr = 0.0;  // the rate it was made with
    double weight_decay = 0.0;
  };

  void build_ranges();
  void fill_slot(const Tensor& slot, float initial);
  // "group_lrs" of a checkpoint: one rate per group, or ValueError.
  std::vector<double> group_rates(const std::string& text) const;

  nn::ParamArena& parameters_;
  std::vector<ParamGroup> group_specs_;
  std::vector<Group> groups_;
  std::vector<Range> ranges_;
  std::uint64_t ready_for_ = 0;  // the arena's layout() the ranges and slots were made for
  std::int64_t steps_ = 0;
};

struct SgdOptions {
  double lr = 1e-3;  // torch.optim.SGD's default
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;  // needs momentum > 0 and dampening == 0
};

class AXON_API SGD final : public Optimizer {
 public:
  explicit SGD(nn::ParamArena& parameters, SgdOptions options = {}, std::vector<ParamGroup> groups = {});
  std::string name() const override { return "SGD"; }
  std::vector<SlotSpec> slot_specs() const override;
  const SgdOptions& options() const { return options_; }

 private:
  void prepare(std::int64_t step) override;
  void launch() override;
  SgdOptions options_;
  std::vector<SgdHyper> hyper_;  // per group, from prepare
};

struct AdagradOptions {
  double lr = 1e-2;
  double lr_decay = 0.0;
  double weight_decay = 0.0;
  double initial_accumulator_value = 0.0;
  double eps = 1e-10;
};

class AXON_API Adagrad final : public Optimizer {
 public:
  explicit Adagrad(nn::ParamArena& parameters, AdagradOptions options = {}, std::vector<ParamGroup> groups = {});
  std::string name() const override { return "Adagrad"; }
  std::vector<SlotSpec> slot_specs() const override;

 private:
  void prepare(std::int64_t step) override;
  void launch() override;
  AdagradOptions options_;
  std::vector<AdagradHyper> hyper_;
};

struct RmspropOptions {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0.0;
  double momentum = 0.0;
  bool centered = false;
};

class AXON_API RMSprop final : public Optimizer {
 public:
  explicit RMSprop(nn::ParamArena& parameters, RmspropOptions options = {}, std::vector<ParamGroup> groups = {});
  std::string name() const override { return "RMSprop"; }
  std::vector<SlotSpec> slot_specs() const override;

 private:
  void prepare(std::int64_t step) override;
  void launch() override;
  RmspropOptions options_;
  std::vector<RmspropHyper> hyper_;
};

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // Adam: added to the gradient (L2); AdamW: decoupled
  bool amsgrad = false;
};

class AXON_API Adam : public Optimizer {
 public:
  explicit Adam(nn::ParamArena& parameters, AdamOptions options = {}, std::vector<ParamGroup> groups = {});
  std::string name() const override { return "Adam"; }
  std::vector<SlotSpec> slot_specs() const override;

 protected:
  Adam(nn::ParamArena& parameters, AdamOptions options, std::vector<ParamGroup> groups, bool decoupled);

 private:
  void prepare(std::int64_t step) override;
  void launch() override;
  AdamOptions options_;
  bool decoupled_;
  std::vector<AdamHyper> hyper_;
};

// AdamW: Adam with decoupled weight decay (default 0.01, as torch.optim.AdamW).
class AXON_API AdamW final : public Adam {
 public:
  explicit AdamW(nn::ParamArena& parameters, AdamOptions options = {.weight_decay = 1e-2},
                 std::vector<ParamGroup> groups = {});
  std::string name() const override { return "AdamW"; }
};

// ---- gradient clipping, on the parameters' device (no host round trip) ----
// Scales every gradient by min(1, max_norm / (norm + 1e-6)), norm the norm of order
// norm_type of all of them, as torch.nn.utils.clip_grad_norm_. Returns that norm: a one-element
// tensor on the device. error_if_nonfinite: a NaN or infinite norm throws ValueError and leaves
// the gradients as they were (this reads the norm on the host: one sync).
struct ClipOptions {
  float norm_type = 2.0f;
  bool error_if_nonfinite = false;
};
AXON_API Tensor clip_grad_norm(nn::ParamArena& parameters, float max_norm, ClipOptions options = {});
// ValueError naming the norm when the one-element `norm` is NaN or infinite (reads it: a sync).
AXON_API void check_finite_norm(const Tensor& norm, float norm_type);
// Clamps every gradient to [-clip_value, clip_value].
AXON_API void clip_grad_value(nn::ParamArena& parameters, float clip_value);

}  // namespace axon::optim
