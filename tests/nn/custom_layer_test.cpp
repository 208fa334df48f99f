// A layer written by a user against the Layer interface: a residual block y = x + fc2(relu(fc1(x))),
// made of two Dense layers it owns and names as children. It plugs into a Sequential, gets its
// parameter names from the kit as PyTorch would name them ("1.fc1.weight"), describes itself,
// reloads through the registry, trains, and passes the gradient check.
#include <optional>

#include "test_util.h"

namespace {

using axon::Activation;
using axon::Device;
using axon::Shape;
using axon::Tensor;
namespace nn = axon::nn;

class ResidualBlock final : public nn::Layer {
 public:
  ResidualBlock(std::int64_t features, std::int64_t hidden, axon::Generator& generator = axon::default_generator())
      : fc1_(features, hidden, nn::DenseOptions{.activation = Activation::kRelu, .generator = &generator}),
        fc2_(hidden, features, nn::DenseOptions{.generator = &generator}) {}

  std::string type() const override { return "ResidualBlock"; }
  nn::LayerConfig config() const override {
    return nn::LayerConfig().set("features", fc1_.in_features()).set("hidden", fc1_.out_features());
  }
  Shape output_shape(const Shape& input) const override { return fc2_.output_shape(fc1_.output_shape(input)); }
  std::optional<Shape> sample_input() const override { return fc1_.sample_input(); }

  // Its parameters are its children's: the kit names them "fc1.weight", ... (no parameters()).
  std::vector<std::pair<std::string, nn::Layer*>> children() override { return {{"fc1", &fc1_}, {"fc2", &fc2_}}; }

  void reserve(const Shape& input, Device device) override {
    fc1_.reserve(input, device);
    const Shape hidden_shape = fc1_.output_shape(input);
    fc2_.reserve(hidden_shape, device);
    if (!hidden_.defined() || hidden_.dim(0) < input[0] || hidden_.device() != device) {
      hidden_ = Tensor::empty(hidden_shape, device);
      grad_hidden_ = Tensor::empty(hidden_shape, device);
    }
  }

  void forward(const Tensor& x, const Tensor& y, const nn::StepContext& context) override {
    const Tensor h = hidden_.rows(0, x.dim(0));
    fc1_.forward(x, h, context);
    fc2_.forward(h, y, context);
    axon::binary_out(axon::BinaryOp::kAdd, y, x, y);  // the skip connection
  }

  void backward(const Tensor& x, const Tensor& y, const Tensor& grad_y, const Tensor& grad_x) override {
    const std::int64_t rows = x.dim(0);
    const Tensor h = hidden_.rows(0, rows), grad_h = grad_hidden_.rows(0, rows);
    // dL/dx = grad_y (through the skip) + the branch's gradient. fc2 may overwrite grad_y: copy
    // it first into grad_x when the input gradient is wanted.
    if (grad_x.defined()) grad_x.copy_from(grad_y);
    fc2_.backward(h, y, grad_y, grad_h);
    if (grad_x.defined()) {
      const Tensor branch = Tensor::empty(x.shape(), x.device());  // a test layer may allocate
      fc1_.backward(x, h, grad_h, branch);
      axon::binary_out(axon::BinaryOp::kAdd, grad_x, branch, grad_x);
    } else {
      fc1_.backward(x, h, grad_h, Tensor());
    }
  }

 private:
  nn::Dense fc1_, fc2_;
  Tensor hidden_, grad_hidden_;
};

TEST(CustomLayer, AResidualBlockPassesTheGradientCheck) {
  axon::Generator generator(5);
  ResidualBlock block(6, 10, generator);
  const Tensor x = axon_test::tensor_from({4, 6}, axon_test::random_doubles(24, -1, 1, 6));
  const nn::GradientCheckResult result = nn::check_gradients(block, x);
  EXPECT_TRUE(result.passed()) << result.str();
  EXPECT_EQ(result.entries.size(), 5u);  // input, fc1.weight, fc1.bias, fc2.weight, fc2.bias
}

// The check can fail: the same block with the skip connection's gradient forgotten.
class ForgetfulBlock final : public nn::Layer {
 public:
  explicit ForgetfulBlock(axon::Generator& generator) : inner_(6, 10, generator) {}
  std::string type() const override { return "ForgetfulBlock"; }
  Shape output_shape(const Shape& input) const override { return inner_.output_shape(input); }
  std::vector<std::pair<std::string, nn::Layer*>> children() override { return inner_.children(); }
  void reserve(const Shape& input, Device device) override { inner_.reserve(input, device); }
  void forward(const Tensor& x, const Tensor& y, const nn::StepContext& context) override {
    inner_.forward(x, y, context);
  }
  void backward(const Tensor& x, const Tensor& y, const Tensor& grad_y, const Tensor& grad_x) override {
    inner_.backward(x, y, grad_y, grad_x);
    if (grad_x.defined()) axon::binary_out(axon::BinaryOp::kSub, grad_x, grad_y, grad_x);  // drops the skip
  }

