// Optimizers and schedules against PyTorch: tests/fixtures/optim_reference.txt holds
// torch.optim's parameters after each of five steps (given gradients) and lr_scheduler's rates,
// made by tests/fixtures/make_optim_fixtures.py. Some cases then run 200 steps with zero
// gradients, through which torch's state decays into the subnormal range: axon stores those
// values as zero (core/src/kernels/optimizer_math.h), and its parameters must still match. Each optimizer runs on a model-like arena of
// two parameters (so the padding between segments is exercised) on the CPU, and on CUDA when
// a GPU is present.
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <sstream>

#include "test_util.h"

namespace {

using axon::Tensor;
using axon::nn::NamedParameter;
using axon::nn::ParamArena;
using axon::nn::Parameter;

struct OptimizerCase {
  std::string name;
  std::map<std::string, std::string> options;
  std::vector<std::int64_t> shapes;
  std::vector<double> params;
  std::vector<std::vector<double>> grads, expects;
  std::int64_t zero_grad_steps = 0;  // then this many steps with zero gradients,
  std::vector<double> expect_after_zero_grads;  // the parameters after them,
  std::int64_t torch_subnormal_state = 0;       // and how many of torch's state values were subnormal
};

struct ScheduleCase {
  std::string name;
  std::map<std::string, std::string> options;
  std::vector<double> lrs;
  std::vector<double> lrs1;  // with group1_lr: the second group's
};

struct ClipCase {
  double max_norm = 0, norm_type = 0;
  std::vector<double> grads, expect;
  double norm = 0;
};

struct PrecisionCase {
  std::string name;
  std::map<std::string, std::string> options;
  std::vector<double> params, float32, float64;
};

std::vector<double> read_numbers(std::istringstream& in) {
  std::vector<double> values;
  double v = 0;
  while (in >> v) values.push_back(v);
  return values;
}

std::map<std::string, std::string> read_options(std::istringstream& in) {
  std::map<std::string, std::string> options;
  std::string token;
  while (in >> token) {
    const auto eq = token.find('=');
    if (eq == std::string::npos) continue;
    options[token.substr(0, eq)] = token.substr(eq + 1);
  }
  return options;
}

struct Fixtures {
  std::vector<OptimizerCase> optimizers;
  std::vector<ScheduleCase> schedules;
  std::vector<PrecisionCase> precision;
  std::vector<ClipCase> clips;
};

const Fixtures& fixtures() {
  static const Fixtures loaded = [] {
    Fixtures f;
    std::ifstream file(AXON_TEST_FIXTURE_DIR "/optim_reference.txt");
    EXPECT_TRUE(file.good()) << "cannot open " AXON_TEST_FIXTURE_DIR "/optim_reference.txt";
    std::string line;
    bool in_precision = false;  // "params" belongs to a precision case
    bool in_clip = false;       // "grad", "norm" and "expect" to a clip case
    while (std::getline(file, line)) {
      std::istringstream in(line);
      std::string kind;
      in >> kind;
      if (kind == "optimizer" || kind == "schedule" || kind == "precision") in_precision = in_clip = false;
      if (kind == "clip") {
        in_clip = true;
        const auto options = read_options(in);
        f.clips.push_back({std::stod(options.at("max_norm")), std::stod(options.at("norm_type")), {}, {}, 0.0});
      } else if (in_clip && kind == "grad") {
        f.clips.back().grads = read_numbers(in);
      } else if (in_clip && kind == "norm") {
        in >> f.clips.back().norm;
      } else if (in_clip && kind == "expect") {
        f.clips.back().expect = read_numbers(in);
      } else if (kind == "precision") {
        in_precision = true;
        f.precision.emplace_back();
        in >> f.precision.back().name;
        f.precision.back().options = read_options(in);
      } else if (in_precision && kind == "params") {
        f.precision.back().params = read_numbers(in);
      } else if (kind == "float32") {
        f.precision.back().float32 = read_numbers(in);
      } else if (kind == "float64") {
        f.precision.back().float64 = read_numbers(in);
      } else if (kind == "optimizer") {
        f.optimizers.emplace_back();
        in >> f.optimizers.back().name;
        f.optimizers.back().options = read_options(in);
      } else if (kind == "shapes") {
        for (double v : read_numbers(in)) f.optimizers.back().shapes.push_back(static_cast<std::int64_t>(v));
      } else if (kind == "params") {
        f.optimizers.back().params = read_numbers(in);
      } else if (kind == "grad") {
        f.optimizers.back().grads.push_back(read_numbers(in));
      } else if (kind == "expect") {
        OptimizerCase& c = f.optimizers.back();
        (c.zero_grad_steps > 0 ? c.expect_after_zero_grads : c.expects.emplace_back()) = read_numbers(in);
      } else if (kind == "zero_grads") {
        in >> f.optimizers.back().zero_grad_steps;
      } else if (kind == "subnormal_state") {
        in >> f.optimizers.back().torch_subnormal_state;
      } else if (kind == "schedule") {
        f.schedules.emplace_back();
        in >> f.schedules.back().name;
        f.schedules.back().options = read_options(in);
      } else if (kind == "lrs") {
        f.schedules.back().lrs = read_numbers(in);
      } else if (kind == "lrs1") {
        f.schedules.back().lrs1 = read_numbers(in);
      }
    }
    return f;
  }();
  return loaded;
}

double number(const std::map<std::string, std::string>& options, const std::string& key, double otherwise) {
  const auto it = options.find(key);
  return it == options.end() ? otherwise : std::stod(it->second);
}

bool flag(const std::map<std::string, std::string>& options, const std::string& key) {
  const auto it = options.find(key);
  return it != options.end() && it->second == "True";
}

// The second parameter ("p1") in a group of its own, when the case gives group1_ settings.
std::vector<axon::optim::ParamGroup> groups_of(const std::map<std::string, std::string>& o) {
  if (!o.contains("group1_lr") && !o.contains("group1_weight_decay")) return {};
  axon::optim::ParamGroup group{.parameters = {"p1"}};
  if (o.contains("group1_lr")) group.lr = number(o, "group1_lr", 0);
  if (o.contains("group1_weight_decay")) group.weight_decay = number(o, "group1_weight_decay", 0);
  return {group};
}

std::unique_ptr<axon::optim::Optimizer> make_optimizer(const std::string& name,
                                                       const std::map<std::string, std::string>& o,
                                                       ParamArena& arena) {
  const auto groups = groups_of(o);
  if (name == "sgd") {
    return std::make_unique<axon::optim::SGD>(
        arena, axon::optim::SgdOptions{number(o, "lr", 1e-3), number(o, "momentum", 0), number(o, "dampening", 0),
                                       number(o, "weight_decay", 0), flag(o, "nesterov")}, groups);
  }
  if (name == "adagrad") {
    return std::make_unique<axon::optim::Adagrad>(
        arena, axon::optim::AdagradOptions{number(o, "lr", 1e-2), number(o, "lr_decay", 0), number(o, "weight_decay", 0),
                                           number(o, "initial_accumulator_value", 0), number(o, "eps", 1e-10)}, groups);
  }
  if (name == "rmsprop") {
    return std::make_unique<axon::optim::RMSprop>(
        arena, axon::optim::RmspropOptions{number(o, "lr", 1e-2), number(o, "alpha", 0.99), number(o, "eps", 1e-8),
                                           number(o, "weight_decay", 0), number(o, "momentum", 0),
                                           flag(o, "centered")}, groups);
  }
  axon::optim::AdamOptions options;
  options.lr = number(o, "lr", 1e-3);
  if (const auto it = o.find("betas"); it != o.end()) {
    const auto comma = it->second.find(',');
    options.beta1 = std::stod(it->second.substr(0, comma));
    options.beta2 = std::stod(it->second.substr(comma + 1));
  }
  options.eps = number(o, "eps", 1e-8);
  options.amsgrad = flag(o, "amsgrad");
  if (name == "adam") {
    options.weight_decay = number(o, "weight_decay", 0);
    return std::make_unique<axon::optim::Adam>(arena, options, groups);
  }
  options.weight_decay = number(o, "weight_decay", 1e-2);
  return std::make_unique<axon::optim::AdamW>(arena, options, groups);
}

// The per-step schedule an optimizer case names (make_schedule in the fixture script).
std::unique_ptr<axon::optim::Schedule> make_step_schedule(const std::map<std::string, std::string>& o,
                                                          axon::optim::Optimizer& optimizer) {
  const auto it = o.find("schedule");
  if (it == o.end()) return nullptr;
  if (it->second == "step") return std::make_unique<axon::optim::StepLR>(optimizer, 2, 0.5);
  if (it->second == "cosine") return std::make_unique<axon::optim::CosineAnnealingLR>(optimizer, 4, 0.001);
  ADD_FAILURE() << "unknown schedule " << it->second;
  return nullptr;
}

// Parameters p0, p1, ... of the given values, bound into an arena.
struct TwoParameterModel {
  std::vector<Parameter> parameters;
  ParamArena arena;

