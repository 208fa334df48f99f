// LayerNorm against torch.nn.LayerNorm: tests/fixtures/layer_norm_reference.txt (made by
// tests/fixtures/make_layer_norm_fixtures.py) holds torch's output and its input, weight and
// bias gradients over one and several normalised axes, without the affine transform, without
// the bias. The layer is built through the registry, on the CPU and, with a GPU, on CUDA; then a
// gradient check, a model file and refusals.
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "test_util.h"

namespace {

using axon::Shape;
using axon::Tensor;
namespace nn = axon::nn;

struct LnCase {
  std::string line;
  std::map<std::string, std::string> settings;
  Shape x_shape;
  std::vector<std::int64_t> normalized;
  std::map<std::string, std::vector<float>> f32;
  std::map<std::string, std::vector<double>> f64;
};

std::vector<std::int64_t> integers(const std::string& text) {
  std::vector<std::int64_t> values;
  std::istringstream in(text);
  for (std::string v; std::getline(in, v, ',');) values.push_back(std::stoll(v));
  return values;
}

const std::vector<LnCase>& cases() {
  static const std::vector<LnCase> loaded = [] {
    std::vector<LnCase> all;
    std::ifstream file(AXON_TEST_FIXTURE_DIR "/layer_norm_reference.txt");
    EXPECT_TRUE(file.good()) << "cannot open " AXON_TEST_FIXTURE_DIR "/layer_norm_reference.txt";
    std::string line;
    while (std::getline(file, line)) {
      std::istringstream in(line);
      std::string record;
      in >> record;
      if (record == "layer_norm") {
        LnCase c;
        c.line = line;
        for (std::string token; in >> token;) {
          const auto eq = token.find('=');
          c.settings[token.substr(0, eq)] = token.substr(eq + 1);
        }
        const auto dims = integers(c.settings["x"]);
        c.x_shape = Shape(std::span<const std::int64_t>(dims));
        c.normalized = integers(c.settings["normalized"]);
        all.push_back(std::move(c));
      } else if (all.empty() || record.empty() || record[0] == '#') {
        continue;
      } else if (record.ends_with("64")) {
        all.back().f64[record] = axon_test::read_doubles(in);
      } else {
        all.back().f32[record] = axon_test::read_floats(in);
      }
    }
    return all;
  }();
  return loaded;
}

::testing::AssertionResult near_truth(const std::vector<float>& got, const std::vector<float>& torch32,
                                      const std::vector<double>& truth) {
  if (got.size() != truth.size() || got.size() != torch32.size()) {
    return ::testing::AssertionFailure() << "sizes " << got.size() << ", " << torch32.size() << ", " << truth.size();
  }
  double worst_torch = 0.0;
  for (std::size_t i = 0; i < got.size(); ++i) worst_torch = std::max(worst_torch, std::abs(torch32[i] - truth[i]));
  const double bound = std::max(2e-6, 2.0 * worst_torch);
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (!(std::abs(got[i] - truth[i]) <= bound)) {
      return ::testing::AssertionFailure() << "element " << i << ": got " << got[i] << ", float64 " << truth[i]
                                           << ", torch " << torch32[i] << " (bound " << bound << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

void run_cases(axon::Device device) {
  ASSERT_GE(cases().size(), 6u);
  for (const LnCase& c : cases()) {
    SCOPED_TRACE(c.line + " on " + device.str());
    const bool affine = c.settings.at("affine") == "1", bias = c.settings.at("bias") == "1";
    nn::Sequential model;
    model.add(nn::make_layer("LayerNorm", nn::LayerConfig()
                                              .set("normalized_shape", c.normalized)
                                              .set("eps", std::stod(c.settings.at("eps")))
                                              .set("elementwise_affine", affine)
                                              .set("bias", bias)));
    const Shape p_shape{std::span<const std::int64_t>(c.normalized)};
    if (affine) {
      auto params = model.layer(0).parameters();
      params[0]->value.copy_from(Tensor::from_vector(p_shape, std::span<const float>(c.f32.at("weight"))));
      if (bias) params[1]->value.copy_from(Tensor::from_vector(p_shape, std::span<const float>(c.f32.at("bias"))));
    }
    model.to(device);
    const Tensor x = Tensor::from_vector(c.x_shape, std::span<const float>(c.f32.at("x")), device);
    EXPECT_TRUE(near_truth(model.forward(x).to_vector(), c.f32.at("y"), c.f64.at("y64"))) << "forward";
    Tensor grad_y = Tensor::from_vector(c.x_shape, std::span<const float>(c.f32.at("grad_y")), device);
    const Tensor grad_x = model.backward(grad_y, /*want_input_grad=*/true);
    EXPECT_TRUE(near_truth(grad_x.to_vector(), c.f32.at("grad_x"), c.f64.at("grad_x64"))) << "input gradient";
    if (affine) {
      auto params = model.layer(0).parameters();
      EXPECT_TRUE(near_truth(params[0]->grad.to_vector(), c.f32.at("grad_weight"), c.f64.at("grad_weight64")));
      if (bias) EXPECT_TRUE(near_truth(params[1]->grad.to_vector(), c.f32.at("grad_bias"), c.f64.at("grad_bias64")));
    }
  }
}

TEST(LayerNormReference, MatchesPyTorchOnTheCpu) { run_cases(axon::Device::cpu()); }

TEST(LayerNormReference, MatchesPyTorchOnCuda) {
  if (!axon_test::have_cuda()) {
    if (axon_test::cuda_required()) FAIL() << "AXON_REQUIRE_CUDA=1 but no CUDA device";
    GTEST_SKIP() << "no CUDA device";
  }
  run_cases(axon::Device::cuda(0));
}

TEST(LayerNormLayer, PassesTheGradientCheckAndRoundTripsThroughAModelFile) {
  nn::LayerNorm norm(std::vector<std::int64_t>{3, 4});
  norm.parameters()[0]->value.copy_from(axon_test::tensor_from({3, 4}, axon_test::random_doubles(12, 0.5, 1.5, 2)));
  norm.parameters()[1]->value.copy_from(axon_test::tensor_from({3, 4}, axon_test::random_doubles(12, -0.5, 0.5, 3)));
  const Tensor x = axon_test::tensor_from({2, 5, 3, 4}, axon_test::random_doubles(120, -2, 2, 4));
  const nn::GradientCheckResult result = nn::check_gradients(norm, x);
  EXPECT_TRUE(result.passed()) << result.str();

  const axon_test::TempDir dir;
  nn::Sequential model;
  model.add(nn::Dense(6, 8)).add(nn::LayerNorm(8, {.bias = false})).add(nn::GELU());
  const Tensor input = axon_test::tensor_from({3, 6}, axon_test::random_doubles(18, -1, 1, 5));
  nn::save_weights(model, dir / "ln.safetensors");
  nn::Sequential loaded = nn::load_model(dir / "ln.safetensors");
  EXPECT_EQ(loaded.layer(1).config(), model.layer(1).config());
  EXPECT_EQ(loaded.predict(input).to_vector(), model.predict(input).to_vector());
  EXPECT_EQ(model.parameters().parameters()[2].name, "1.weight");
  EXPECT_EQ(model.layer(1).settings(), "[8], eps=1e-05, no bias");
}

TEST(LayerNormLayer, RefusesBadSettingsAndShapes) {
  using axon_test::expect_error;
  expect_error<axon::ValueError>([] { nn::LayerNorm(std::vector<std::int64_t>{}); }, {"LayerNorm", "normalized_shape"});
  expect_error<axon::ValueError>([] { nn::LayerNorm(0); }, {"LayerNorm", "[0]"});
  expect_error<axon::ValueError>([] { nn::LayerNorm(4, {.eps = -1.0}); }, {"LayerNorm", "eps"});
  expect_error<axon::ShapeError>([] { (void)nn::LayerNorm(std::vector<std::int64_t>{3, 4}).output_shape(Shape{2, 4, 3}); },
                                 {"LayerNorm([3, 4]", "[batch, ..., 3, 4]", "[2, 4, 3]"});
  expect_error<axon::ValueError>(
      [] {
        axon::layer_norm_out(Tensor::zeros({2, 6}), 4, Tensor(), Tensor(), Tensor::zeros({2, 6}), Tensor::zeros({3}),
                             Tensor::zeros({3}));
      },
      {"axon::layer_norm", "size 4", "trailing axes"});
}

}  // namespace
