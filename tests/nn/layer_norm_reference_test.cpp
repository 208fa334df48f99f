// LayerNorm against torch.nn.LayerNorm: tests/fixtures/layer_norm_reference.txt (made by
// tests/fixtures/make_layer_norm_fixtures.py) holds torch's output and its input, weight and
// bias gradients over one and several normalised axes, without the affine transform, without
// the bias. The layer is built through the registry, on the CPU and, with a GPU, on CUDA; then a
// gradient check, a model file and refusals.
#include "nn/reference_fixture.h"

namespace {

using axon::Shape;
using axon::Tensor;
namespace nn = axon::nn;

const std::vector<axon_test::FixtureCase>& cases() {
  static const std::vector<axon_test::FixtureCase> loaded =
      axon_test::read_fixture("layer_norm_reference.txt", "layer_norm", false);
  return loaded;
}

::testing::AssertionResult near_truth(const axon_test::FixtureCase& c, const std::string& name, const Tensor& got) {
  return axon_test::near_truth(got.to_vector(), c.floats(name), c.truth(name), 2e-6, 2.0);
}

void run_cases(axon::Device device) {
  ASSERT_GE(cases().size(), 6u);
  for (const axon_test::FixtureCase& c : cases()) {
    SCOPED_TRACE(c.line + " on " + device.str());
    const bool affine = c.settings.at("affine") == "1", bias = c.settings.at("bias") == "1";
    const auto dims = axon_test::integers(c.settings.at("x")), normalized = axon_test::integers(c.settings.at("normalized"));
    const Shape x_shape{std::span<const std::int64_t>(dims)}, p_shape{std::span<const std::int64_t>(normalized)};
    nn::Sequential model;
    model.add(nn::make_layer("LayerNorm", nn::LayerConfig()
                                              .set("normalized_shape", normalized)
                                              .set("eps", std::stod(c.settings.at("eps")))
                                              .set("elementwise_affine", affine)
                                              .set("bias", bias)));
    if (affine) {
      auto params = model.layer(0).parameters();
      params[0]->value.copy_from(Tensor::from_vector(p_shape, std::span<const float>(c.floats("weight"))));
      if (bias) params[1]->value.copy_from(Tensor::from_vector(p_shape, std::span<const float>(c.floats("bias"))));
    }
    model.to(device);
    const Tensor x = Tensor::from_vector(x_shape, std::span<const float>(c.floats("x")), device);
    EXPECT_TRUE(near_truth(c, "y", model.forward(x))) << "forward";
    Tensor grad_y = Tensor::from_vector(x_shape, std::span<const float>(c.floats("grad_y")), device);
    EXPECT_TRUE(near_truth(c, "grad_x", model.backward(grad_y, /*want_input_grad=*/true))) << "input gradient";
    if (affine) {
      auto params = model.layer(0).parameters();
      EXPECT_TRUE(near_truth(c, "grad_weight", params[0]->grad));
      if (bias) EXPECT_TRUE(near_truth(c, "grad_bias", params[1]->grad));
    }
  }
}

TEST(LayerNormReference, MatchesPyTorchOnTheCpu) { run_cases(axon::Device::cpu()); }

TEST(LayerNormReference, MatchesPyTorchOnCuda) {
  AXON_SKIP_WITHOUT_CUDA();
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
