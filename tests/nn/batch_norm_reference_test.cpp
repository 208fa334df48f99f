// BatchNorm1d / BatchNorm2d against torch.nn's: tests/fixtures/batch_norm_reference.txt (made by
// tests/fixtures/make_batch_norm_fixtures.py) holds several training steps' outputs, the running
// statistics and num_batches_tracked after them, the last step's gradients and an evaluation
// forward, for momentum, the cumulative average, no affine, batch statistics only. Each layer is
// built through the registry from torch's names, on the CPU and, with a GPU, on CUDA; then a
// gradient check, state_dicts both ways, exact resume and refusals.
#include <algorithm>
#include <cstring>

#include "nn/reference_fixture.h"

namespace {

using axon::Shape;
using axon::Tensor;
namespace nn = axon::nn;

const std::vector<axon_test::FixtureCase>& cases() {
  static const std::vector<axon_test::FixtureCase> loaded =
      axon_test::read_fixture("batch_norm_reference.txt", "batch_norm", false);
  return loaded;
}

Shape x_shape_of(const axon_test::FixtureCase& c) {
  const auto dims = axon_test::integers(c.settings.at("x"));
  return Shape(std::span<const std::int64_t>(dims));
}

std::unique_ptr<nn::Layer> layer_of(const axon_test::FixtureCase& c) {
  nn::LayerConfig config;
  config.set("num_features", x_shape_of(c)[1]).set("eps", std::stod(c.settings.at("eps")));
  if (c.settings.at("momentum") != "none") config.set("momentum", std::stod(c.settings.at("momentum")));
  config.set("affine", c.settings.at("affine") == "1").set("track_running_stats", c.settings.at("track") == "1");
  return nn::make_layer(c.settings.at("dims") == "1" ? "BatchNorm1d" : "BatchNorm2d", config);
}

::testing::AssertionResult near_truth(const axon_test::FixtureCase& c, const std::string& name, const Tensor& got) {
  return axon_test::near_truth(got.to_vector(), c.floats(name), c.truth(name), 2e-6, 2.0);
}

void run_cases(axon::Device device) {
  ASSERT_GE(cases().size(), 7u);
  for (const axon_test::FixtureCase& c : cases()) {
    SCOPED_TRACE(c.line + " on " + device.str());
    const Shape x_shape = x_shape_of(c);
    nn::Sequential model;
    model.add(layer_of(c));
    const bool affine = c.settings.at("affine") == "1", track = c.settings.at("track") == "1";
    if (affine) {
      auto params = model.layer(0).parameters();
      params[0]->value.copy_from(Tensor::from_vector({x_shape[1]}, std::span<const float>(c.floats("weight"))));
      params[1]->value.copy_from(Tensor::from_vector({x_shape[1]}, std::span<const float>(c.floats("bias"))));
    }
    model.to(device);
    const auto on = [&](const std::string& name) {
      return Tensor::from_vector(x_shape, std::span<const float>(c.floats(name)), device);
    };
    const int steps = std::stoi(c.settings.at("steps"));
    for (int k = 0; k < steps; ++k) {
      EXPECT_TRUE(near_truth(c, "y" + std::to_string(k), model.forward(on("x" + std::to_string(k))))) << "step " << k;
    }
    Tensor grad_y = on("grad_y");
    EXPECT_TRUE(near_truth(c, "grad_x", model.backward(grad_y, /*want_input_grad=*/true))) << "input gradient";
    if (affine) {
      auto params = model.layer(0).parameters();
      EXPECT_TRUE(near_truth(c, "grad_weight", params[0]->grad));
      EXPECT_TRUE(near_truth(c, "grad_bias", params[1]->grad));
    }
    if (track) {
      const auto& buffers = model.buffers();
      ASSERT_EQ(buffers.size(), 3u);
      EXPECT_EQ(buffers[0].name, "0.running_mean");
      EXPECT_TRUE(near_truth(c, "running_mean", buffers[0].buffer->value));
      EXPECT_TRUE(near_truth(c, "running_var", buffers[1].buffer->value));
      const float batches = c.floats("num_batches_tracked").at(0);
      EXPECT_EQ(buffers[2].buffer->value.to_int_vector(), std::vector<std::int32_t>{static_cast<std::int32_t>(batches)});
    } else {
      EXPECT_TRUE(model.buffers().empty());
    }
    model.eval();
    EXPECT_TRUE(near_truth(c, "eval_y", model.forward(on("eval_x")))) << "evaluation";
  }
}

TEST(BatchNormReference, MatchesPyTorchOnTheCpu) { run_cases(axon::Device::cpu()); }

TEST(BatchNormReference, MatchesPyTorchOnCuda) {
  AXON_SKIP_WITHOUT_CUDA();
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
  EXPECT_EQ(dynamic_cast<const nn::BatchNorm&>(model.layer(0)).num_batches_tracked(), 0);  // refused: not counted
  expect_error<axon::ValueError>(
      [] {
        axon::batch_norm_train_out(Tensor::zeros({4, 2}), Tensor(), Tensor(), Tensor::zeros({4, 2}), Tensor::zeros({2}),
                                   Tensor::zeros({2}), Tensor::zeros({2}), Tensor(), 0.1f, 1e-5f);
      },
      {"running_mean and running_var"});
}

}  // namespace
