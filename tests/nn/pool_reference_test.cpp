// The pooling layers against torch.nn.functional's: tests/fixtures/pool_reference.txt (made by
// tests/fixtures/make_pool_fixtures.py) holds torch's outputs, max pooling's indices and the input
// gradients over strides, paddings, dilation, ceil_mode, count_include_pad, overlapping
// windows, ties and NaN. Each layer is built through the registry from torch's argument names,
// on the CPU and, with a GPU, on CUDA; then gradient checks, a model file and refusals.
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "test_util.h"

namespace {

using axon::Shape;
using axon::Tensor;
namespace nn = axon::nn;

struct PoolCase {
  std::string line, kind;
  Shape x_shape;
  std::map<std::string, std::vector<std::int64_t>> settings;
  std::map<std::string, std::vector<float>> f32;
  std::map<std::string, std::vector<double>> f64;
  std::vector<std::int32_t> indices;
};

std::vector<std::int64_t> integers(const std::string& text) {
  std::vector<std::int64_t> values;
  std::istringstream in(text);
  for (std::string v; std::getline(in, v, ',');) values.push_back(std::stoll(v));
  return values;
}

const std::vector<PoolCase>& cases() {
  static const std::vector<PoolCase> loaded = [] {
    std::vector<PoolCase> all;
    std::ifstream file(AXON_TEST_FIXTURE_DIR "/pool_reference.txt");
    EXPECT_TRUE(file.good()) << "cannot open " AXON_TEST_FIXTURE_DIR "/pool_reference.txt";
    std::string line;
    while (std::getline(file, line)) {
      std::istringstream in(line);
      std::string record;
      in >> record;
      if (record == "pool") {
        PoolCase c;
        c.line = line;
        in >> c.kind;
        for (std::string token; in >> token;) {
          const auto eq = token.find('=');
          c.settings[token.substr(0, eq)] = integers(token.substr(eq + 1));
        }
        c.x_shape = Shape(std::span<const std::int64_t>(c.settings["x"]));
        all.push_back(std::move(c));
      } else if (all.empty() || record.empty() || record[0] == '#') {
        continue;
      } else if (record == "indices") {
        for (std::int32_t v = 0; in >> v;) all.back().indices.push_back(v);
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

// The case's layer as a model file would rebuild it, from torch's argument names.
std::unique_ptr<nn::Layer> layer_of(const PoolCase& c) {
  const auto& s = c.settings;
  if (c.kind == "adaptive") {
    return nn::make_layer("AdaptiveAvgPool2d", nn::LayerConfig().set("output_size", s.at("kernel")));
  }
  nn::LayerConfig config;
  config.set("kernel_size", s.at("kernel")).set("stride", s.at("stride")).set("padding", s.at("pad"));
  config.set("ceil_mode", s.at("ceil")[0] != 0);
  if (c.kind == "max") {
    config.set("dilation", s.at("dilation"));
    return nn::make_layer("MaxPool2d", config);
  }
  config.set("count_include_pad", s.at("include_pad")[0] != 0);
  return nn::make_layer("AvgPool2d", config);
}

// Within float32 rounding of the float64 truth, as near as torch's float32 or nearer; NaN
// where torch has NaN.
::testing::AssertionResult near_truth(const std::vector<float>& got, const std::vector<float>& torch32,
                                      const std::vector<double>& truth) {
  if (got.size() != truth.size() || got.size() != torch32.size()) {
    return ::testing::AssertionFailure() << "sizes " << got.size() << ", " << torch32.size() << ", " << truth.size();
  }
  double worst_torch = 0.0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (!std::isnan(truth[i])) worst_torch = std::max(worst_torch, std::abs(torch32[i] - truth[i]));
  }
  const double bound = std::max(1e-6, 4.0 * worst_torch);
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(truth[i]) != std::isnan(got[i]) || std::abs(got[i] - truth[i]) > bound) {
      return ::testing::AssertionFailure() << "element " << i << ": got " << got[i] << ", float64 " << truth[i]
                                           << ", torch " << torch32[i] << " (bound " << bound << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

void run_cases(axon::Device device) {
  ASSERT_GE(cases().size(), 11u);
  for (const PoolCase& c : cases()) {
    SCOPED_TRACE(c.line + " on " + device.str());
    nn::Sequential model;
    model.add(layer_of(c));
    model.to(device);
    const Tensor x = Tensor::from_vector(c.x_shape, std::span<const float>(c.f32.at("x")), device);
    const Tensor y = model.forward(x);
    EXPECT_TRUE(near_truth(y.to_vector(), c.f32.at("y"), c.f64.at("y64"))) << "forward";
    if (c.kind == "max") {  // the maximum itself: exactly torch's value, at torch's index
      const auto got = y.to_vector();
      for (std::size_t i = 0; i < got.size(); ++i) {
        const float want = c.f32.at("y")[i];
        EXPECT_TRUE(got[i] == want || (std::isnan(got[i]) && std::isnan(want))) << i;
      }
      const Tensor indices = Tensor::empty(y.shape(), device, axon::DType::kInt32);
      const Tensor y2 = Tensor::empty(y.shape(), device);
      axon::max_pool2d_out(x, y2, indices, dynamic_cast<const nn::MaxPool2d&>(model.layer(0)).options());
      EXPECT_EQ(indices.to_int_vector(), c.indices);
    }
    Tensor grad_y = Tensor::from_vector(y.shape(), std::span<const float>(c.f32.at("grad_y")), device);
    const Tensor grad_x = model.backward(grad_y, /*want_input_grad=*/true);
    EXPECT_TRUE(near_truth(grad_x.to_vector(), c.f32.at("grad_x"), c.f64.at("grad_x64"))) << "input gradient";
  }
}

TEST(PoolReference, MatchesPyTorchOnTheCpu) { run_cases(axon::Device::cpu()); }

TEST(PoolReference, MatchesPyTorchOnCuda) {
  if (!axon_test::have_cuda()) {
    if (axon_test::cuda_required()) FAIL() << "AXON_REQUIRE_CUDA=1 but no CUDA device";
    GTEST_SKIP() << "no CUDA device";
  }
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
