// Every activation against torch.nn's: tests/fixtures/activation_reference.txt holds PyTorch's
// outputs and input gradients at kinks, clamp edges, far tails and random points, made by
// tests/fixtures/make_activation_fixtures.py. Each case builds its layer through the registry
// from PyTorch's names for the constants (so a model file's settings mean what torch's do), and
// runs on the CPU and, with a GPU, on CUDA.
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "test_util.h"

namespace {

using axon::Tensor;
namespace nn = axon::nn;

struct ActivationCase {
  std::string kind;                      // axon's name: "relu", "gelu_tanh", ...
  std::map<std::string, double> constants;  // PyTorch's names
  std::vector<float> x, y, grad_y, grad_x;
  std::vector<double> y64, grad_x64;  // torch in float64 from the same inputs
};

const std::vector<ActivationCase>& cases() {
  static const std::vector<ActivationCase> loaded = [] {
    std::vector<ActivationCase> all;
    std::ifstream file(AXON_TEST_FIXTURE_DIR "/activation_reference.txt");
    EXPECT_TRUE(file.good()) << "cannot open " AXON_TEST_FIXTURE_DIR "/activation_reference.txt";
    std::string line;
    while (std::getline(file, line)) {
      std::istringstream in(line);
      std::string record;
      in >> record;
      if (record == "activation") {
        all.emplace_back();
        in >> all.back().kind;
        std::string token;
        while (in >> token) {
          const auto eq = token.find('=');
          all.back().constants[token.substr(0, eq)] = std::stod(token.substr(eq + 1));
        }
      } else if (record == "x") {
        all.back().x = axon_test::read_floats(in);
      } else if (record == "y") {
        all.back().y = axon_test::read_floats(in);
      } else if (record == "grad_y") {
        all.back().grad_y = axon_test::read_floats(in);
      } else if (record == "grad_x") {
        all.back().grad_x = axon_test::read_floats(in);
      } else if (record == "y64" || record == "grad_x64") {
        (record == "y64" ? all.back().y64 : all.back().grad_x64) = axon_test::read_doubles(in);
      }
    }
    return all;
  }();
  return loaded;
}

// The case's layer, as a model file would rebuild it: PyTorch's class name and settings.
std::unique_ptr<nn::Layer> layer_of(const ActivationCase& c) {
  const axon::Activation kind = axon::activation_named(c.kind);
  std::string type = nn::ActivationLayer(kind).type();
  nn::LayerConfig config;
  for (const auto& [name, value] : c.constants) config.set(name, value);
  if (kind == axon::Activation::kGeluTanh) config.set("approximate", "tanh");
  auto layer = nn::make_layer(type, config);
  // ... and it writes back the same settings (as floats)
  const nn::LayerConfig written = layer->config();
  EXPECT_EQ(written.values().size(), config.values().size()) << c.kind;
  for (const auto& [name, value] : c.constants) {
    EXPECT_EQ(static_cast<float>(written.number(name)), static_cast<float>(value)) << c.kind << " " << name;
  }
  return layer;
}

// Float formulas against torch's float kernels: a few ulps apart (libm vs torch's vectorised
// exp/tanh/erf), the same at every kink and clamp edge. Where torch's float32 is further from
// the float64 truth than that (GELU's tail: 1 + erf(x) cancels), axon must be at least as near
// the truth as torch.
constexpr double kRtol = 4e-6;
constexpr double kAtol = 2e-7;

::testing::AssertionResult matches_torch(const std::vector<float>& got, const std::vector<float>& torch32,
                                         const std::vector<double>& torch64) {
  if (got.size() != torch32.size() || got.size() != torch64.size()) {
    return ::testing::AssertionFailure() << "sizes " << got.size() << ", " << torch32.size() << ", " << torch64.size();
  }
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double g = got[i], t = torch32[i], truth = torch64[i];
    if (std::isnan(g) || std::isnan(t)) {
      if (std::isnan(g) != std::isnan(t)) return ::testing::AssertionFailure() << "element " << i << ": " << g << " vs " << t;
      continue;
    }
    if (std::abs(g - t) <= kAtol + kRtol * std::abs(t)) continue;
    // (1e-7 relative: the truth to 10 digits)
    if (std::abs(g - truth) <= std::abs(t - truth) + 1e-7 * std::abs(truth) + 1e-30) continue;
    return ::testing::AssertionFailure() << "element " << i << ": got " << g << ", torch " << t << ", float64 "
                                         << truth;
  }
  return ::testing::AssertionSuccess();
}

void run_cases(axon::Device device) {
  ASSERT_GE(cases().size(), static_cast<std::size_t>(axon::kActivationCount));
  std::set<std::string> covered;
  for (const ActivationCase& c : cases()) {
    std::string trace = c.kind;
    for (const auto& [name, value] : c.constants) trace += " " + name + "=" + std::to_string(value);
    SCOPED_TRACE(trace + " on " + device.str());
    covered.insert(c.kind);
    const auto layer = layer_of(c);
    const auto n = static_cast<std::int64_t>(c.x.size());
    const Tensor x = Tensor::from_vector({n}, std::span<const float>(c.x), device);
    const Tensor y = Tensor::empty({n}, device);
    layer->forward(x, y, {});
    EXPECT_TRUE(matches_torch(y.to_vector(), c.y, c.y64)) << "forward";
    const Tensor grad_y = Tensor::from_vector({n}, std::span<const float>(c.grad_y), device);
    const Tensor grad_x = Tensor::empty({n}, device);
    layer->backward(x, y, grad_y, grad_x);
    EXPECT_TRUE(matches_torch(grad_x.to_vector(), c.grad_x, c.grad_x64)) << "backward";
  }
  for (int k = 0; k < axon::kActivationCount; ++k) {
    const std::string name(axon::activation_name(static_cast<axon::Activation>(k)));
    EXPECT_TRUE(covered.contains(name)) << "no PyTorch fixture for " << name;
  }
}

TEST(ActivationReference, EveryActivationMatchesPyTorchOnTheCpu) { run_cases(axon::Device::cpu()); }

TEST(ActivationReference, EveryActivationMatchesPyTorchOnCuda) {
  if (!axon_test::have_cuda()) {
    if (axon_test::cuda_required()) FAIL() << "AXON_REQUIRE_CUDA=1 but no CUDA device";
    GTEST_SKIP() << "no CUDA device";
  }
  run_cases(axon::Device::cuda(0));
}

// A model file's bad constants name what is wrong (load_model adds the file and the layer).
TEST(ActivationReference, BadConstantsAreRefused) {
  axon_test::expect_error<axon::ValueError>(
      [] { (void)nn::make_layer("Hardtanh", nn::LayerConfig().set("min_val", 2.0).set("max_val", 1.0)); },
      {"min_val", "max_val"});
  axon_test::expect_error<axon::ValueError>([] { (void)nn::make_layer("Softplus", nn::LayerConfig().set("beta", 0.0)); },
                                            {"beta"});
  axon_test::expect_error<axon::ValueError>(
      [] { (void)nn::make_layer("GELU", nn::LayerConfig().set("approximate", "erf")); }, {"approximate", "erf"});
  EXPECT_EQ(nn::Hardtanh(-2.0f, 0.5f).settings(), "min_val=-2, max_val=0.5");
  EXPECT_EQ(nn::GELU(true).settings(), "approximate=tanh");
}

}  // namespace
