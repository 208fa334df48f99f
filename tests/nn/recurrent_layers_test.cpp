// The recurrent layers (LSTM, GRU) against torch.nn.LSTM / torch.nn.GRU(batch_first=True):
// tests/fixtures/{lstm,gru}_reference.safetensors (made by tests/fixtures/make_lstm_fixtures.py)
// hold PyTorch's weights, inputs, outputs and every gradient for four shapes; on the CPU and,
// with a GPU, on CUDA. Then their gradients by finite differences, a shorter batch after a longer
// one, a steady step that allocates nothing, model files, and their refusals. Each test runs for
// both layers (typed tests).
#include <cmath>

#include "step_checker.h"
#include "test_util.h"

namespace {

using axon::Device;
using axon::Shape;
using axon::Tensor;
namespace nn = axon::nn;

std::vector<Device> devices() {
  std::vector<Device> list{Device::cpu()};
  if (axon_test::have_cuda()) list.push_back(Device::cuda(0));
  return list;
}

// What differs between the layers: the name, the fixture, the gate blocks per hidden unit.
struct LstmTraits {
  using Layer = nn::LSTM;
  static constexpr const char* kName = "LSTM";
  static constexpr const char* kFixture = "lstm_reference.safetensors";
  static constexpr std::int64_t kGates = 4;
};
struct GruTraits {
  using Layer = nn::GRU;
  static constexpr const char* kName = "GRU";
  static constexpr const char* kFixture = "gru_reference.safetensors";
  static constexpr std::int64_t kGates = 3;
};

template <class Traits>
class RecurrentLayer : public ::testing::Test {};
using Layers = ::testing::Types<LstmTraits, GruTraits>;
class LayerNames {
 public:
  template <class T>
  static std::string GetName(int) { return T::kName; }
};
TYPED_TEST_SUITE(RecurrentLayer, Layers, LayerNames);

::testing::AssertionResult close_to(const Tensor& got, const Tensor& want, double tolerance) {
  if (got.shape() != want.shape()) return ::testing::AssertionFailure() << got.describe() << " vs " << want.describe();
  const std::vector<float> g = got.to_vector(), w = want.to_vector();
  for (std::size_t i = 0; i < g.size(); ++i) {
    if (!(std::abs(g[i] - w[i]) <= tolerance * (1.0 + std::abs(w[i])))) {
      return ::testing::AssertionFailure() << "element " << i << ": " << g[i] << ", torch " << w[i];
    }
  }
  return ::testing::AssertionSuccess();
}

TYPED_TEST(RecurrentLayer, MatchesTorchForwardAndEveryGradient) {
  using Layer = typename TypeParam::Layer;
  const axon::io::Safetensors fixture =
      axon::io::load_safetensors(std::filesystem::path(AXON_TEST_FIXTURE_DIR) / TypeParam::kFixture);
  for (const Device device : devices()) {
    for (const char* name : {"tiny", "small", "long", "wide"}) {
      SCOPED_TRACE(std::string(name) + " on " + device.str());
      const std::string p = std::string(name) + ".";
      const Tensor x = fixture.at(p + "x").to(device);
      nn::Sequential model;
      model.add(Layer(x.dim(2), fixture.at(p + "weight_hh_l0").dim(1)));
      for (nn::Parameter* parameter : model.layer(0).parameters()) parameter->value.copy_from(fixture.at(p + parameter->name));
      model.to(device);
      model.train();
      EXPECT_TRUE(close_to(model.forward(x), fixture.at(p + "y"), 1e-5)) << "output";
      const Tensor grad_x = model.backward(fixture.at(p + "grad_y").to(device), /*want_input_grad=*/true);
      EXPECT_TRUE(close_to(grad_x, fixture.at(p + "grad_x"), 1e-5)) << "input gradient";
      for (nn::Parameter* parameter : model.layer(0).parameters()) {
        EXPECT_TRUE(close_to(parameter->grad, fixture.at(p + "grad_" + parameter->name), 2e-5)) << parameter->name;
      }
    }
  }
}

TYPED_TEST(RecurrentLayer, GradientsMatchFiniteDifferences) {
  axon::Generator generator(4);
  typename TypeParam::Layer layer(3, 5, &generator);
  const Tensor x = axon_test::tensor_from({2, 4, 3}, axon_test::random_doubles(24, -1, 1, 9));
  const nn::GradientCheckResult result = nn::check_gradients(layer, x);
  EXPECT_TRUE(result.passed()) << result.str();
  EXPECT_EQ(result.entries.size(), 5u);  // the input and four parameters
}

// A shorter batch after a longer one takes views of the buffers: the same numbers as a layer
// that never saw the longer one; and a steady step of either size allocates nothing.
TYPED_TEST(RecurrentLayer, AShorterBatchIsExactAndASteadyStepAllocatesNothing) {
  const Tensor big = axon_test::tensor_from({6, 5, 4}, axon_test::random_doubles(120, -1, 1, 11));
  const Tensor small = big.rows(0, 2).clone();
  const auto run = [](nn::Sequential& model, const Tensor& x) {
    const Tensor y = model.forward(x).clone();
    Tensor grad_y = Tensor::ones(y.shape());
    const Tensor grad_x = model.backward(grad_y, true).clone();
    return std::pair{y.to_vector(), grad_x.to_vector()};
  };
  const auto make = [] {
    axon::Generator generator(6);
    nn::Sequential model;
    model.add(typename TypeParam::Layer(4, 7, &generator))
        .add(nn::Flatten())
        .add(nn::Dense(5 * 7, 3, nn::DenseOptions{.generator = &generator}));
    model.train();
    return model;
  };
  nn::Sequential seasoned = make(), fresh = make();
  (void)run(seasoned, big);
  const auto after_big = run(seasoned, small);
  EXPECT_EQ(after_big, run(fresh, small));
  for (const Tensor* x : {&big, &small}) {
    const Tensor grad_y = Tensor::ones({x->dim(0), 3});
    const auto counts = axon_test::count_backend([&] {
      (void)seasoned.forward(*x);
      (void)seasoned.backward(grad_y, true);
    });
    EXPECT_EQ(counts.allocations, 0) << "rows " << x->dim(0);
    EXPECT_EQ(counts.uploads, 0);
    EXPECT_EQ(counts.host_waits, 0);
  }
}

TYPED_TEST(RecurrentLayer, NamesShapesModelFilesAndRefusals) {
  using Layer = typename TypeParam::Layer;
  Layer layer(10, 20);
  std::vector<std::string> names;
  for (nn::Parameter* p : layer.parameters()) names.push_back(p->name + " " + p->value.shape().str());
  const std::string g = std::to_string(TypeParam::kGates * 20);
  EXPECT_EQ(names, (std::vector<std::string>{"weight_ih_l0 [" + g + ", 10]", "weight_hh_l0 [" + g + ", 20]",
                                             "bias_ih_l0 [" + g + "]", "bias_hh_l0 [" + g + "]"}));
  EXPECT_EQ(layer.type(), TypeParam::kName);
  // torch's initial spread: U(-1/sqrt(20), 1/sqrt(20)).
  const std::vector<float> w = layer.parameters()[1]->value.to_vector();
  const float bound = 1.0f / std::sqrt(20.0f);
  EXPECT_LE(*std::max_element(w.begin(), w.end()), bound);
  EXPECT_GE(*std::min_element(w.begin(), w.end()), -bound);
  EXPECT_GT(*std::max_element(w.begin(), w.end()), 0.9f * bound);
  EXPECT_EQ(layer.output_shape(Shape{4, 7, 10}), (Shape{4, 7, 20}));
  axon_test::expect_error<axon::ShapeError>([&] { (void)layer.output_shape(Shape{4, 10}); },
                                            {std::string(TypeParam::kName) + "(10 -> 20)", "[4, 10]"});
  axon_test::expect_error<axon::ShapeError>([&] { (void)layer.output_shape(Shape{4, 7, 11}); }, {"[batch, steps, 10]"});
  axon_test::expect_error<axon::ValueError>([] { Layer(0, 3); }, {TypeParam::kName, "input_size"});

  // A model file rebuilds it, weights included.
  const auto folder = std::filesystem::temp_directory_path() / (std::string("axon_recurrent_test_") + TypeParam::kName);
  std::filesystem::create_directories(folder);
  nn::Sequential model;
  model.add(Layer(3, 4)).add(nn::Flatten()).add(nn::Dense(2 * 4, 2));
  const Tensor x = axon_test::tensor_from({3, 2, 3}, axon_test::random_doubles(18, -1, 1, 12));
  const std::vector<float> want = model.predict(x).to_vector();
  nn::save_weights(model, folder / "m.safetensors");
  nn::Sequential loaded = nn::load_model(folder / "m.safetensors");
  EXPECT_EQ(loaded.predict(x).to_vector(), want);
  std::filesystem::remove_all(folder);
}

}  // namespace
