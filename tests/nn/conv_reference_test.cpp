// The convolution ops against torch.nn.functional.conv2d: tests/fixtures/conv_reference.txt
// (made by tests/fixtures/make_conv_fixtures.py) holds torch's output and its input, weight and
// bias gradients, in float32 and float64, over strides, per-side paddings, dilations, groups,
// 1x1 and 5x5 kernels, with and without a bias. On the CPU (oneDNN) and, with a GPU, on CUDA
// (cuDNN). Then the ops' refusals.
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "test_util.h"

namespace {

using axon::Conv2dOptions;
using axon::Shape;
using axon::Tensor;

struct ConvCase {
  std::string line;
  Shape x_shape, w_shape;
  Conv2dOptions options;
  bool bias = true;
  std::map<std::string, std::vector<float>> f32;   // x, weight, bias, grad_y, y, grad_x, ...
  std::map<std::string, std::vector<double>> f64;  // y64, grad_x64, ...
};

std::vector<std::int64_t> integers(const std::string& text) {
  std::vector<std::int64_t> values;
  std::istringstream in(text);
  for (std::string v; std::getline(in, v, ',');) values.push_back(std::stoll(v));
  return values;
}

const std::vector<ConvCase>& cases() {
  static const std::vector<ConvCase> loaded = [] {
    std::vector<ConvCase> all;
    std::ifstream file(AXON_TEST_FIXTURE_DIR "/conv_reference.txt");
    EXPECT_TRUE(file.good()) << "cannot open " AXON_TEST_FIXTURE_DIR "/conv_reference.txt";
    std::string line;
    while (std::getline(file, line)) {
      std::istringstream in(line);
      std::string record;
      in >> record;
      if (record == "conv2d") {
        ConvCase c;
        c.line = line;
        std::map<std::string, std::vector<std::int64_t>> settings;
        for (std::string token; in >> token;) {
          const auto eq = token.find('=');
          settings[token.substr(0, eq)] = integers(token.substr(eq + 1));
        }
        c.x_shape = Shape(std::span<const std::int64_t>(settings["x"]));
        c.w_shape = Shape(std::span<const std::int64_t>(settings["weight"]));
        const auto& stride = settings["stride"];
        const auto& pad = settings["pad"];
        const auto& dilation = settings["dilation"];
        c.options = {.stride_h = stride[0], .stride_w = stride[1], .pad_top = pad[0], .pad_left = pad[1],
                     .pad_bottom = pad[2], .pad_right = pad[3], .dilation_h = dilation[0],
                     .dilation_w = dilation[1], .groups = settings["groups"][0]};
        c.bias = settings["bias"][0] != 0;
        all.push_back(std::move(c));
      } else if (!all.empty() && record.size() > 2 && record.ends_with("64")) {
        all.back().f64[record] = axon_test::read_doubles(in);
      } else if (!all.empty() && !record.empty() && record[0] != '#') {
        all.back().f32[record] = axon_test::read_floats(in);
      }
    }
    return all;
  }();
  return loaded;
}

// Each output is a sum of products in the engine's own order (oneDNN's, cuDNN's, torch's
// differ): within float32 rounding of the float64 truth, scaled by the terms' size (inputs in
// [-1, 1], so a few units at most), as near as torch's own float32 is, or nearer.
::testing::AssertionResult near_truth(const std::vector<float>& got, const std::vector<float>& torch32,
                                      const std::vector<double>& truth) {
  if (got.size() != truth.size() || got.size() != torch32.size()) {
    return ::testing::AssertionFailure() << "sizes " << got.size() << ", " << torch32.size() << ", " << truth.size();
  }
  double worst_torch = 0.0;
  for (std::size_t i = 0; i < got.size(); ++i) worst_torch = std::max(worst_torch, std::abs(torch32[i] - truth[i]));
  const double bound = std::max(4e-6, 4.0 * worst_torch);
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (!(std::abs(got[i] - truth[i]) <= bound)) {
      return ::testing::AssertionFailure() << "element " << i << ": got " << got[i] << ", float64 " << truth[i]
                                           << ", torch " << torch32[i] << " (bound " << bound << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

bool symmetric(const Conv2dOptions& o) { return o.pad_top == o.pad_bottom && o.pad_left == o.pad_right; }

void run_cases(axon::Device device) {
  ASSERT_GE(cases().size(), 10u);
  for (const ConvCase& c : cases()) {
    SCOPED_TRACE(c.line + " on " + device.str());
    const auto on = [&](const std::string& name, const Shape& shape) {
      return Tensor::from_vector(shape, std::span<const float>(c.f32.at(name)), device);
    };
    const Tensor x = on("x", c.x_shape);
    const Tensor weight = on("weight", c.w_shape);
    const Tensor bias = c.bias ? on("bias", Shape{c.w_shape[0]}) : Tensor();
    const Shape y_shape = axon::conv2d_output_shape(c.x_shape, c.w_shape, c.options);
    ASSERT_EQ(y_shape.numel(), static_cast<std::int64_t>(c.f32.at("y").size()));
    if (device.is_cuda() && !symmetric(c.options)) {  // not served by cuDNN's legacy API yet
      axon_test::expect_error<axon::BackendError>([&] { (void)axon::conv2d(x, weight, bias, c.options); },
                                                  {"asymmetric padding"});
      continue;
    }
    const Tensor y = axon::conv2d(x, weight, bias, c.options);
    EXPECT_TRUE(near_truth(y.to_vector(), c.f32.at("y"), c.f64.at("y64"))) << "forward";
    const Tensor grad_y = on("grad_y", y_shape);
    const Tensor grad_x = Tensor::empty(c.x_shape, device);
    axon::conv2d_backward_data_out(grad_y, weight, grad_x, c.options);
    EXPECT_TRUE(near_truth(grad_x.to_vector(), c.f32.at("grad_x"), c.f64.at("grad_x64"))) << "input gradient";
    const Tensor grad_weight = Tensor::empty(c.w_shape, device);
    const Tensor grad_bias = c.bias ? Tensor::empty({c.w_shape[0]}, device) : Tensor();
    axon::conv2d_backward_weights_out(x, grad_y, grad_weight, grad_bias, c.options);
    EXPECT_TRUE(near_truth(grad_weight.to_vector(), c.f32.at("grad_weight"), c.f64.at("grad_weight64")))
        << "weight gradient";
    if (c.bias) {
      EXPECT_TRUE(near_truth(grad_bias.to_vector(), c.f32.at("grad_bias"), c.f64.at("grad_bias64")))
          << "bias gradient";
    }
  }
}

TEST(ConvReference, MatchesPyTorchOnTheCpu) { run_cases(axon::Device::cpu()); }

TEST(ConvReference, MatchesPyTorchOnCuda) {
  if (!axon_test::have_cuda()) {
    if (axon_test::cuda_required()) FAIL() << "AXON_REQUIRE_CUDA=1 but no CUDA device";
    GTEST_SKIP() << "no CUDA device";
  }
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