  TwoParameterModel(const std::vector<std::int64_t>& shapes, const std::vector<double>& values) {
    std::size_t at = 0;
    for (std::int64_t n : shapes) {
      std::vector<float> part(values.begin() + static_cast<long>(at), values.begin() + static_cast<long>(at + n));
      parameters.push_back({std::string("p").append(std::to_string(parameters.size())),
                            Tensor::from_vector({n}, std::span<const float>(part)), Tensor::zeros({n})});
      at += static_cast<std::size_t>(n);
    }
    std::vector<NamedParameter> named;
    for (Parameter& p : parameters) named.push_back({p.name, &p});
    arena.bind(named);
  }
  void set_grads(const std::vector<double>& grads) {
    std::size_t offset = 0;
    for (Parameter& p : parameters) {
      const auto n = static_cast<std::size_t>(p.grad.numel());
      std::vector<float> g(grads.begin() + static_cast<long>(offset), grads.begin() + static_cast<long>(offset + n));
      p.grad.copy_from(Tensor::from_vector(p.grad.shape(), std::span<const float>(g)));
      offset += n;
    }
  }
  std::vector<double> values() const {
    std::vector<double> got;
    for (const Parameter& p : parameters) {
      for (float v : p.value.to_vector()) got.push_back(v);
    }
    return got;
  }
};

std::string describe(const OptimizerCase& c) {
  std::string text = c.name;
  for (const auto& [k, v] : c.options) text += " " + k + "=" + v;
  return text;
}

void run_optimizer_cases(axon::Device device) {
  ASSERT_FALSE(fixtures().optimizers.empty());
  for (const OptimizerCase& c : fixtures().optimizers) {
    SCOPED_TRACE(describe(c) + " on " + device.str());
    // Two parameters, as two layers' tensors, gathered into one arena.
    TwoParameterModel model(c.shapes, c.params);
    model.arena.to(device);
    auto optimizer = make_optimizer(c.name, c.options, model.arena);
    const auto schedule = make_step_schedule(c.options, *optimizer);
    for (std::size_t step = 0; step < c.grads.size(); ++step) {
      model.set_grads(c.grads[step]);
      optimizer->step();
      if (schedule) schedule->step();
      EXPECT_TRUE(axon_test::near_ref(model.values(), c.expects[step], 2e-6, 2e-7)) << "after step " << step + 1;
    }
    EXPECT_EQ(optimizer->steps(), static_cast<std::int64_t>(c.grads.size()));
    if (c.zero_grad_steps == 0) continue;
    // The state decays through the subnormal range: never stored there, parameters unmoved by it.
    EXPECT_GT(c.torch_subnormal_state, 0) << "the case must reach the subnormal range in torch";
    std::int64_t subnormal = 0;
    for (Parameter& p : model.parameters) p.grad.copy_from(Tensor::zeros(p.grad.shape()));
    for (std::int64_t step = 0; step < c.zero_grad_steps; ++step) {
      optimizer->step();
      for (const auto& [name, slot] : model.arena.slots()) {
        for (const float v : slot.to_vector()) subnormal += std::fpclassify(v) == FP_SUBNORMAL;
      }
    }
    EXPECT_EQ(subnormal, 0) << "subnormal values in the optimizer's state";
    EXPECT_TRUE(axon_test::near_ref(model.values(), c.expect_after_zero_grads, 2e-6, 2e-7))
        << "after " << c.zero_grad_steps << " steps with zero gradients";
  }
}

// precision_grad of the fixture script: exact in float32 on both sides.
float precision_grad(std::int64_t step, std::int64_t i) {
  return static_cast<float>(0.5 + static_cast<double>((step * 7919 + i * 104729) % 1001) / 1000.0);
}

// The root mean square of the differences.
double distance(const std::vector<double>& a, const std::vector<double>& b) {
  double sum = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += (a[i] - b[i]) * (a[i] - b[i]);
  return std::sqrt(sum / static_cast<double>(a.size()));
}

// After many steps axon's float32 run is as near the float64 run as torch's float32 run, within
// 20% (as measured: 0.998-1.003 of torch's on the CPU). Taking the complements 1 - beta2 and
// 1 - alpha in float32 put Adam 14x, AdamW 2x and RMSprop 1.4x as far.
void run_precision_cases(axon::Device device) {
  ASSERT_FALSE(fixtures().precision.empty());
  for (const PrecisionCase& c : fixtures().precision) {
    SCOPED_TRACE(c.name + " on " + device.str());
    const auto n = static_cast<std::int64_t>(c.params.size());
    TwoParameterModel model({n}, c.params);
    model.arena.to(device);
    auto optimizer = make_optimizer(c.name, c.options, model.arena);
    const auto steps = static_cast<std::int64_t>(number(c.options, "steps", 0));
    ASSERT_GT(steps, 0);
    std::vector<double> grads(static_cast<std::size_t>(n));
    for (std::int64_t step = 0; step < steps; ++step) {
      for (std::int64_t i = 0; i < n; ++i) grads[static_cast<std::size_t>(i)] = precision_grad(step, i);
      model.set_grads(grads);
      optimizer->step();
    }
    const double torch_distance = distance(c.float32, c.float64);
    const double axon_distance = distance(model.values(), c.float64);
    EXPECT_GT(torch_distance, 0.0);
    EXPECT_LE(axon_distance, 1.2 * torch_distance)
        << "axon " << axon_distance << " from float64, torch's float32 " << torch_distance;
  }
}

TEST(OptimReference, OptimizersMatchPyTorchOnTheCpu) { run_optimizer_cases(axon::Device::cpu()); }

TEST(OptimReference, ManyStepsStayAsNearFloat64AsPyTorch) { run_precision_cases(axon::Device::cpu()); }

// clip_grad_norm of every order torch takes (1, 2, 3, 0.5, inf), over a two-parameter arena.
void run_clip_cases(axon::Device device) {
  ASSERT_GE(fixtures().clips.size(), 6u);
  for (const ClipCase& c : fixtures().clips) {
    SCOPED_TRACE("max_norm " + std::to_string(c.max_norm) + " norm_type " + std::to_string(c.norm_type) + " on " +
                 device.str());
    TwoParameterModel model({6, 5}, std::vector<double>(11, 0.0));
    model.arena.to(device);
    model.set_grads(c.grads);
    const Tensor norm = axon::optim::clip_grad_norm(model.arena, static_cast<float>(c.max_norm),
                                                    {.norm_type = static_cast<float>(c.norm_type)});
    EXPECT_NEAR(norm.item(), c.norm, 2e-6 * c.norm);
    std::vector<double> got;
    for (const Parameter& p : model.parameters) {
      for (float v : p.grad.to_vector()) got.push_back(v);
    }
    EXPECT_TRUE(axon_test::near_ref(got, c.expect, 2e-6, 1e-7));
  }
}

TEST(OptimReference, ClipGradNormOfEveryOrderMatchesPyTorch) { run_clip_cases(axon::Device::cpu()); }

// error_if_nonfinite: a NaN or infinite norm throws and the gradients stay as they were; without
// it they are scaled by the NaN factor, as torch does.
TEST(OptimReference, ANonFiniteNormIsReportedWithTheGradientsUntouched) {
  for (const float bad : {std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()}) {
    for (const float order : {2.0f, 1.0f, std::numeric_limits<float>::infinity()}) {
      SCOPED_TRACE(std::to_string(bad) + " with order " + std::to_string(order));
      TwoParameterModel model({6, 5}, std::vector<double>(11, 0.0));
      std::vector<double> grads(11, 0.5);
      grads[3] = bad;
      model.set_grads(grads);
      const std::vector<float> before = model.arena.grads().to_vector();
      axon_test::expect_error<axon::ValueError>(
          [&] { (void)axon::optim::clip_grad_norm(model.arena, 1.0f, {.norm_type = order, .error_if_nonfinite = true}); },
          {"total norm of order", "error_if_nonfinite"});
      const std::vector<float> after = model.arena.grads().to_vector();
      for (std::size_t i = 0; i < after.size(); ++i) {
        EXPECT_EQ(std::isnan(after[i]), std::isnan(before[i]));
        if (!std::isnan(before[i])) {
          EXPECT_EQ(after[i], before[i]);
        }
      }
      const Tensor norm = axon::optim::clip_grad_norm(model.arena, 1.0f, {.norm_type = order});
      EXPECT_FALSE(std::isfinite(norm.item()));
    }
  }
  TwoParameterModel model({6, 5}, std::vector<double>(11, 0.0));
  axon_test::expect_error<axon::ValueError>([&] { (void)axon::optim::clip_grad_norm(model.arena, 1.0f, {.norm_type = 0.0f}); },
                                            {"norm_type"});
}

// A model whose first three input features are nonzero for a few steps and zero from then on
// (as border pixels that a few images light): the state of their weights decays toward zero,
// through the subnormal range, and must never be stored there, with any optimizer.
TEST(OptimReference, FeaturesThatFallSilentLeaveNoSubnormalState) {
  namespace nn = axon::nn;
  namespace optim = axon::optim;
  for (int which = 0; which < 5; ++which) {
    axon::Generator generator(5);
    nn::Sequential model;
    model.add(nn::Dense(6, 8, nn::DenseOptions{.generator = &generator}))
        .add(nn::ReLU())
        .add(nn::Dense(8, 3, nn::DenseOptions{.generator = &generator}));
    ParamArena& arena = model.parameters();
    // Fast decay rates: the moments of the silent weights cross 2^-126 within ~150 steps.
    std::unique_ptr<optim::Optimizer> optimizer;
    switch (which) {
      case 0: optimizer = std::make_unique<optim::SGD>(arena, optim::SgdOptions{.lr = 0.01, .momentum = 0.5}); break;
      case 1: optimizer = std::make_unique<optim::Adagrad>(arena); break;
      case 2:
        optimizer = std::make_unique<optim::RMSprop>(
            arena, optim::RmspropOptions{.lr = 1e-3, .alpha = 0.5, .momentum = 0.5, .centered = true});
        break;
      case 3: optimizer = std::make_unique<optim::Adam>(arena, optim::AdamOptions{.beta1 = 0.5, .beta2 = 0.5}); break;
      default:
        optimizer = std::make_unique<optim::AdamW>(arena, optim::AdamOptions{.beta1 = 0.5, .beta2 = 0.5, .amsgrad = true});
    }
    SCOPED_TRACE(optimizer->name());
    nn::Loss loss = nn::CrossEntropyLoss();
    std::int64_t subnormal = 0;
    for (int step = 0; step < 400; ++step) {
      auto x = axon_test::random_doubles(16 * 6, -1, 1, static_cast<std::uint32_t>(step));
      if (step >= 5) {
        for (std::size_t i = 0; i < x.size(); i += 6) x[i] = x[i + 1] = x[i + 2] = 0.0;
      }
      const Tensor labels =
          axon_test::int_tensor_from({16}, axon_test::random_labels(16, 3, static_cast<std::uint32_t>(step)));
      loss.compute(model.forward(axon_test::tensor_from({16, 6}, x)), labels);
      model.backward(loss.grad());
      optimizer->step();
      for (const auto& [name, slot] : arena.slots()) {
        for (const float v : slot.to_vector()) subnormal += std::fpclassify(v) == FP_SUBNORMAL;
      }
    }
    EXPECT_EQ(subnormal, 0) << "subnormal values seen in the optimizer's state";
  }
}

TEST(OptimReference, OptimizersMatchPyTorchOnCuda) {
  if (!axon_test::have_cuda()) {
    if (axon_test::cuda_required()) FAIL() << "AXON_REQUIRE_CUDA=1 but no CUDA device";
    GTEST_SKIP() << "no CUDA device";
  }
  run_optimizer_cases(axon::Device::cuda(0));
  run_precision_cases(axon::Device::cuda(0));
  run_clip_cases(axon::Device::cuda(0));
}

std::vector<std::int64_t> integers(const std::string& text) {
  std::vector<std::int64_t> values;
  std::istringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) values.push_back(std::stoll(item));
  return values;
}

