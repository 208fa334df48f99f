// The Conv2d layer: its backward by finite differences (with groups, strides, dilation, "same"
// padding of an even kernel, no bias), torch's shapes, names and initial spread, its settings
// through a model file, and its refusals.
#include <cmath>

#include "test_util.h"

namespace {

using axon::Shape;
using axon::Tensor;
namespace nn = axon::nn;

TEST(Conv2dLayer, PassesTheGradientCheck) {
  struct Case {
    const char* name;
    std::int64_t in, out;
    std::array<std::int64_t, 2> kernel;
    nn::ConvOptions options;
  };
  const Case cases[] = {
      {"3x3 padding 1", 2, 3, {3, 3}, {.padding = {1, 1}}},
      {"stride 2, dilation (1, 2), groups 2, no bias", 4, 2, {3, 2},
       {.stride = {2, 1}, .dilation = {1, 2}, .groups = 2, .bias = false}},
      {"same with an even kernel", 2, 2, {2, 4}, {.padding_mode = nn::Padding::kSame}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    axon::Generator generator(3);
    nn::ConvOptions options = c.options;
    options.generator = &generator;
    nn::Conv2d conv(c.in, c.out, c.kernel, options);
    const Tensor x = axon_test::tensor_from({2, c.in, 5, 6}, axon_test::random_doubles(
                                                                 static_cast<std::size_t>(2 * c.in * 30), -1, 1, 7));
    const nn::GradientCheckResult result = nn::check_gradients(conv, x);
    EXPECT_TRUE(result.passed()) << result.str();
    EXPECT_EQ(result.entries.size(), c.options.bias ? 3u : 2u);
  }
}

TEST(Conv2dLayer, ShapesNamesAndInitialSpreadAreTorchs) {
  nn::Conv2d conv(3, 8, 5, {.padding_mode = nn::Padding::kSame});
  EXPECT_EQ(conv.weight().value.shape(), (Shape{8, 3, 5, 5}));
  EXPECT_EQ(conv.output_shape(Shape{4, 3, 28, 28}), (Shape{4, 8, 28, 28}));
  EXPECT_EQ(nn::Conv2d(1, 4, 3, {.stride = {2, 2}}).output_shape(Shape{1, 1, 28, 28}), (Shape{1, 4, 13, 13}));
  // torch: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = 3 * 25, for the weight and the bias.
  const double bound = 1.0 / std::sqrt(75.0);
  double largest = 0.0;
  for (const float v : conv.weight().value.to_vector()) largest = std::max(largest, std::abs(static_cast<double>(v)));
  for (const float v : conv.bias().value.to_vector()) EXPECT_LE(std::abs(v), bound);
  EXPECT_LE(largest, bound);
  EXPECT_GT(largest, 0.9 * bound);  // 600 draws reach near the edge
  nn::Sequential model;
  model.add(nn::Conv2d(1, 4, 3)).add(nn::ReLU()).add(nn::Flatten()).add(nn::Dense(4 * 26 * 26, 10));
  const auto& named = model.parameters().parameters();
  ASSERT_EQ(named.size(), 4u);
  EXPECT_EQ(named[0].name, "0.weight");
  EXPECT_EQ(named[1].name, "0.bias");
  EXPECT_EQ(named[2].name, "3.weight");
  EXPECT_EQ(model.output_shape(Shape{2, 1, 28, 28}), (Shape{2, 10}));
}

TEST(Conv2dLayer, RoundTripsThroughAModelFile) {
  const axon_test::TempDir dir;
  nn::Sequential model;
  model.add(nn::Conv2d(2, 4, {3, 2}, {.stride = {1, 2}, .padding = {1, 0}, .dilation = {2, 1}, .groups = 2}))
      .add(nn::Conv2d(4, 3, 2, {.padding_mode = nn::Padding::kSame, .bias = false}))
      .add(nn::Conv2d(3, 2, 1, {.padding_mode = nn::Padding::kValid}));
  const Tensor x = axon_test::tensor_from({2, 2, 7, 8}, axon_test::random_doubles(224, -1, 1, 3));
  const Tensor expected = model.predict(x);
  nn::save_weights(model, dir / "conv.safetensors");
  nn::Sequential loaded = nn::load_model(dir / "conv.safetensors");
  ASSERT_EQ(loaded.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(loaded.layer(i).config(), model.layer(i).config()) << i;
    EXPECT_EQ(loaded.layer(i).settings(), model.layer(i).settings()) << i;
  }
  EXPECT_EQ(loaded.predict(x).to_vector(), expected.to_vector());
  EXPECT_EQ(model.layer(0).settings(), "2 -> 4, kernel (3, 2), stride (1, 2), padding (1, 0), dilation (2, 1), groups 2");
  EXPECT_EQ(model.layer(1).settings(), "4 -> 3, kernel (2, 2), padding same, no bias");
}

TEST(Conv2dLayer, RefusesBadSettingsAndInputsNamingThem) {
  using axon_test::expect_error;
  expect_error<axon::ValueError>([] { nn::Conv2d(3, 4, 3, {.groups = 2}); }, {"Conv2d(3, 4", "groups (2)"});
  expect_error<axon::ValueError>([] { nn::Conv2d(0, 4, 3); }, {"Conv2d(0, 4", "channel"});
  expect_error<axon::ValueError>([] { nn::Conv2d(1, 4, 2000); }, {"kernel sizes"});
  expect_error<axon::ValueError>([] { nn::Conv2d(1, 4, 3, {.stride = {0, 1}}); }, {"strides", "(0, 1)"});
  expect_error<axon::ValueError>([] { nn::Conv2d(1, 4, 3, {.stride = {2, 2}, .padding_mode = nn::Padding::kSame}); },
                                 {"same", "stride 1"});
  const nn::Conv2d conv(3, 4, 5);
  expect_error<axon::ShapeError>([&] { (void)conv.output_shape(Shape{2, 2, 9, 9}); },
                                 {"Conv2d(3 -> 4, kernel (5, 5))", "[batch, 3, height, width]", "[2, 2, 9, 9]"});
  expect_error<axon::ShapeError>([&] { (void)conv.output_shape(Shape{2, 3, 4, 9}); },
                                 {"Conv2d(3 -> 4", "[2, 3, 4, 9]", "larger than the padded input"});
  expect_error<axon::ValueError>(
      [] {
        (void)nn::make_layer("Conv2d", nn::LayerConfig()
                                           .set("in_channels", 2)
                                           .set("out_channels", 2)
                                           .set("kernel_size", std::vector<std::int64_t>{3})
                                           .set("padding", "full"));
      },
      {"padding", "full"});
  expect_error<axon::ValueError>(
      [] {
        (void)nn::make_layer("Conv2d", nn::LayerConfig()
                                           .set("in_channels", 2)
                                           .set("out_channels", 2)
                                           .set("kernel_size", std::vector<std::int64_t>{3}));
      },
      {"kernel_size", "two integers"});
  // A model file asking for a huge kernel is refused by its parameter count before allocating.
  const auto count = nn::parameter_count("Conv2d", nn::LayerConfig()
                                                       .set("in_channels", 1 << 20)
                                                       .set("out_channels", 1 << 20)
                                                       .set("kernel_size", std::vector<std::int64_t>{1024, 1024}));
  ASSERT_TRUE(count.has_value());
  EXPECT_EQ(*count, (std::int64_t{1} << 60) + (1 << 20));
}

}  // namespace
