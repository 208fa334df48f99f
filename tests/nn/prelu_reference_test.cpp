// PReLU against torch.nn.PReLU: tests/fixtures/prelu_reference.txt (made by
// tests/fixtures/make_prelu_fixtures.py) holds torch's outputs and its input and slope
// gradients for one shared slope and for one slope per channel, over inputs of rank 1 to 4. On
// the CPU and, with a GPU, on CUDA. Then the layer by finite differences, in a model file, and
// its refusals.
#include <bit>
#include <cmath>

#include "nn/reference_fixture.h"

namespace {

using axon::Shape;
using axon::Tensor;
namespace nn = axon::nn;

const std::vector<axon_test::FixtureCase>& cases() {
  static const std::vector<axon_test::FixtureCase> loaded = axon_test::read_fixture("prelu_reference.txt", "prelu", false);
  return loaded;
}

// y and grad_x are one float multiply (or none) per element: the same bits as torch's. The slope
// gradient is a sum over the batch: axon adds in double and rounds once, so it is within half an
// ulp of the float64 truth (torch's float32 sum may be further off).
::testing::AssertionResult same_bits(const std::vector<float>& got, const std::vector<float>& want) {
  if (got.size() != want.size()) return ::testing::AssertionFailure() << got.size() << " vs " << want.size();
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (std::bit_cast<std::uint32_t>(got[i]) != std::bit_cast<std::uint32_t>(want[i])) {
      return ::testing::AssertionFailure() << "element " << i << ": got " << got[i] << ", torch " << want[i];
    }
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult near_truth(const std::vector<float>& got, const std::vector<float>& torch32,
                                      const std::vector<double>& truth) {
  if (got.size() != truth.size() || got.size() != torch32.size()) {
    return ::testing::AssertionFailure() << "sizes " << got.size() << ", " << torch32.size() << ", " << truth.size();
  }
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double error = std::abs(got[i] - truth[i]);
    if (error > 6e-8 * std::abs(truth[i]) + 1e-10) {
      return ::testing::AssertionFailure() << "slope " << i << ": got " << got[i] << ", float64 " << truth[i]
                                           << ", torch " << torch32[i];
    }
    if (std::abs(torch32[i] - truth[i]) > 1e-5 * std::abs(truth[i]) + 1e-6) {
      return ::testing::AssertionFailure() << "the fixture's torch float32 " << torch32[i] << " is far from "
                                           << truth[i];
    }
  }
  return ::testing::AssertionSuccess();
}

void run_cases(axon::Device device) {
  ASSERT_GE(cases().size(), 8u);
  for (const axon_test::FixtureCase& c : cases()) {
    const auto dims = axon_test::integers(c.settings.at("shape"));
    const Shape shape{std::span<const std::int64_t>(dims)};
    const std::int64_t slopes = std::stoll(c.settings.at("num_parameters"));
    SCOPED_TRACE(c.line + " on " + device.str());
    nn::Sequential model;
    model.add(nn::make_layer("PReLU", nn::LayerConfig().set("num_parameters", slopes)));
    model.layer(0).parameters()[0]->value.copy_from(Tensor::from_vector({slopes}, std::span<const float>(c.floats("weight"))));
    model.to(device);
    const Tensor x = Tensor::from_vector(shape, std::span<const float>(c.floats("x")), device);
    const Tensor y = model.forward(x);
    EXPECT_TRUE(same_bits(y.to_vector(), c.floats("y"))) << "forward";
    Tensor grad_y = Tensor::from_vector(shape, std::span<const float>(c.floats("grad_y")), device);
    const Tensor grad_x = model.backward(grad_y, /*want_input_grad=*/true);
    EXPECT_TRUE(same_bits(grad_x.to_vector(), c.floats("grad_x"))) << "input gradient";
    EXPECT_TRUE(near_truth(model.layer(0).parameters()[0]->grad.to_vector(), c.floats("grad_weight"),
                           c.truth("grad_weight")))
        << "slope gradient";
  }
}

TEST(PreluReference, MatchesPyTorchOnTheCpu) { run_cases(axon::Device::cpu()); }

TEST(PreluReference, MatchesPyTorchOnCuda) {
  AXON_SKIP_WITHOUT_CUDA();
  run_cases(axon::Device::cuda(0));
}

TEST(Prelu, PassesTheGradientCheckWithOneSlopeAndPerChannel) {
  for (const std::int64_t slopes : {1, 3}) {
    SCOPED_TRACE("num_parameters=" + std::to_string(slopes));
    nn::PReLU layer(slopes);
    layer.parameters()[0]->value.copy_from(axon_test::tensor_from({slopes}, axon_test::random_doubles(
                                                                                static_cast<std::size_t>(slopes), -0.5, 1.5, 3)));
    const Tensor x = axon_test::tensor_from({2, 3, 2, 2}, axon_test::random_doubles(24, -3, 3, 11));
    const nn::GradientCheckResult result = nn::check_gradients(layer, x);
    EXPECT_TRUE(result.passed()) << result.str();
    EXPECT_EQ(result.entries.size(), 2u);  // the input and the weight
  }
}

TEST(Prelu, StartsAtInitAndRoundTripsThroughAModelFile) {
  nn::PReLU shared;
  EXPECT_EQ(shared.weight().value.to_vector(), std::vector<float>{0.25f});
  EXPECT_EQ(shared.settings(), "num_parameters=1, init=0.25");
  const axon_test::TempDir dir;
  nn::Sequential model;
  model.add(nn::Dense(4, 6)).add(nn::PReLU(6, 0.1f)).add(nn::Dense(6, 2)).add(nn::PReLU());
  model.layer(1).parameters()[0]->value.copy_from(
      axon_test::tensor_from({6}, axon_test::random_doubles(6, -0.5, 0.5, 5)));
  const auto names = model.parameters().parameters();
  ASSERT_EQ(names.size(), 6u);
  EXPECT_EQ(names[2].name, "1.weight");  // as torch's nn.Sequential(Linear, PReLU, ...) names it
  EXPECT_EQ(names[5].name, "3.weight");
  nn::save_weights(model, dir / "prelu.safetensors");
  nn::Sequential loaded = nn::load_model(dir / "prelu.safetensors");
  ASSERT_EQ(loaded.size(), 4u);
  EXPECT_EQ(loaded.layer(1).type(), "PReLU");
  EXPECT_EQ(loaded.layer(1).config().integer("num_parameters", 1, 100), 6);
  EXPECT_EQ(static_cast<float>(loaded.layer(1).config().number("init")), 0.1f);
  const Tensor x = axon_test::tensor_from({5, 4}, axon_test::random_doubles(20, -2, 2, 9));
  EXPECT_EQ(model.predict(x).to_vector(), loaded.predict(x).to_vector());
}

TEST(Prelu, RefusesBadSettingsAndShapes) {
  axon_test::expect_error<axon::ValueError>([] { nn::PReLU(0); }, {"PReLU", "num_parameters", "0"});
  axon_test::expect_error<axon::ValueError>([] { nn::PReLU(1, INFINITY); }, {"PReLU", "init"});
  axon_test::expect_error<axon::ValueError>(
      [] { (void)nn::make_layer("PReLU", nn::LayerConfig().set("num_parameters", -3)); }, {"num_parameters"});
  nn::PReLU per_channel(4);
  axon_test::expect_error<axon::ShapeError>([&] { (void)per_channel.output_shape(Shape{2, 5}); },
                                            {"PReLU", "[2, 5]", "4"});
  axon_test::expect_error<axon::ShapeError>([&] { (void)per_channel.output_shape(Shape{8}); }, {"PReLU", "[8]"});
  EXPECT_EQ(per_channel.output_shape(Shape{2, 4, 3, 3}), (Shape{2, 4, 3, 3}));
  EXPECT_EQ(nn::PReLU().output_shape(Shape{7}), Shape{7});
  const Tensor x = Tensor::zeros({2, 3});
  axon_test::expect_error<axon::ShapeError>([&] { (void)axon::prelu(x, Tensor::zeros({2})); },
                                            {"axon::prelu", "weight", "[2, 3]", "[2]"});
  axon_test::expect_error<axon::ShapeError>([&] { (void)axon::prelu(x, Tensor::zeros({3, 1})); },
                                            {"axon::prelu", "weight"});
  axon_test::expect_error<axon::ShapeError>([&] { (void)axon::prelu(x, Tensor::zeros({0})); },
                                            {"axon::prelu", "weight"});
  const Tensor grad_weight = Tensor::zeros({2});
  axon_test::expect_error<axon::ShapeError>(
      [&] { axon::prelu_backward_out(x, Tensor::zeros({3}), x, Tensor(), grad_weight); },
      {"axon::prelu_backward", "grad_weight"});
}

}  // namespace
