// Every loss and option against torch.nn's: tests/fixtures/loss_reference.txt holds PyTorch's
// values and input gradients (made by tests/fixtures/make_loss_fixtures.py) for each reduction,
// class weights, ignored rows, label smoothing, pos_weight, and BCE's floors at p = 0 and 1. Each
// case runs through nn::Loss (the object a Trainer holds) on the CPU and, with a GPU, on CUDA.
// Below them, the choices where axon differs from torch, and the refusals.
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "test_util.h"

namespace {

using axon::LossKind;
using axon::Reduction;
using axon::Tensor;
namespace nn = axon::nn;

struct LossCase {
  std::string kind;
  std::map<std::string, std::string> options;
  axon::Shape shape;
  std::vector<float> pred, target, weight, value, grad;
  std::vector<std::int32_t> labels;
  std::vector<double> value64, grad64;
};

LossKind kind_named(const std::string& name) {
  for (int k = 0; k < axon::kLossCount; ++k) {
    if (axon::loss_name(static_cast<LossKind>(k)) == name) return static_cast<LossKind>(k);
  }
  ADD_FAILURE() << "no loss named " << name;
  return LossKind::kMse;
}

Reduction reduction_named(const std::string& name) {
  for (int k = 0; k < axon::kReductionCount; ++k) {
    if (axon::reduction_name(static_cast<Reduction>(k)) == name) return static_cast<Reduction>(k);
  }
  ADD_FAILURE() << "no reduction named " << name;
  return Reduction::kMean;
}

const std::vector<LossCase>& cases() {
  static const std::vector<LossCase> loaded = [] {
    std::vector<LossCase> all;
    std::ifstream file(AXON_TEST_FIXTURE_DIR "/loss_reference.txt");
    EXPECT_TRUE(file.good()) << "cannot open " AXON_TEST_FIXTURE_DIR "/loss_reference.txt";
    std::string line;
    while (std::getline(file, line)) {
      std::istringstream in(line);
      std::string record;
      in >> record;
      if (record == "loss") {
        all.emplace_back();
        in >> all.back().kind;
        std::string token;
        while (in >> token) {
          const auto eq = token.find('=');
          all.back().options[token.substr(0, eq)] = token.substr(eq + 1);
        }
        std::vector<std::int64_t> dims;
        std::istringstream shape(all.back().options.at("shape"));
        for (std::string dim; std::getline(shape, dim, ',');) dims.push_back(std::stoll(dim));
        all.back().shape = axon::Shape(dims);
      } else if (record == "pred") {
        all.back().pred = axon_test::read_floats(in);
      } else if (record == "target") {
        if (kind_named(all.back().kind) == LossKind::kSoftmaxCrossEntropy ||
            kind_named(all.back().kind) == LossKind::kNll) {
          for (std::int32_t v = 0; in >> v;) all.back().labels.push_back(v);
        } else {
          all.back().target = axon_test::read_floats(in);
        }
      } else if (record == "weight") {
        all.back().weight = axon_test::read_floats(in);
      } else if (record == "value") {
        all.back().value = axon_test::read_floats(in);
      } else if (record == "grad") {
        all.back().grad = axon_test::read_floats(in);
      } else if (record == "value64" || record == "grad64") {
        std::vector<double>& to = record == "value64" ? all.back().value64 : all.back().grad64;
        for (double v = 0.0; in >> v;) to.push_back(v);
      }
    }
    return all;
  }();
  return loaded;
}

// The case's loss, made as a user would: torch's options through the factories.
nn::Loss loss_of(const LossCase& c) {
  const LossKind kind = kind_named(c.kind);
  const auto option = [&](const char* name, const char* fallback) {
    const auto it = c.options.find(name);
    return it == c.options.end() ? std::string(fallback) : it->second;
  };
  const Reduction reduction = reduction_named(option("reduction", "mean"));
  const Tensor weight = c.weight.empty()
      ? Tensor()
      : Tensor::from_vector({static_cast<std::int64_t>(c.weight.size())}, std::span<const float>(c.weight));
  switch (kind) {
    case LossKind::kMse: return nn::MSELoss(reduction);
    case LossKind::kMae: return nn::L1Loss(reduction);
    case LossKind::kHuber: return nn::HuberLoss(std::stof(option("huber_delta", "1")), reduction);
    case LossKind::kBce: return nn::BCELoss(reduction);
    case LossKind::kBceWithLogits: return nn::BCEWithLogitsLoss(weight, reduction);
    case LossKind::kSoftmaxCrossEntropy:
      return nn::CrossEntropyLoss({.weight = weight,
                                   .ignore_index = std::stoi(option("ignore_index", "-100")),
                                   .label_smoothing = std::stof(option("label_smoothing", "0")),
                                   .reduction = reduction});
    case LossKind::kNll:
      return nn::NLLLoss(
          {.weight = weight, .ignore_index = std::stoi(option("ignore_index", "-100")), .reduction = reduction});
  }
  return nn::MSELoss();
}

// Near torch's float32 result (axon sums in double, torch in float: a few ulps), or at least as
// near the float64 truth as torch is.
constexpr double kRtol = 4e-6;
constexpr double kAtol = 1e-7;

::testing::AssertionResult matches_torch(const std::vector<float>& got, const std::vector<float>& torch32,
                                         const std::vector<double>& torch64) {
  if (got.size() != torch32.size() || got.size() != torch64.size()) {
    return ::testing::AssertionFailure() << "sizes " << got.size() << ", " << torch32.size() << ", " << torch64.size();
  }
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double g = got[i], t = torch32[i], truth = torch64[i];
    if (std::abs(g - t) <= kAtol + kRtol * std::abs(t)) continue;
    if (std::abs(g - truth) <= std::abs(t - truth) + 1e-9 * std::abs(truth)) continue;
    return ::testing::AssertionFailure() << "element " << i << ": got " << g << ", torch " << t << ", float64 "
                                         << truth;
  }
  return ::testing::AssertionSuccess();
}

