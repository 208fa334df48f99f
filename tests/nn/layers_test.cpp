// Layers and Sequential: forward against double references, every layer's backward and a whole
// model's by finite differences (axon::nn::check_gradients), parameter names as PyTorch's
// state_dict, fusion, initialisers, losses, metrics, and a model that learns.
#include <cmath>
#include <numeric>

#include "test_util.h"

namespace {

using axon::Activation;
using axon::Device;
using axon::Shape;
using axon::Tensor;
using axon_test::expect_error;
using axon_test::near_ref;
using axon_test::random_doubles;
using axon_test::tensor_from;
namespace nn = axon::nn;

constexpr Activation kAllActivations[] = {
    Activation::kIdentity, Activation::kSigmoid, Activation::kTanh,     Activation::kRelu,
    Activation::kLeakyRelu, Activation::kElu,    Activation::kSelu,     Activation::kGelu,
    Activation::kSilu,      Activation::kSoftplus, Activation::kSoftsign, Activation::kHardSigmoid,
    Activation::kRelu6,     Activation::kHardtanh, Activation::kHardswish, Activation::kMish,
    Activation::kLogSigmoid, Activation::kGeluTanh};
static_assert(std::size(kAllActivations) == axon::kActivationCount, "a new activation needs a layer test");

// ---- Dense ----

TEST(Dense, ForwardIsXTimesWTransposedPlusBias) {
  axon::Generator generator(3);
  nn::Dense dense(7, 5, nn::DenseOptions{.generator = &generator});
  EXPECT_EQ(dense.weight().value.shape(), (Shape{5, 7}));  // [out, in], as nn.Linear
  const auto x = random_doubles(4 * 7, -1, 1, 8);
  const auto w = axon_test::to_double(dense.weight().value.to_vector());
  const auto b = axon_test::to_double(dense.bias().value.to_vector());
  std::vector<double> want(4 * 5);
  for (int r = 0; r < 4; ++r) {
    for (int o = 0; o < 5; ++o) {
      double sum = b[static_cast<std::size_t>(o)];
      for (int i = 0; i < 7; ++i) sum += x[static_cast<std::size_t>(r * 7 + i)] * w[static_cast<std::size_t>(o * 7 + i)];
      want[static_cast<std::size_t>(r * 5 + o)] = sum;
    }
  }
  const Tensor y = Tensor::empty({4, 5});
  dense.reserve({4, 7}, Device::cpu());
  dense.forward(tensor_from({4, 7}, x), y, {});
  EXPECT_TRUE(near_ref(y, want, 1e-5, 1e-6));
}

TEST(Dense, DefaultInitIsNnLinearsUniform) {
  axon::Generator generator(11);
  nn::Dense dense(400, 300, nn::DenseOptions{.generator = &generator});
  const double bound = 1.0 / std::sqrt(400.0);
  for (const auto& values : {dense.weight().value.to_vector(), dense.bias().value.to_vector()}) {
    double sum = 0, sum_squares = 0;
    for (float v : values) {
      ASSERT_GE(v, -bound);
      ASSERT_LT(v, bound);
      sum += v;
      sum_squares += static_cast<double>(v) * v;
    }
    const double n = static_cast<double>(values.size());
    EXPECT_NEAR(sum / n, 0.0, 5 * bound / std::sqrt(3 * n));
    if (values.size() > 1000) {
      EXPECT_NEAR(sum_squares / n, bound * bound / 3, 0.05 * bound * bound / 3);
    }
  }
  // The same seed gives the same weights; another seed others.
  axon::Generator same(11), other(12);
  EXPECT_EQ(nn::Dense(400, 300, nn::DenseOptions{.generator = &same}).weight().value.to_vector(),
            dense.weight().value.to_vector());
  EXPECT_NE(nn::Dense(400, 300, nn::DenseOptions{.generator = &other}).weight().value.to_vector(),
            dense.weight().value.to_vector());
}

TEST(Dense, GradientsMatchFiniteDifferencesForEveryActivation) {
  for (const Activation kind : kAllActivations) {
    for (const bool bias : {true, false}) {
      SCOPED_TRACE(std::string(axon::activation_name(kind)) + (bias ? " with bias" : " without bias"));
      axon::Generator generator(21);
      nn::Dense dense(6, 4, nn::DenseOptions{.bias = bias, .activation = kind, .generator = &generator});
      const Tensor x = tensor_from({5, 6}, random_doubles(30, -2, 2, 22));
      const nn::GradientCheckResult result = nn::check_gradients(dense, x);
      EXPECT_TRUE(result.passed()) << result.str();
      EXPECT_EQ(result.entries.size(), bias ? 3u : 2u);
    }
  }
}

TEST(Dense, RefusesBadSizesAndInputs) {
  expect_error<axon::ValueError>([] { nn::Dense(0, 3); }, {"Dense", "in_features"});
  nn::Dense dense(3, 2);
  expect_error<axon::ShapeError>([&] { (void)dense.output_shape({4, 5}); }, {"Dense(3 -> 2)", "[4, 5]"});
}

// ---- the weightless layers ----

TEST(Layers, EveryActivationLayerPassesTheGradientCheck) {
  for (const Activation kind : kAllActivations) {
    nn::ActivationLayer layer(kind);
    SCOPED_TRACE(layer.type());
    const nn::GradientCheckResult result = nn::check_gradients(layer, tensor_from({4, 9}, random_doubles(36, -3, 3, 5)));
    EXPECT_TRUE(result.passed()) << result.str();
  }
  EXPECT_EQ(nn::ReLU().type(), "ReLU");
  EXPECT_EQ(nn::GELU().type(), "GELU");
  EXPECT_EQ(nn::LeakyReLU(0.2f).settings(), "alpha=0.2");
}

TEST(Layers, SoftmaxLogSoftmaxFlattenAndDropoutPassTheGradientCheck) {
  const Tensor x = tensor_from({3, 2, 5}, random_doubles(30, -2, 2, 6));
  nn::Flatten flatten;
  EXPECT_EQ(flatten.output_shape(x.shape()), (Shape{3, 10}));
  EXPECT_TRUE(nn::check_gradients(flatten, x).passed());
  const Tensor rows = tensor_from({4, 7}, random_doubles(28, -2, 2, 7));
  nn::Softmax softmax;
  nn::LogSoftmax log_softmax;
  nn::Dropout dropout(0.4f);
  for (nn::Layer* layer : std::initializer_list<nn::Layer*>{&softmax, &log_softmax, &dropout}) {
    SCOPED_TRACE(layer->type());
    const nn::GradientCheckResult result = nn::check_gradients(*layer, rows);
    EXPECT_TRUE(result.passed()) << result.str();
  }
}

TEST(Layers, DropoutIsTheIdentityInEvaluation) {
  nn::Dropout dropout(0.5f);
  const Tensor x = Tensor::uniform({8, 16}, -1, 1);
  const Tensor y = Tensor::empty({8, 16});
  dropout.reserve(x.shape(), Device::cpu());
  dropout.forward(x, y, {.training = false});
  EXPECT_EQ(y.to_vector(), x.to_vector());
  axon::Generator generator(1);
  dropout.forward(x, y, {.training = true, .generator = &generator});
  EXPECT_NE(y.to_vector(), x.to_vector());
  expect_error<axon::ValueError>([] { nn::Dropout(1.0f); }, {"Dropout", "[0, 1)"});
}

// ---- Sequential ----

nn::Sequential mlp(axon::Generator& generator) {
  nn::Sequential model;
  model.add(nn::Dense(6, 8, nn::DenseOptions{.generator = &generator}))
      .add(nn::ReLU())
      .add(nn::Dense(8, 5, nn::DenseOptions{.activation = Activation::kTanh, .generator = &generator}))
      .add(nn::Dropout(0.25f))
      .add(nn::Dense(5, 3, nn::DenseOptions{.generator = &generator}))
      .add(nn::LogSoftmax());
  return model;
}

TEST(Sequential, ParametersAreNamedAsPyTorchsStateDict) {
  axon::Generator generator(1);
  nn::Sequential model = mlp(generator);
  std::vector<std::string> names;
  for (const nn::NamedParameter& p : model.parameters().parameters()) names.push_back(p.name);
  // Dense(tanh) is Linear + Tanh in PyTorch: indices 2 and 3; Dropout 4; the last Linear 5.
  EXPECT_EQ(names, (std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias", "5.weight", "5.bias"}));
  EXPECT_EQ(model.parameter_count(), 6 * 8 + 8 + 8 * 5 + 5 + 5 * 3 + 3);
  // The parameters are views of the arena, 64-byte aligned segments.
  for (const nn::NamedParameter& p : model.parameters().parameters()) {
    EXPECT_TRUE(p.parameter->value.shares_storage_with(model.parameters().values())) << p.name;
    EXPECT_EQ(p.parameter->value.storage_offset() % 16, 0) << p.name;
  }
}

TEST(Sequential, TheWholeModelPassesTheGradientCheck) {
  axon::Generator generator(2);
  nn::Sequential model = mlp(generator);
  const Tensor x = tensor_from({7, 6}, random_doubles(42, -2, 2, 3));
  const nn::GradientCheckResult result = nn::check_gradients(model, x);
  EXPECT_TRUE(result.passed()) << result.str();
  EXPECT_EQ(result.entries.size(), 7u);  // the input and six parameters
}

TEST(Sequential, FusingADenseWithTheNextActivationChangesNothing) {
  // Dense + ReLU layer (fused by the model) against the same ops run one by one.
  axon::Generator generator(4);
  nn::Sequential model;
  model.add(nn::Dense(5, 4, nn::DenseOptions{.generator = &generator})).add(nn::Sigmoid());
  const Tensor x = Tensor::uniform({3, 5}, -1, 1);
  const Tensor& w = model.parameters().parameters()[0].parameter->value;
  const Tensor& b = model.parameters().parameters()[1].parameter->value;
  const Tensor want = axon::sigmoid(axon::bias_add(axon::matmul(x, w, false, true), b));
  EXPECT_TRUE(near_ref(model.forward(x), axon_test::values_of(want), 1e-6, 1e-7));
}

TEST(Sequential, SmallerBatchesReuseTheBuffersAndLargerOnesGrowThem) {
  axon::Generator generator(5);
  nn::Sequential model = mlp(generator);
  model.eval();
  const Tensor big = Tensor::uniform({16, 6}, -1, 1);
  const std::vector<double> all = axon_test::values_of(model.forward(big));
  // Other row counts may round differently (a BLAS may sum in another order for them), so
  // "the same rows" means equal to within float rounding; stale buffer rows would be far off.
  EXPECT_TRUE(axon_test::near_ref(model.forward(big.rows(0, 3)), {all.begin(), all.begin() + 9}, 1e-5, 1e-6));
  const Tensor bigger = Tensor::uniform({40, 6}, -1, 1);
  EXPECT_EQ(model.forward(bigger).shape(), (Shape{40, 3}));
  EXPECT_EQ(axon_test::values_of(model.predict(big)), all);  // the same 16 rows: bit for bit
}

TEST(Sequential, ErrorsNameTheLayerAndTheShapes) {
  axon::Generator generator(6);
  nn::Sequential model = mlp(generator);
  expect_error<axon::ShapeError>([&] { (void)model.forward(Tensor::zeros({2, 7})); },
                                 {"layer 0", "Dense", "[2, 7]"});
  model.eval();
  (void)model.forward(Tensor::zeros({2, 6}));
  expect_error<axon::ValueError>([&] { (void)model.backward(Tensor::zeros({2, 3})); }, {"evaluation mode"});
  model.train();
  (void)model.forward(Tensor::zeros({2, 6}));
  expect_error<axon::ShapeError>([&] { (void)model.backward(Tensor::zeros({3, 3})); }, {"grad_output"});
  nn::Sequential empty;
  expect_error<axon::ValueError>([&] { (void)empty.forward(Tensor::zeros({2, 6})); }, {"no layers"});
}

TEST(Sequential, SummaryListsLayersShapesAndCounts) {
  axon::Generator generator(7);
  nn::Sequential model = mlp(generator);
  const std::string summary = model.summary({32, 6});
  for (const char* part : {"Dense(6 -> 8)", "ReLU", "Dense(8 -> 5, tanh)", "Dropout(p=0.25)", "LogSoftmax",
                           "[32, 3]", "Total params: 119"}) {
    EXPECT_NE(summary.find(part), std::string::npos) << part << "\n" << summary;
  }
}

// ---- a model learns: XOR, the article's first story ----

TEST(Sequential, LearnsXorWithAdam) {
  axon::Generator generator(2024);
  nn::Sequential model;
  model.add(nn::Dense(2, 8, nn::DenseOptions{.activation = Activation::kTanh, .generator = &generator}))
      .add(nn::Dense(8, 1, nn::DenseOptions{.generator = &generator}))
      .add(nn::Sigmoid());
  const Tensor x = Tensor::from_vector({4, 2}, std::vector<float>{0, 0, 0, 1, 1, 0, 1, 1});
  const Tensor t = Tensor::from_vector({4, 1}, std::vector<float>{0, 1, 1, 0});
  axon::optim::Adam adam(model.parameters(), {.lr = 0.05});
  nn::Loss loss = nn::MSELoss();
  float last = 1.0f;
  for (int step = 0; step < 600; ++step) {
    loss.compute(model.forward(x), t);
    model.backward(loss.grad());
    adam.step();
    last = loss.value().item();
  }
  EXPECT_LT(last, 0.01f);
  const auto out = model.predict(x).to_vector();
  EXPECT_LT(out[0], 0.2f);
  EXPECT_GT(out[1], 0.8f);
  EXPECT_GT(out[2], 0.8f);
  EXPECT_LT(out[3], 0.2f);
}

// ---- initialisers ----

TEST(Init, EachRuleHasItsSpread) {
  const std::int64_t fan_in = 200, fan_out = 100;
  struct Case {
    nn::Initializer init;
    double stddev;
  };
  const double glorot = std::sqrt(2.0 / (fan_in + fan_out));
  const Case cases[] = {
      {nn::init::glorot_uniform(), glorot},  {nn::init::glorot_normal(), glorot},
      {nn::init::he_uniform(), std::sqrt(2.0 / fan_in)}, {nn::init::he_normal(), std::sqrt(2.0 / fan_in)},
      {nn::init::lecun_uniform(), std::sqrt(1.0 / fan_in)}, {nn::init::lecun_normal(), std::sqrt(1.0 / fan_in)},
      {nn::init::linear_default(), std::sqrt(1.0 / (3.0 * fan_in))}, {nn::init::normal(0.0f, 0.3f), 0.3},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(nn::initializer_name(c.init));
    const Tensor t = Tensor::empty({fan_out, fan_in});
    axon::Generator generator(8);
    nn::initialize(t, c.init, fan_in, fan_out, generator);
    double sum_squares = 0;
    for (float v : t.to_vector()) sum_squares += static_cast<double>(v) * v;
    EXPECT_NEAR(std::sqrt(sum_squares / static_cast<double>(t.numel())), c.stddev, 0.03 * c.stddev);
  }
  const Tensor t = Tensor::empty({3});
  nn::initialize(t, nn::init::constant(2.5f), 1, 1);
  EXPECT_EQ(t.to_vector(), std::vector<float>(3, 2.5f));
  nn::initialize(t, nn::init::zeros(), 1, 1);
  EXPECT_EQ(t.to_vector(), std::vector<float>(3, 0.0f));
}

// ---- losses and metrics ----

TEST(Losses, ObjectsGiveTheOpsValuesAndReuseTheirBuffers) {
  const Tensor pred = Tensor::uniform({6, 4}, -1, 1), target = Tensor::uniform({6, 4}, -1, 1);
  nn::Loss huber = nn::HuberLoss(0.5f);
  huber.compute(pred, target);
  const axon::LossResult want = axon::loss(axon::LossKind::kHuber, pred, target, {0.5f});
  EXPECT_EQ(huber.value().item(), want.value.item());
  EXPECT_EQ(huber.grad().to_vector(), want.grad.to_vector());
  const Tensor buffer = huber.grad();
  huber.compute(pred.rows(0, 3), target.rows(0, 3));  // a smaller batch: the same buffer
  EXPECT_TRUE(huber.grad().shares_storage_with(buffer));
  nn::Loss ce = nn::CrossEntropyLoss();
  const Tensor labels = axon_test::int_tensor_from({6}, {0, 1, 2, 3, 0, 1});
  ce.compute(pred, labels, /*value_only=*/true);
  EXPECT_EQ(ce.value().item(), axon::loss_value(axon::LossKind::kSoftmaxCrossEntropy, pred, labels).item());
}

TEST(Metrics, ConfusionMatrixPrecisionRecallF1) {
  const std::vector<std::int32_t> truth{0, 0, 1, 1, 1, 2, 2, 2, 2};
  const std::vector<std::int32_t> predicted{0, 1, 1, 1, 0, 2, 2, 1, 2};
  const nn::ConfusionMatrix m(predicted, truth, 3);
  EXPECT_EQ(m.count(0, 0), 1);
  EXPECT_EQ(m.count(0, 1), 1);
  EXPECT_EQ(m.count(1, 0), 1);
  EXPECT_EQ(m.count(2, 1), 1);
  EXPECT_DOUBLE_EQ(m.accuracy(), 6.0 / 9.0);
  EXPECT_DOUBLE_EQ(nn::accuracy(predicted, truth), 6.0 / 9.0);
  EXPECT_DOUBLE_EQ(m.precision(1), 2.0 / 4.0);  // predicted 1: four times, twice right
  EXPECT_DOUBLE_EQ(m.recall(2), 3.0 / 4.0);
  EXPECT_DOUBLE_EQ(m.f1(0), 0.5);               // precision 1/2, recall 1/2
  const double p2 = 1.0, r2 = 0.75;
  EXPECT_DOUBLE_EQ(m.macro_f1(), (0.5 + (2 * 0.5 * (2.0 / 3)) / (0.5 + 2.0 / 3) + 2 * p2 * r2 / (p2 + r2)) / 3);
  EXPECT_EQ(nn::predicted_labels(Tensor::from_vector({2, 3}, std::vector<float>{0, 5, 1, 9, 2, 3})),
            (std::vector<std::int32_t>{1, 0}));
  expect_error<axon::ValueError>([&] { nn::ConfusionMatrix(predicted, truth, 2); }, {"outside [0, 2)"});
  expect_error<axon::ValueError>([&] { (void)nn::accuracy({1}, {1, 2}); }, {"1 predicted", "2 true"});
}

}  // namespace
