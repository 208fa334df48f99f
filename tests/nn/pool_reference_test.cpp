// The pooling layers against torch.nn.functional's: tests/fixtures/pool_reference.txt (made by
// tests/fixtures/make_pool_fixtures.py) holds torch's outputs, max pooling's indices and the input
// gradients over strides, paddings, dilation, ceil_mode, count_include_pad, overlapping
// windows, ties and NaN. Each layer is built through the registry from torch's argument names,
// on the CPU and, with a GPU, on CUDA; then gradient checks, a model file and refusals.
#include "nn/reference_fixture.h"

namespace {

using axon::Shape;
using axon::Tensor;
namespace nn = axon::nn;

const std::vector<axon_test::FixtureCase>& cases() {
  static const std::vector<axon_test::FixtureCase> loaded = axon_test::read_fixture("pool_reference.txt", "pool", true);
  return loaded;
}

Shape x_shape_of(const axon_test::FixtureCase& c) {
  const auto dims = axon_test::integers(c.settings.at("x"));
  return Shape(std::span<const std::int64_t>(dims));
}

// The case's layer as a model file would rebuild it, from torch's argument names.
std::unique_ptr<nn::Layer> layer_of(const axon_test::FixtureCase& c) {
  const auto setting = [&](const char* key) { return axon_test::integers(c.settings.at(key)); };
  if (c.kind == "adaptive") return nn::make_layer("AdaptiveAvgPool2d", nn::LayerConfig().set("output_size", setting("kernel")));
  nn::LayerConfig config;
  config.set("kernel_size", setting("kernel")).set("stride", setting("stride")).set("padding", setting("pad"));
  config.set("ceil_mode", c.settings.at("ceil") != "0");
  if (c.kind == "max") {
    config.set("dilation", setting("dilation"));
    return nn::make_layer("MaxPool2d", config);
  }
  config.set("count_include_pad", c.settings.at("include_pad") != "0");
  return nn::make_layer("AvgPool2d", config);
}

::testing::AssertionResult near_truth(const axon_test::FixtureCase& c, const std::string& name, const Tensor& got) {
  return axon_test::near_truth(got.to_vector(), c.floats(name), c.truth(name), 1e-6, 4.0);
}

void run_cases(axon::Device device) {
  ASSERT_GE(cases().size(), 11u);
  for (const axon_test::FixtureCase& c : cases()) {
    SCOPED_TRACE(c.line + " on " + device.str());
    nn::Sequential model;
    model.add(layer_of(c));
    model.to(device);
    const Shape x_shape = x_shape_of(c);
    const Tensor x = Tensor::from_vector(x_shape, std::span<const float>(c.floats("x")), device);
    const Tensor y = model.forward(x);
    EXPECT_TRUE(near_truth(c, "y", y)) << "forward";
    if (c.kind == "max") {  // the maximum itself: exactly torch's value, at torch's index
      const auto got = y.to_vector();
      for (std::size_t i = 0; i < got.size(); ++i) {
        const float want = c.floats("y")[i];
        EXPECT_TRUE(got[i] == want || (std::isnan(got[i]) && std::isnan(want))) << i;
      }
      const Tensor indices = Tensor::empty(y.shape(), device, axon::DType::kInt32);
      axon::max_pool2d_out(x, Tensor::empty(y.shape(), device), indices,
                           dynamic_cast<const nn::MaxPool2d&>(model.layer(0)).options());
      const std::vector<float>& want = c.floats("indices");
      EXPECT_EQ(indices.to_int_vector(), std::vector<std::int32_t>(want.begin(), want.end()));
    }
    Tensor grad_y = Tensor::from_vector(y.shape(), std::span<const float>(c.floats("grad_y")), device);
    EXPECT_TRUE(near_truth(c, "grad_x", model.backward(grad_y, /*want_input_grad=*/true))) << "input gradient";
  }
}

TEST(PoolReference, MatchesPyTorchOnTheCpu) { run_cases(axon::Device::cpu()); }

TEST(PoolReference, MatchesPyTorchOnCuda) {
  AXON_SKIP_WITHOUT_CUDA();
  run_cases(axon::Device::cuda(0));
}

TEST(PoolingLayers, PassTheGradientCheck) {
  // Distinct values (no ties, no kinks within the finite-difference step).
  std::vector<double> values(2 * 2 * 7 * 6);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = std::sin(1.7 * static_cast<double>(i)) + 0.001 * i;
  const Tensor x = axon_test::tensor_from({2, 2, 7, 6}, values);
  nn::MaxPool2d max_pool({3, 2}, {.stride = {2, 1}, .padding = {1, 1}, .ceil_mode = true});
  nn::AvgPool2d avg_pool(3, {.stride = {2, 2}, .padding = {1, 1}, .count_include_pad = false});
  nn::AdaptiveAvgPool2d global;
  for (nn::Layer* layer : std::initializer_list<nn::Layer*>{&max_pool, &avg_pool, &global}) {
    SCOPED_TRACE(layer->type());
    const nn::GradientCheckResult result = nn::check_gradients(*layer, x);
    EXPECT_TRUE(result.passed()) << result.str();
  }
}

TEST(PoolingLayers, RoundTripThroughAModelFileAndRefuseWhatDoesNotFit) {
  const axon_test::TempDir dir;
  nn::Sequential model;
  model.add(nn::MaxPool2d(2, {.stride = {1, 1}, .dilation = {2, 1}}))
      .add(nn::AvgPool2d({2, 1}, {.padding = {1, 0}, .ceil_mode = true, .count_include_pad = false}))
      .add(nn::AdaptiveAvgPool2d({2, 1}));
  const Tensor x = axon_test::tensor_from({2, 3, 9, 8}, axon_test::random_doubles(432, -1, 1, 5));
  const Tensor expected = model.predict(x);
  nn::save_weights(model, dir / "pool.safetensors");
  nn::Sequential loaded = nn::load_model(dir / "pool.safetensors");
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(loaded.layer(i).config(), model.layer(i).config()) << i;
  EXPECT_EQ(loaded.predict(x).to_vector(), expected.to_vector());
  EXPECT_EQ(model.layer(0).settings(), "kernel (2, 2), stride (1, 1), dilation (2, 1)");

  using axon_test::expect_error;
  expect_error<axon::ValueError>([] { nn::MaxPool2d(2, {.padding = {2, 0}}); }, {"MaxPool2d", "padding", "(2, 0)"});
  expect_error<axon::ValueError>([] { nn::AvgPool2d(0); }, {"AvgPool2d", "kernel"});
  expect_error<axon::ShapeError>([] { (void)nn::MaxPool2d(5).output_shape(Shape{1, 1, 4, 9}); },
                                 {"MaxPool2d(kernel (5, 5))", "[1, 1, 4, 9]", "too small"});
  expect_error<axon::ShapeError>([] { (void)nn::AdaptiveAvgPool2d(3).output_shape(Shape{1, 1, 7, 9}); },
                                 {"AdaptiveAvgPool2d", "(7, 9)", "multiples"});
  expect_error<axon::ShapeError>([] { (void)axon::max_pool2d(Tensor::zeros({3, 4, 4}), {.kernel_h = 2, .kernel_w = 2}); },
                                 {"axon::max_pool2d", "[batch, channels, height, width]"});
  expect_error<axon::ValueError>(
      [] { (void)axon::avg_pool2d(Tensor::zeros({1, 1, 4, 4}), {.kernel_h = 2, .kernel_w = 2, .dilation_h = 2}); },
      {"axon::avg_pool2d", "no dilation"});
  expect_error<axon::DTypeError>(
      [] {
        axon::max_pool2d_out(Tensor::zeros({1, 1, 4, 4}), Tensor::zeros({1, 1, 2, 2}), Tensor::zeros({1, 1, 2, 2}),
                             {.kernel_h = 2, .kernel_w = 2, .stride_h = 2, .stride_w = 2});
      },
      {"axon::max_pool2d", "indices", "int32"});
}

}  // namespace
