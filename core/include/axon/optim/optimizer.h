#pragma once
// Optimizers with torch.optim's semantics and defaults, so a run can be compared with PyTorch
// step by step. Each step is one fused backend op over the model's flat parameters
// (ParamArena), and the state lives in the arena's slots: it is on the parameters' device and
// moves with Sequential::to().
//
//   axon::optim::Adam optimizer(model.parameters(), {.lr = 1e-3});
//   ... model.backward(grad); optimizer.step();
#include <cstdint>
#include <string>

#include "axon/export.h"
#include "axon/nn/parameter.h"
#include "axon/op_kinds.h"

namespace axon::optim {

class AXON_API Optimizer {
 public:
  explicit Optimizer(nn::ParamArena& parameters, double lr);
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One update of every parameter from its gradient.
  void step();
  void zero_grad() { parameters_.zero_grad(); }

  virtual std::string name() const = 0;
  double lr() const { return lr_; }
  void set_lr(double lr);          // ValueError unless finite and >= 0
  std::int64_t steps() const { return steps_; }
  // For checkpoints: the number of steps taken (bias corrections depend on it).
  void set_steps(std::int64_t steps);
  nn::ParamArena& parameters() { return parameters_; }

 protected:
  // The update of step number `step` (1 for the first).
  virtual void update(std::int64_t step) = 0;

 private:
  nn::ParamArena& parameters_;
  double lr_;
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
  explicit SGD(nn::ParamArena& parameters, SgdOptions options = {});
  std::string name() const override { return "SGD"; }
  const SgdOptions& options() const { return options_; }

 private:
  void update(std::int64_t step) override;
  SgdOptions options_;
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
  explicit Adagrad(nn::ParamArena& parameters, AdagradOptions options = {});
  std::string name() const override { return "Adagrad"; }

 private:
  void update(std::int64_t step) override;
  AdagradOptions options_;
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
  explicit RMSprop(nn::ParamArena& parameters, RmspropOptions options = {});
  std::string name() const override { return "RMSprop"; }

 private:
  void update(std::int64_t step) override;
  RmspropOptions options_;
};

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // Adam: added to the gradient (L2); AdamW: decoupled
  bool amsgrad = false;
};

class AXON_API Adam final : public Optimizer {
 public:
  explicit Adam(nn::ParamArena& parameters, AdamOptions options = {});
  std::string name() const override { return "Adam"; }

 private:
  void update(std::int64_t step) override;
  AdamOptions options_;
};

// AdamW: Adam with decoupled weight decay (default 0.01, as torch.optim.AdamW).
class AXON_API AdamW final : public Optimizer {
 public:
  explicit AdamW(nn::ParamArena& parameters, AdamOptions options = {.weight_decay = 1e-2});
  std::string name() const override { return "AdamW"; }

 private:
  void update(std::int64_t step) override;
  AdamOptions options_;
};

// ---- gradient clipping, on the parameters' device (no host round trip) ----
// Scales every gradient by min(1, max_norm / (norm + 1e-6)), norm the L2 norm of all of them,
// as torch.nn.utils.clip_grad_norm_. Returns that norm: a one-element tensor on the device.
AXON_API Tensor clip_grad_norm(nn::ParamArena& parameters, float max_norm);
// Clamps every gradient to [-clip_value, clip_value].
AXON_API void clip_grad_value(nn::ParamArena& parameters, float clip_value);

}  // namespace axon::optim
