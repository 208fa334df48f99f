// Optimizers and schedules against PyTorch: tests/fixtures/optim_reference.txt holds
// torch.optim's parameters after each of five steps (given gradients) and lr_scheduler's rates,
// made by tests/fixtures/make_optim_fixtures.py. Some cases then run 200 steps with zero
// gradients, through which torch's state decays into the subnormal range: axon stores those
// values as zero (core/src/kernels/optimizer_math.h), and its parameters must still match. Each optimizer runs on a model-like arena of
// two parameters (so the padding between segments is exercised) on the CPU, and on CUDA when
// a GPU is present.
#include <cmath>
#include <fstream>
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
};

const Fixtures& fixtures() {
  static const Fixtures loaded = [] {
    Fixtures f;
    std::ifstream file(AXON_TEST_FIXTURE_DIR "/optim_reference.txt");
    EXPECT_TRUE(file.good()) << "cannot open " AXON_TEST_FIXTURE_DIR "/optim_reference.txt";
    std::string line;
    while (std::getline(file, line)) {
      std::istringstream in(line);
      std::string kind;
      in >> kind;
      if (kind == "optimizer") {
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

std::unique_ptr<axon::optim::Optimizer> make_optimizer(const OptimizerCase& c, ParamArena& arena) {
  const auto& o = c.options;
  if (c.name == "sgd") {
    return std::make_unique<axon::optim::SGD>(
        arena, axon::optim::SgdOptions{number(o, "lr", 1e-3), number(o, "momentum", 0), number(o, "dampening", 0),
                                       number(o, "weight_decay", 0), flag(o, "nesterov")});
  }
  if (c.name == "adagrad") {
    return std::make_unique<axon::optim::Adagrad>(
        arena, axon::optim::AdagradOptions{number(o, "lr", 1e-2), number(o, "lr_decay", 0), number(o, "weight_decay", 0),
                                           number(o, "initial_accumulator_value", 0), number(o, "eps", 1e-10)});
  }
  if (c.name == "rmsprop") {
    return std::make_unique<axon::optim::RMSprop>(
        arena, axon::optim::RmspropOptions{number(o, "lr", 1e-2), number(o, "alpha", 0.99), number(o, "eps", 1e-8),
                                           number(o, "weight_decay", 0), number(o, "momentum", 0),
                                           flag(o, "centered")});
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
  if (c.name == "adam") {
    options.weight_decay = number(o, "weight_decay", 0);
    return std::make_unique<axon::optim::Adam>(arena, options);
  }
  options.weight_decay = number(o, "weight_decay", 1e-2);
  return std::make_unique<axon::optim::AdamW>(arena, options);
}

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
    std::vector<Parameter> parameters;
    std::size_t at = 0;
    for (std::int64_t n : c.shapes) {
      std::vector<float> values(c.params.begin() + static_cast<long>(at), c.params.begin() + static_cast<long>(at + n));
      parameters.push_back({std::string("p").append(std::to_string(parameters.size())),
                            Tensor::from_vector({n}, std::span<const float>(values)), Tensor::zeros({n})});
      at += static_cast<std::size_t>(n);
    }
    ParamArena arena;
    std::vector<NamedParameter> named;
    for (Parameter& p : parameters) named.push_back({p.name, &p});
    arena.bind(named);
    arena.to(device);
    auto optimizer = make_optimizer(c, arena);
    for (std::size_t step = 0; step < c.grads.size(); ++step) {
      std::size_t offset = 0;
      for (Parameter& p : parameters) {
        const auto n = static_cast<std::size_t>(p.grad.numel());
        std::vector<float> g(c.grads[step].begin() + static_cast<long>(offset),
                             c.grads[step].begin() + static_cast<long>(offset + n));
        p.grad.copy_from(Tensor::from_vector(p.grad.shape(), std::span<const float>(g)));
        offset += n;
      }
      optimizer->step();
      std::vector<double> got;
      for (Parameter& p : parameters) {
        for (float v : p.value.to_vector()) got.push_back(v);
      }
      EXPECT_TRUE(axon_test::near_ref(got, c.expects[step], 2e-6, 2e-7)) << "after step " << step + 1;
    }
    EXPECT_EQ(optimizer->steps(), static_cast<std::int64_t>(c.grads.size()));
    if (c.zero_grad_steps == 0) continue;
    // The state decays through the subnormal range: never stored there, parameters unmoved by it.
    EXPECT_GT(c.torch_subnormal_state, 0) << "the case must reach the subnormal range in torch";
    std::int64_t subnormal = 0;
    for (Parameter& p : parameters) p.grad.copy_from(Tensor::zeros(p.grad.shape()));
    for (std::int64_t step = 0; step < c.zero_grad_steps; ++step) {
      optimizer->step();
      for (const auto& [name, slot] : arena.slots()) {
        for (const float v : slot.to_vector()) subnormal += std::fpclassify(v) == FP_SUBNORMAL;
      }
    }
    EXPECT_EQ(subnormal, 0) << "subnormal values in the optimizer's state";
    std::vector<double> got;
    for (Parameter& p : parameters) {
      for (float v : p.value.to_vector()) got.push_back(v);
    }
    EXPECT_TRUE(axon_test::near_ref(got, c.expect_after_zero_grads, 2e-6, 2e-7))
        << "after " << c.zero_grad_steps << " steps with zero gradients";
  }
}

TEST(OptimReference, OptimizersMatchPyTorchOnTheCpu) { run_optimizer_cases(axon::Device::cpu()); }

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
}

std::vector<std::int64_t> integers(const std::string& text) {
  std::vector<std::int64_t> values;
  std::istringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) values.push_back(std::stoll(item));
  return values;
}

TEST(OptimReference, SchedulesMatchPyTorch) {
  namespace optim = axon::optim;
  ASSERT_FALSE(fixtures().schedules.empty());
  for (const ScheduleCase& c : fixtures().schedules) {
    SCOPED_TRACE(c.name);
    ParamArena arena;
    optim::SGD sgd(arena, {.lr = 0.1});
    const auto& o = c.options;
    std::unique_ptr<optim::Schedule> schedule;
    std::vector<double> metrics;
    if (c.name == "step") {
      schedule = std::make_unique<optim::StepLR>(sgd, static_cast<std::int64_t>(number(o, "step_size", 1)), number(o, "gamma", 0.1));
    } else if (c.name == "multistep") {
      schedule = std::make_unique<optim::MultiStepLR>(sgd, integers(o.at("milestones")), number(o, "gamma", 0.1));
    } else if (c.name == "exponential") {
      schedule = std::make_unique<optim::ExponentialLR>(sgd, number(o, "gamma", 0.1));
    } else if (c.name == "cosine") {
      schedule = std::make_unique<optim::CosineAnnealingLR>(sgd, static_cast<std::int64_t>(number(o, "T_max", 1)),
                                                            number(o, "eta_min", 0));
    } else if (c.name == "warmup") {
      schedule = std::make_unique<optim::LinearWarmup>(sgd, static_cast<std::int64_t>(number(o, "total_iters", 1)),
                                                       number(o, "start_factor", 1));
    } else if (c.name == "warmup_cosine") {
      auto cosine = std::make_unique<optim::CosineAnnealingLR>(sgd, static_cast<std::int64_t>(number(o, "T_max", 1)));
      schedule = std::make_unique<optim::LinearWarmup>(sgd, static_cast<std::int64_t>(number(o, "total_iters", 1)),
                                                       number(o, "start_factor", 1), std::move(cosine));
    } else if (c.name == "onecycle") {
      schedule = std::make_unique<optim::OneCycleLR>(sgd, number(o, "max_lr", 1),
                                                     static_cast<std::int64_t>(number(o, "total_steps", 2)));
    } else if (c.name == "plateau") {
      std::istringstream in(o.at("metrics"));
      std::string item;
      while (std::getline(in, item, ',')) metrics.push_back(std::stod(item));
      schedule = std::make_unique<optim::ReduceLROnPlateau>(
          sgd, optim::PlateauOptions{.factor = number(o, "factor", 0.1),
                                     .patience = static_cast<std::int64_t>(number(o, "patience", 10)),
                                     .cooldown = static_cast<std::int64_t>(number(o, "cooldown", 0))});
    } else {
      FAIL() << "unknown schedule " << c.name;
    }
    std::vector<double> got{sgd.lr()};
    for (std::size_t epoch = 0; epoch + 1 < c.lrs.size(); ++epoch) {
      if (auto* plateau = dynamic_cast<optim::ReduceLROnPlateau*>(schedule.get())) {
        plateau->step(metrics[epoch]);
      } else {
        schedule->step();
      }
      got.push_back(sgd.lr());
    }
    EXPECT_TRUE(axon_test::near_ref(got, c.lrs, 1e-12, 1e-15));
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