std::unique_ptr<axon::optim::Schedule> make_schedule(const ScheduleCase& c, axon::optim::Optimizer& sgd) {
  namespace optim = axon::optim;
  const auto& o = c.options;
  const auto count = [&](const char* key, double otherwise) { return static_cast<std::int64_t>(number(o, key, otherwise)); };
  if (c.name == "step") return std::make_unique<optim::StepLR>(sgd, count("step_size", 1), number(o, "gamma", 0.1));
  if (c.name == "multistep") return std::make_unique<optim::MultiStepLR>(sgd, integers(o.at("milestones")), number(o, "gamma", 0.1));
  if (c.name == "exponential") return std::make_unique<optim::ExponentialLR>(sgd, number(o, "gamma", 0.1));
  if (c.name == "cosine") return std::make_unique<optim::CosineAnnealingLR>(sgd, count("T_max", 1), number(o, "eta_min", 0));
  if (c.name == "warmup") return std::make_unique<optim::LinearWarmup>(sgd, count("total_iters", 1), number(o, "start_factor", 1));
  if (c.name == "warmup_cosine") {
    auto cosine = std::make_unique<optim::CosineAnnealingLR>(sgd, count("T_max", 1));
    return std::make_unique<optim::LinearWarmup>(sgd, count("total_iters", 1), number(o, "start_factor", 1), std::move(cosine));
  }
  if (c.name == "onecycle") return std::make_unique<optim::OneCycleLR>(sgd, number(o, "max_lr", 1), count("total_steps", 2));
  if (c.name == "plateau") {
    return std::make_unique<optim::ReduceLROnPlateau>(
        sgd, optim::PlateauOptions{.factor = number(o, "factor", 0.1), .patience = count("patience", 10),
                                   .cooldown = count("cooldown", 0), .min_lr = number(o, "min_lr", 0)});
  }
  if (c.name == "linear") {
    return std::make_unique<optim::LinearLR>(sgd, number(o, "start_factor", 1.0 / 3), number(o, "end_factor", 1),
                                             count("total_iters", 5));
  }
  if (c.name == "warm_restarts") {
    return std::make_unique<optim::CosineAnnealingWarmRestarts>(sgd, count("T_0", 1), count("T_mult", 1), number(o, "eta_min", 0));
  }
  if (c.name == "lambda") {
    return std::make_unique<optim::LambdaLR>(
        sgd, [](std::int64_t e) { return std::pow(0.95, static_cast<double>(e)) + static_cast<double>(e % 3) * 0.1; });
  }
  if (c.name == "sequential_linear_exponential") {
    std::vector<std::unique_ptr<optim::Schedule>> parts;
    parts.push_back(std::make_unique<optim::LinearLR>(sgd, 0.1, 1.0, 3));
    parts.push_back(std::make_unique<optim::ExponentialLR>(sgd, 0.8));
    return std::make_unique<optim::SequentialLR>(sgd, std::move(parts), std::vector<std::int64_t>{3});
  }
  if (c.name == "sequential_constant_step_cosine") {
    std::vector<std::unique_ptr<optim::Schedule>> parts;
    parts.push_back(std::make_unique<optim::LinearLR>(sgd, 0.5, 0.5, 2));
    parts.push_back(std::make_unique<optim::StepLR>(sgd, 2, 0.5));
    parts.push_back(std::make_unique<optim::CosineAnnealingLR>(sgd, 4));
    return std::make_unique<optim::SequentialLR>(sgd, std::move(parts), std::vector<std::int64_t>{2, 6});
  }
  ADD_FAILURE() << "unknown schedule " << c.name;
  return nullptr;
}