void run_cases(axon::Device device) {
  std::set<std::string> covered;
  for (const LossCase& c : cases()) {
    std::string trace = c.kind;
    for (const auto& [name, value] : c.options) trace += " " + name + "=" + value;
    if (!c.weight.empty()) trace += " weighted";
    SCOPED_TRACE(trace + " on " + device.str());
    covered.insert(c.kind);
    nn::Loss loss = loss_of(c);
    const Tensor pred = Tensor::from_vector(c.shape, std::span<const float>(c.pred), device);
    const Tensor target = c.labels.empty()
        ? Tensor::from_vector(c.shape, std::span<const float>(c.target), device)
        : Tensor::from_vector({c.shape[0]}, std::span<const std::int32_t>(c.labels), device);
    loss.compute(pred, target);
    EXPECT_TRUE(matches_torch(loss.value().to_vector(), c.value, c.value64)) << "value";
    EXPECT_TRUE(matches_torch(loss.grad().to_vector(), c.grad, c.grad64)) << "grad";
    loss.compute(pred, target, /*value_only=*/true);
    EXPECT_TRUE(matches_torch(loss.value().to_vector(), c.value, c.value64)) << "value only";
  }
  for (int k = 0; k < axon::kLossCount; ++k) {
    const std::string name(axon::loss_name(static_cast<LossKind>(k)));
    EXPECT_TRUE(covered.contains(name)) << "no PyTorch fixture for " << name;
  }
  EXPECT_GE(cases().size(), 60u);
}

TEST(LossReference, EveryLossAndOptionMatchesPyTorchOnTheCpu) { run_cases(axon::Device::cpu()); }

TEST(LossReference, EveryLossAndOptionMatchesPyTorchOnCuda) {
  if (!axon_test::have_cuda()) {
    if (axon_test::cuda_required()) FAIL() << "AXON_REQUIRE_CUDA=1 but no CUDA device";
    GTEST_SKIP() << "no CUDA device";
  }
  run_cases(axon::Device::cuda(0));
}

std::vector<axon::Device> devices() {
  std::vector<axon::Device> all{axon::Device::cpu()};
  if (axon_test::have_cuda()) all.push_back(axon::Device::cuda(0));
  return all;
}