 private:
  ResidualBlock inner_;
};

TEST(CustomLayer, AWrongBackwardFailsTheGradientCheck) {
  axon::Generator generator(5);
  ForgetfulBlock block(generator);
  const nn::GradientCheckResult result =
      nn::check_gradients(block, axon_test::tensor_from({4, 6}, axon_test::random_doubles(24, -1, 1, 6)));
  EXPECT_FALSE(result.passed()) << result.str();
  EXPECT_EQ(result.worst_name, "input");
  EXPECT_GT(result.worst_error, 0.3);
}

TEST(CustomLayer, ItTrainsInsideASequentialWithPyTorchNames) {
  axon::Generator generator(7);
  nn::Sequential model;
  model.add(nn::Dense(3, 6, nn::DenseOptions{.generator = &generator}))
      .add(ResidualBlock(6, 12, generator))
      .add(nn::Dense(6, 1, nn::DenseOptions{.generator = &generator}));
  std::vector<std::string> names;
  for (const nn::NamedParameter& p : model.parameters().parameters()) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"0.weight", "0.bias", "1.fc1.weight", "1.fc1.bias", "1.fc2.weight",
                                             "1.fc2.bias", "2.weight", "2.bias"}));
  EXPECT_TRUE(nn::check_gradients(model, Tensor::uniform({5, 3}, -1, 1)).passed());

  // Learn y = x0 - 2 x1 + 0.5 x2.
  const Tensor x = Tensor::uniform({64, 3}, -1, 1, Device::cpu(), generator);
  std::vector<float> targets;
  for (std::int64_t r = 0; r < 64; ++r) {
    const auto row = x.rows(r, r + 1).to_vector();
    targets.push_back(row[0] - 2 * row[1] + 0.5f * row[2]);
  }
  const Tensor t = Tensor::from_vector({64, 1}, std::span<const float>(targets));
  axon::optim::Adam adam(model.parameters(), {.lr = 0.01});
  nn::Loss mse = nn::MSELoss();
  for (int step = 0; step < 400; ++step) {
    mse.compute(model.forward(x), t);
    model.backward(mse.grad());
    adam.step();
  }
  EXPECT_LT(mse.value().item(), 1e-3f);
}

// One call registers the type; load_model then rebuilds a model holding it, with its settings,
// and the weights land where they were.
TEST(CustomLayer, ARegisteredLayerRoundTripsThroughAModelFile) {
  static const bool registered = [] {
    nn::register_layer("ResidualBlock", [](const nn::LayerConfig& c) {
      return std::make_unique<ResidualBlock>(c.integer("features", 1, 1 << 20), c.integer("hidden", 1, 1 << 20));
    });
    return true;
  }();
  ASSERT_TRUE(registered && nn::is_registered("ResidualBlock"));
  axon_test::expect_error<axon::ValueError>([] { nn::register_layer("ResidualBlock", [](const nn::LayerConfig&) {
                                                   return std::unique_ptr<nn::Layer>();
                                                 }); },
                                            {"'ResidualBlock' is registered already"});
  axon::Generator generator(8);
  nn::Sequential model;
  model.add(nn::Dense(3, 6, nn::DenseOptions{.generator = &generator}))
      .add(ResidualBlock(6, 9, generator))
      .add(nn::Dense(6, 2, nn::DenseOptions{.generator = &generator}));
  const axon_test::TempDir dir;
  nn::save_weights(model, dir / "residual.safetensors");
  nn::Sequential loaded = nn::load_model(dir / "residual.safetensors");
  ASSERT_EQ(loaded.size(), 3u);
  EXPECT_EQ(loaded.layer(1).type(), "ResidualBlock");
  EXPECT_EQ(loaded.layer(1).config(), model.layer(1).config());
  const Tensor x = Tensor::uniform({5, 3}, -1, 1);
  EXPECT_EQ(loaded.predict(x).to_vector(), model.predict(x).to_vector());
}

}  // namespace
