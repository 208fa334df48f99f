// The convolution ops against torch.nn.functional.conv2d: tests/fixtures/conv_reference.txt
// (made by tests/fixtures/make_conv_fixtures.py) holds torch's output and its input, weight and
// bias gradients, in float32 and float64, over strides, per-side paddings, dilations, groups,
// 1x1 and 5x5 kernels, with and without a bias. On the CPU (oneDNN) and, with a GPU, on CUDA
// (cuDNN). Then the ops' refusals.
#include "nn/reference_fixture.h"

namespace {

using axon::Conv2dOptions;
using axon::Shape;
using axon::Tensor;

// A case's geometry, from its header's settings.
struct ConvCase {
  const axon_test::FixtureCase* fixture;
  Shape x_shape, w_shape;
  Conv2dOptions options;
  bool bias = true;
};

const std::vector<ConvCase>& cases() {
  static const std::vector<axon_test::FixtureCase> fixtures = axon_test::read_fixture("conv_reference.txt", "conv2d", false);
  static const std::vector<ConvCase> loaded = [] {
    std::vector<ConvCase> all;
    for (const axon_test::FixtureCase& f : fixtures) {
      const auto x = axon_test::integers(f.settings.at("x")), w = axon_test::integers(f.settings.at("weight"));
      const auto stride = axon_test::integers(f.settings.at("stride")), pad = axon_test::integers(f.settings.at("pad"));
      const auto dilation = axon_test::integers(f.settings.at("dilation"));
      all.push_back({&f, Shape(std::span<const std::int64_t>(x)), Shape(std::span<const std::int64_t>(w)),
                     {.stride_h = stride[0], .stride_w = stride[1], .pad_top = pad[0], .pad_left = pad[1],
                      .pad_bottom = pad[2], .pad_right = pad[3], .dilation_h = dilation[0],
                      .dilation_w = dilation[1], .groups = std::stoll(f.settings.at("groups"))},
                     f.settings.at("bias") != "0"});
    }
    return all;
  }();
  return loaded;
}

// Each output is a sum of products in the engine's own order (oneDNN's, cuDNN's, torch's
// differ): within float32 rounding of the float64 truth, as near as torch's float32 or nearer.
::testing::AssertionResult near_truth(const axon_test::FixtureCase& c, const std::string& name, const Tensor& got) {
  return axon_test::near_truth(got.to_vector(), c.floats(name), c.truth(name), 4e-6, 4.0);
}

bool symmetric(const Conv2dOptions& o) { return o.pad_top == o.pad_bottom && o.pad_left == o.pad_right; }

void run_cases(axon::Device device) {
  ASSERT_GE(cases().size(), 10u);
  for (const ConvCase& c : cases()) {
    const axon_test::FixtureCase& f = *c.fixture;
    SCOPED_TRACE(f.line + " on " + device.str());
    const auto on = [&](const std::string& name, const Shape& shape) {
      return Tensor::from_vector(shape, std::span<const float>(f.floats(name)), device);
    };
    const Tensor x = on("x", c.x_shape);
    const Tensor weight = on("weight", c.w_shape);
    const Tensor bias = c.bias ? on("bias", Shape{c.w_shape[0]}) : Tensor();
    const Shape y_shape = axon::conv2d_output_shape(c.x_shape, c.w_shape, c.options);
    ASSERT_EQ(y_shape.numel(), static_cast<std::int64_t>(f.floats("y").size()));
    if (device.is_cuda() && !symmetric(c.options)) {  // not served by cuDNN's legacy API yet
      axon_test::expect_error<axon::BackendError>([&] { (void)axon::conv2d(x, weight, bias, c.options); },
                                                  {"asymmetric padding"});
      continue;
    }
    EXPECT_TRUE(near_truth(f, "y", axon::conv2d(x, weight, bias, c.options))) << "forward";
    const Tensor grad_y = on("grad_y", y_shape);
    const Tensor grad_x = Tensor::empty(c.x_shape, device);
    axon::conv2d_backward_data_out(grad_y, weight, grad_x, c.options);
    EXPECT_TRUE(near_truth(f, "grad_x", grad_x)) << "input gradient";
    const Tensor grad_weight = Tensor::empty(c.w_shape, device);
    const Tensor grad_bias = c.bias ? Tensor::empty({c.w_shape[0]}, device) : Tensor();
    axon::conv2d_backward_weights_out(x, grad_y, grad_weight, grad_bias, c.options);
    EXPECT_TRUE(near_truth(f, "grad_weight", grad_weight)) << "weight gradient";
    if (c.bias) EXPECT_TRUE(near_truth(f, "grad_bias", grad_bias)) << "bias gradient";
  }
}

TEST(ConvReference, MatchesPyTorchOnTheCpu) { run_cases(axon::Device::cpu()); }

TEST(ConvReference, MatchesPyTorchOnCuda) {
  AXON_SKIP_WITHOUT_CUDA();
  run_cases(axon::Device::cuda(0));
}

TEST(Conv2dOps, OutputShapesAreTorchs) {
  EXPECT_EQ(axon::conv2d_output_shape({8, 1, 28, 28}, {32, 1, 3, 3}, {}), (Shape{8, 32, 26, 26}));
  EXPECT_EQ(axon::conv2d_output_shape({8, 1, 28, 28}, {32, 1, 3, 3}, {.pad_top = 1, .pad_left = 1, .pad_bottom = 1,
                                                                      .pad_right = 1}),
            (Shape{8, 32, 28, 28}));
  // floor((9 + 2 - 3) / 2) + 1 = 5 rows; floor((8 - 2) / 3) + 1 = 3 columns
  EXPECT_EQ(axon::conv2d_output_shape({1, 2, 9, 8}, {4, 2, 3, 2}, {.stride_h = 2, .stride_w = 3, .pad_top = 1,
                                                                   .pad_bottom = 1}),
            (Shape{1, 4, 5, 3}));
  EXPECT_EQ(axon::conv2d_output_shape({0, 3, 5, 5}, {2, 3, 3, 3}, {}), (Shape{0, 2, 3, 3}));
  const Tensor empty_batch = axon::conv2d(Tensor::zeros({0, 3, 5, 5}), Tensor::zeros({2, 3, 3, 3}), Tensor());
  EXPECT_EQ(empty_batch.shape(), (Shape{0, 2, 3, 3}));
}

TEST(Conv2dOps, RefuseWhatDoesNotFitNamingIt) {
  using axon_test::expect_error;
  const Tensor x = Tensor::zeros({2, 4, 6, 6});
  const Tensor w = Tensor::zeros({8, 4, 3, 3});
  expect_error<axon::ShapeError>([&] { (void)axon::conv2d(Tensor::zeros({4, 6, 6}), w, Tensor()); },
                                 {"axon::conv2d", "x must be [batch, channels, height, width]", "[4, 6, 6]"});
  expect_error<axon::ShapeError>([&] { (void)axon::conv2d(x, Tensor::zeros({8, 3, 3, 3}), Tensor()); },
                                 {"axon::conv2d", "in_channels / groups", "[8, 3, 3, 3]"});
  expect_error<axon::ShapeError>([&] { (void)axon::conv2d(x, Tensor::zeros({6, 2, 3, 3}), Tensor(), {.groups = 3}); },
                                 {"groups must divide", "groups 3"});
  expect_error<axon::ShapeError>([&] { (void)axon::conv2d(x, Tensor::zeros({8, 4, 7, 7}), Tensor()); },
                                 {"the dilated kernel is larger than the padded input", "[2, 4, 6, 6]"});
  expect_error<axon::ShapeError>(
      [&] { (void)axon::conv2d(x, Tensor::zeros({8, 4, 3, 3}), Tensor(), {.dilation_h = 3}); },
      {"dilated kernel", "dilation (3, 1)"});
  expect_error<axon::ValueError>([&] { (void)axon::conv2d(x, w, Tensor(), {.stride_h = 0}); },
                                 {"axon::conv2d", "strides", "stride (0, 1)"});
  expect_error<axon::ValueError>([&] { (void)axon::conv2d(x, w, Tensor(), {.pad_left = -1}); }, {"paddings"});
  expect_error<axon::ValueError>([&] { (void)axon::conv2d(x, w, Tensor(), {.groups = 1 << 30}); }, {"groups"});
  expect_error<axon::ShapeError>([&] { (void)axon::conv2d(x, w, Tensor::zeros({7})); }, {"bias", "[7]"});
  const Tensor y = Tensor::zeros({2, 8, 4, 4});
  expect_error<axon::ShapeError>([&] { axon::conv2d_out(x, w, Tensor(), Tensor::zeros({2, 8, 5, 5})); },
                                 {"axon::conv2d", "y", "[2, 8, 5, 5]"});
  expect_error<axon::ShapeError>(
      [&] { axon::conv2d_backward_data_out(Tensor::zeros({2, 8, 5, 5}), w, Tensor::zeros({2, 4, 6, 6})); },
      {"axon::conv2d_backward_data", "grad_y"});
  expect_error<axon::ShapeError>(
      [&] { axon::conv2d_backward_weights_out(x, y, Tensor::zeros({8, 4, 3, 3}), Tensor::zeros({4})); },
      {"axon::conv2d_backward_weights", "bias"});
  expect_error<axon::DTypeError>([&] { (void)axon::conv2d(Tensor::zeros({2, 4, 6, 6}, axon::Device::cpu(), axon::DType::kInt32), w, Tensor()); },
                                 {"axon::conv2d", "int32"});
}

}  // namespace
