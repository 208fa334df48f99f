// BatchNorm1d / BatchNorm2d against torch.nn's: tests/fixtures/batch_norm_reference.txt (made by
// tests/fixtures/make_batch_norm_fixtures.py) holds several training steps' outputs, the running
// statistics and num_batches_tracked after them, the last step's gradients and an evaluation
// forward, for momentum, the cumulative average, no affine, batch statistics only. Each layer is
// built through the registry from torch's names, on the CPU and, with a GPU, on CUDA; then a
// gradient check, state_dicts both ways, exact resume and refusals.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "test_util.h"

namespace {

using axon::Shape;
using axon::Tensor;
namespace nn = axon::nn;

struct BnCase {
  std::string line;
  std::map<std::string, std::string> settings;
  Shape x_shape;
  std::map<std::string, std::vector<float>> f32;
  std::map<std::string, std::vector<double>> f64;
  std::int64_t batches = -1;
};

const std::vector<BnCase>& cases() {
  static const std::vector<BnCase> loaded = [] {
    std::vector<BnCase> all;
    std::ifstream file(AXON_TEST_FIXTURE_DIR "/batch_norm_reference.txt");
    EXPECT_TRUE(file.good()) << "cannot open " AXON_TEST_FIXTURE_DIR "/batch_norm_reference.txt";
    std::string line;
    while (std::getline(file, line)) {
      std::istringstream in(line);
      std::string record;
      in >> record;
      if (record == "batch_norm") {
        BnCase c;
        c.line = line;
        for (std::string token; in >> token;) {
          const auto eq = token.find('=');
          c.settings[token.substr(0, eq)] = token.substr(eq + 1);
        }
        std::vector<std::int64_t> dims;
        std::istringstream shape(c.settings["x"]);
        for (std::string d; std::getline(shape, d, ',');) dims.push_back(std::stoll(d));
        c.x_shape = Shape(std::span<const std::int64_t>(dims));
        all.push_back(std::move(c));
      } else if (all.empty() || record.empty() || record[0] == '#') {
        continue;
      } else if (record == "num_batches_tracked") {
        in >> all.back().batches;
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

std::unique_ptr<nn::Layer> layer_of(const BnCase& c) {
  nn::LayerConfig config;
  config.set("num_features", c.x_shape[1]).set("eps", std::stod(c.settings.at("eps")));
  if (c.settings.at("momentum") != "none") config.set("momentum", std::stod(c.settings.at("momentum")));
  config.set("affine", c.settings.at("affine") == "1").set("track_running_stats", c.settings.at("track") == "1");
  return nn::make_layer(c.settings.at("dims") == "1" ? "BatchNorm1d" : "BatchNorm2d", config);
}

// Within float32 rounding of the float64 truth, as near as torch's float32 or nearer.
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
  ASSERT_GE(cases().size(), 7u);
  for (const BnCase& c : cases()) {
    SCOPED_TRACE(c.line + " on " + device.str());
    nn::Sequential model;
    model.add(layer_of(c));
    const bool affine = c.settings.at("affine") == "1", track = c.settings.at("track") == "1";
    if (affine) {
      auto params = model.layer(0).parameters();
      params[0]->value.copy_from(Tensor::from_vector({c.x_shape[1]}, std::span<const float>(c.f32.at("weight"))));
      params[1]->value.copy_from(Tensor::from_vector({c.x_shape[1]}, std::span<const float>(c.f32.at("bias"))));
    }
    model.to(device);
    const int steps = std::stoi(c.settings.at("steps"));
    const auto on = [&](const std::string& name) {
      return Tensor::from_vector(c.x_shape, std::span<const float>(c.f32.at(name)), device);
    };
    for (int k = 0; k < steps; ++k) {
      const std::string y = "y" + std::to_string(k);
      const Tensor out = model.forward(on("x" + std::to_string(k)));
      EXPECT_TRUE(near_truth(out.to_vector(), c.f32.at(y), c.f64.at(y + "64"))) << "training step " << k;
    }
    Tensor grad_y = on("grad_y");
    const Tensor grad_x = model.backward(grad_y, /*want_input_grad=*/true);
    EXPECT_TRUE(near_truth(grad_x.to_vector(), c.f32.at("grad_x"), c.f64.at("grad_x64"))) << "input gradient";
    if (affine) {
      auto params = model.layer(0).parameters();
      EXPECT_TRUE(near_truth(params[0]->grad.to_vector(), c.f32.at("grad_weight"), c.f64.at("grad_weight64")));
      EXPECT_TRUE(near_truth(params[1]->grad.to_vector(), c.f32.at("grad_bias"), c.f64.at("grad_bias64")));
    }
    if (track) {
      const auto& buffers = model.buffers();
      ASSERT_EQ(buffers.size(), 3u);
      EXPECT_EQ(buffers[0].name, "0.running_mean");
      EXPECT_TRUE(near_truth(buffers[0].buffer->value.to_vector(), c.f32.at("running_mean"), c.f64.at("running_mean64")));
      EXPECT_TRUE(near_truth(buffers[1].buffer->value.to_vector(), c.f32.at("running_var"), c.f64.at("running_var64")));
      EXPECT_EQ(buffers[2].buffer->value.to_int_vector(), std::vector<std::int32_t>{static_cast<std::int32_t>(c.batches)});
    } else {
      EXPECT_TRUE(model.buffers().empty());
    }
    model.eval();
    const Tensor eval_y = model.forward(on("eval_x"));
    EXPECT_TRUE(near_truth(eval_y.to_vector(), c.f32.at("eval_y"), c.f64.at("eval_y64"))) << "evaluation";
  }
}

TEST(BatchNormReference, MatchesPyTorchOnTheCpu) { run_cases(axon::Device::cpu()); }

TEST(BatchNormReference, MatchesPyTorchOnCuda) {
  if (!axon_test::have_cuda()) {
    if (axon_test::cuda_required()) FAIL() << "AXON_REQUIRE_CUDA=1 but no CUDA device";
    GTEST_SKIP() << "no CUDA device";
  }
  run_cases(axon::Device::cuda(0));
}

TEST(BatchNormLayer, PassesTheGradientCheck) {
  for (const bool affine : {true, false}) {
    SCOPED_TRACE(affine ? "affine" : "no affine");
    nn::BatchNorm bn = nn::BatchNorm2d(3, {.affine = affine});
    if (affine) {
      bn.parameters()[0]->value.copy_from(axon_test::tensor_from({3}, std::vector<double>{0.5, 1.5, -1.0}));
      bn.parameters()[1]->value.copy_from(axon_test::tensor_from({3}, std::vector<double>{0.1, -0.2, 0.3}));
    }
    const Tensor x = axon_test::tensor_from({3, 3, 2, 3}, axon_test::random_doubles(54, -2, 2, 17));
    const nn::GradientCheckResult result = nn::check_gradients(bn, x);
    EXPECT_TRUE(result.passed()) << result.str();
  }
}

TEST(BatchNormLayer, StateDictsMoveBothWaysWithTheirBuffers) {
  const axon_test::TempDir dir;
  nn::Sequential model;
  model.add(nn::Conv2d(1, 2, 3)).add(nn::BatchNorm2d(2, {.momentum = std::nullopt})).add(nn::ReLU());
  const Tensor x = axon_test::tensor_from({4, 1, 5, 5}, axon_test::random_doubles(100, -1, 1, 3));
  for (int step = 0; step < 3; ++step) (void)model.forward(x);  // running statistics move
  nn::save_weights(model, dir / "bn.safetensors");
  const axon::io::Safetensors file = axon::io::load_safetensors(dir / "bn.safetensors");
  std::vector<std::string> names;
  for (const auto& t : file.tensors) names.push_back(t.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"0.bias", "0.weight", "1.bias", "1.num_batches_tracked", "1.running_mean",
                                             "1.running_var", "1.weight"}));
  nn::Sequential loaded = nn::load_model(dir / "bn.safetensors");
  model.eval();
  loaded.eval();
  EXPECT_EQ(loaded.forward(x).to_vector(), model.forward(x).to_vector());
  EXPECT_EQ(dynamic_cast<const nn::BatchNorm&>(loaded.layer(1)).num_batches_tracked(), 3);
  // torch stores num_batches_tracked as int64: such a file loads (converted), a count past
  // int32 is refused naming the tensor.
  std::vector<axon::io::NamedTensor> tensors = file.tensors;
  const std::string header = R"({"x":{"dtype":"I64","shape":[],"data_offsets":[0,8]}})";
  std::string bytes(8, '\0');
  const std::uint64_t length = header.size();
  std::memcpy(bytes.data(), &length, 8);
  bytes += header;
  const std::int64_t big = std::int64_t{1} << 40, small = 7;
  std::string fits = bytes, too_big = bytes;
  fits.append(reinterpret_cast<const char*>(&small), 8);
  too_big.append(reinterpret_cast<const char*>(&big), 8);
  EXPECT_EQ(axon::io::load_safetensors(dir.write("fits.safetensors", fits)).at("x").to_int_vector(),
            std::vector<std::int32_t>{7});
  axon_test::expect_error<axon::FormatError>(
      [&] { (void)axon::io::load_safetensors(dir.write("big.safetensors", too_big)); },
      {"big.safetensors", "'x'", "1099511627776", "int32"});
}

TEST(BatchNormLayer, RefusesBadSettingsAndShapes) {
  using axon_test::expect_error;
  expect_error<axon::ValueError>([] { nn::BatchNorm2d(0); }, {"BatchNorm2d", "num_features"});
  expect_error<axon::ValueError>([] { nn::BatchNorm1d(3, {.momentum = 1.5}); }, {"BatchNorm1d", "momentum"});
  expect_error<axon::ValueError>([] { nn::BatchNorm1d(3, {.eps = -1.0}); }, {"BatchNorm1d", "eps"});
  expect_error<axon::ShapeError>([] { (void)nn::BatchNorm2d(3).output_shape(Shape{2, 3, 4}); },
                                 {"BatchNorm2d", "[batch, 3, height, width]", "[2, 3, 4]"});
  expect_error<axon::ShapeError>([] { (void)nn::BatchNorm1d(3).output_shape(Shape{2, 4}); }, {"BatchNorm1d", "[2, 4]"});
  nn::Sequential model;
  model.add(nn::BatchNorm1d(3));
  expect_error<axon::ValueError>([&] { (void)model.forward(Tensor::zeros({1, 3})); },
                                 {"more than 1 value per channel"});
  expect_error<axon::ValueError>(
      [] {
        axon::batch_norm_train_out(Tensor::zeros({4, 2}), Tensor(), Tensor(), Tensor::zeros({4, 2}), Tensor::zeros({2}),
                                   Tensor::zeros({2}), Tensor::zeros({2}), Tensor(), 0.1f, 1e-5f);
      },
      {"running_mean and running_var"});
}

}  // namespace