// Where torch returns NaN (a mean over no counted row), axon returns 0 and a zero gradient: a
// batch of padding only must not poison a training run.
TEST(LossReference, AMeanOverNoCountedRowIsZero) {
  for (const axon::Device device : devices()) {
    SCOPED_TRACE(device.str());
    const Tensor logits = Tensor::full({3, 4}, 0.25f, device);
    const std::vector<std::int32_t> ignored{-100, -100, -100};
    const Tensor labels = Tensor::from_vector({3}, std::span<const std::int32_t>(ignored), device);
    for (const LossKind kind : {LossKind::kSoftmaxCrossEntropy, LossKind::kNll}) {
      const auto r = axon::loss(kind, logits, labels);
      EXPECT_EQ(r.value.item(), 0.0f);
      EXPECT_EQ(r.grad.to_vector(), std::vector<float>(12, 0.0f));
    }
    // zero class weights on the labels present, likewise
    const std::vector<std::int32_t> present{1, 1, 2};
    const std::vector<float> weights{1.0f, 0.0f, 0.0f, 1.0f};
    const auto r = axon::loss(LossKind::kSoftmaxCrossEntropy, logits,
                              Tensor::from_vector({3}, std::span<const std::int32_t>(present), device), {},
                              Tensor::from_vector({4}, std::span<const float>(weights), device));
    EXPECT_EQ(r.value.item(), 0.0f);
    EXPECT_EQ(r.grad.to_vector(), std::vector<float>(12, 0.0f));
  }
}

// A label outside [0, classes) that is not ignore_index is refused naming the row and the label;
// ignore_index itself may lie inside or outside the classes.
TEST(LossReference, BadLabelsAreRefusedNamingTheRow) {
  for (const axon::Device device : devices()) {
    SCOPED_TRACE(device.str());
    const Tensor logits = Tensor::full({3, 4}, 0.25f, device);
    const std::vector<std::int32_t> bad{1, 7, -100};
    const Tensor labels = Tensor::from_vector({3}, std::span<const std::int32_t>(bad), device);
    for (const LossKind kind : {LossKind::kSoftmaxCrossEntropy, LossKind::kNll}) {
      const std::string name(axon::loss_name(kind));
      axon_test::expect_error<axon::ValueError>([&] { (void)axon::loss(kind, logits, labels).value.item(); },
                                                {name, "label 7", "row 1", "[0, 4)"});
      // with 7 ignored the -100 of row 2 is the bad one
      axon_test::expect_error<axon::ValueError>(
          [&] { (void)axon::loss(kind, logits, labels, {.ignore_index = 7}).value.item(); }, {"-100", "row 2"});
    }
  }
}

// BCE takes probabilities: torch refuses one outside [0, 1] and so does axon, naming the element;
// a NaN propagates (for the Trainer's NaN guard to see).
TEST(LossReference, BceRefusesProbabilitiesOutsideTheUnitInterval) {
  for (const axon::Device device : devices()) {
    SCOPED_TRACE(device.str());
    const std::vector<float> p{0.5f, 0.2f, 1.5f, 0.1f};
    const Tensor target = Tensor::full({4}, 1.0f, device);
    axon_test::expect_error<axon::ValueError>(
        [&] {
          (void)axon::loss(LossKind::kBce, Tensor::from_vector({4}, std::span<const float>(p), device), target)
              .value.item();
        },
        {"bce", "element 2", "[0, 1]"});
    const std::vector<float> with_nan{0.5f, NAN, 0.25f, 0.75f};
    const auto r =
        axon::loss(LossKind::kBce, Tensor::from_vector({4}, std::span<const float>(with_nan), device), target);
    EXPECT_TRUE(std::isnan(r.value.item()));
    EXPECT_TRUE(std::isnan(r.grad.to_vector()[1]));
  }
}

// The Trainer needs one value per batch; with a sum it reports the epoch's mean per sample.
TEST(LossReference, TrainerTakesMeanAndSumButNotNone) {
  nn::Sequential model;
  model.add(nn::Dense(3, 2));
  axon::optim::SGD sgd(model.parameters(), {.lr = 0.1f});
  axon_test::expect_error<axon::ValueError>(
      [&] { axon::train::Trainer(model, sgd, nn::MSELoss(Reduction::kNone)); }, {"mse", "reduction none"});
  const Tensor x = Tensor::full({4, 3}, 0.5f);
  const Tensor t = Tensor::full({4, 2}, 1.0f);
  nn::Loss mean = nn::MSELoss();
  mean.compute(model.forward(x), t, true);
  const float mean_value = mean.value().item();
  axon::train::Trainer trainer(model, sgd, nn::MSELoss(Reduction::kSum));
  const axon::train::Evaluation e = trainer.evaluate(axon::data::Dataset(x, t), 3);
  // the sum over 4 rows x 2 outputs, per sample: twice the mean
  EXPECT_NEAR(e.loss, 2.0 * mean_value, 1e-6 * std::abs(mean_value) + 1e-7);
}

}  // namespace