TEST(OptimReference, SchedulesMatchPyTorch) {
  namespace optim = axon::optim;
  ASSERT_FALSE(fixtures().schedules.empty());
  for (const ScheduleCase& c : fixtures().schedules) {
    SCOPED_TRACE(c.name + (c.lrs1.empty() ? "" : " with two groups"));
    // Two parameters; the second in a group of its own rate when the case has one.
    TwoParameterModel model({1, 1}, {0.0, 0.0});
    std::map<std::string, std::string> options{{"lr", "0.1"}};
    if (const auto it = c.options.find("group1_lr"); it != c.options.end()) options.insert(*it);
    const auto sgd = make_optimizer("sgd", options, model.arena);
    const auto schedule = make_schedule(c, *sgd);
    ASSERT_TRUE(schedule);
    std::vector<double> metrics;
    if (const auto it = c.options.find("metrics"); it != c.options.end()) {
      std::istringstream in(it->second);
      std::string item;
      while (std::getline(in, item, ',')) metrics.push_back(std::stod(item));
    }
    std::vector<double> got{sgd->lr()}, got1{sgd->group_lr(sgd->group_count() - 1)};
    for (std::size_t epoch = 0; epoch + 1 < c.lrs.size(); ++epoch) {
      if (auto* plateau = dynamic_cast<optim::ReduceLROnPlateau*>(schedule.get())) {
        plateau->step(metrics[epoch]);
      } else {
        schedule->step();
      }
      got.push_back(sgd->lr());
      got1.push_back(sgd->group_lr(sgd->group_count() - 1));
    }
    EXPECT_TRUE(axon_test::near_ref(got, c.lrs, 1e-12, 1e-15));
    if (!c.lrs1.empty()) {
      EXPECT_TRUE(axon_test::near_ref(got1, c.lrs1, 1e-12, 1e-15)) << "group 1";
    }
    // A closed form gives the same rates from any epoch (what resuming relies on).
    if (schedule->closed_form()) {
      for (std::size_t epoch = 0; epoch < c.lrs.size(); ++epoch) {
        EXPECT_NEAR(schedule->lr_at(static_cast<std::int64_t>(epoch)), c.lrs[epoch], 1e-12) << "epoch " << epoch;
      }
    }
  }
}

TEST(OptimReference, BadOptionsAreRefusedAsPyTorchDoes) {
  ParamArena arena;
  axon_test::expect_error<axon::ValueError>([&] { axon::optim::SGD(arena, {.lr = -1}); }, {"learning rate"});
  axon_test::expect_error<axon::ValueError>([&] { axon::optim::SGD(arena, {.lr = 0.1, .nesterov = true}); },
                                            {"Nesterov"});
  axon_test::expect_error<axon::ValueError>([&] { axon::optim::Adam(arena, {.beta1 = 1.0}); }, {"beta"});
  axon_test::expect_error<axon::ValueError>([&] { axon::optim::RMSprop(arena, {.alpha = -0.5}); }, {"alpha"});
  axon::optim::SGD sgd(arena, {.lr = 0.1});
  axon_test::expect_error<axon::ValueError>([&] { axon::optim::StepLR(sgd, 0); }, {"step_size"});
  axon::optim::ReduceLROnPlateau plateau(sgd);
  axon_test::expect_error<axon::ValueError>([&] { plateau.step(); }, {"metric"});
}

}  // namespace
