// The model kit (issue 18): layers describe themselves (type + every setting) and reload through
// one registry, tensors of any rank flow through Sequential, and a model file's layer list is
// checked before anything is allocated.
#include <atomic>
#include <set>
#include <thread>

#include "test_util.h"

namespace {

using axon::Activation;
using axon::FormatError;
using axon::Shape;
using axon::Tensor;
using axon_test::expect_error;
namespace io = axon::io;
namespace nn = axon::nn;

TEST(ModelKit, TheBuiltInLayersAreRegistered) {
  const auto names = nn::registered_layers();
  const std::set<std::string> have(names.begin(), names.end());
  for (const char* type : {"Dense", "Dropout", "Softmax", "LogSoftmax", "Flatten", "ReLU", "LeakyReLU", "ELU", "GELU",
                           "Sigmoid", "Tanh", "Identity", "SELU", "SiLU", "Softplus", "Softsign", "Hardsigmoid"}) {
    EXPECT_TRUE(have.count(type)) << type;
  }
}

// Every setting survives a model file: a Dense's own activation and its alpha (a LeakyReLU slope
// of 0.2 reloaded as 0.01 before: predictions 18-25% off), no bias, initializers; an ELU layer's
// alpha; Dropout's p.
TEST(ModelKit, EverySettingSurvivesAModelFile) {
  axon::Generator generator(3);
  nn::Sequential model;
  model.add(nn::Dense(4, 8,
                      nn::DenseOptions{.activation = Activation::kLeakyRelu,
                                       .activation_params = {0.2f},
                                       .weight_init = nn::init::he_uniform(1.3f),
                                       .generator = &generator}))
      .add(nn::Dense(8, 6, nn::DenseOptions{.bias = false, .activation = Activation::kElu,
                                            .activation_params = {2.0f}, .generator = &generator}))
      .add(nn::ELU(1.5f))
      .add(nn::Dropout(0.3f))
      .add(nn::Dense(6, 3, nn::DenseOptions{.generator = &generator}))
      .add(nn::LogSoftmax());
  const axon_test::TempDir dir;
  nn::save_weights(model, dir / "settings.safetensors");
  nn::Sequential loaded = nn::load_model(dir / "settings.safetensors");
  ASSERT_EQ(loaded.size(), model.size());
  for (std::size_t i = 0; i < model.size(); ++i) {
    EXPECT_EQ(loaded.layer(i).type(), model.layer(i).type()) << i;
    EXPECT_EQ(loaded.layer(i).config(), model.layer(i).config()) << i;
  }
  const auto& dense = dynamic_cast<const nn::Dense&>(loaded.layer(0));
  EXPECT_EQ(dense.config().number("alpha"), 0.2f);
  EXPECT_EQ(dense.config().text("weight_init"), "he_uniform");
  const Tensor x = Tensor::uniform({16, 4}, -2, 2);
  EXPECT_EQ(loaded.predict(x).to_vector(), model.predict(x).to_vector());
}

// [N, C, H, W] through activations, Dropout and Flatten into a Dense; a Dense on [N, T, F]
// maps the last axis (as nn.Linear) and passes the gradient check; the file keeps the input shape.
TEST(ModelKit, TensorsOfAnyRankFlowThroughSequential) {
  axon::Generator generator(4);
  nn::Sequential images;
  images.add(nn::ReLU()).add(nn::Dropout(0.25f)).add(nn::Flatten()).add(nn::Dense(2 * 3 * 4, 5, nn::DenseOptions{.generator = &generator}));
  images.set_generator(&generator);
  const Tensor batch = Tensor::uniform({7, 2, 3, 4}, -1, 1);
  EXPECT_EQ(images.forward(batch).shape(), (Shape{7, 5}));
  (void)images.backward(Tensor::ones({7, 5}), true);
  EXPECT_EQ(images.sample_input(), (Shape{2, 3, 4}));

  nn::Sequential sequence;
  sequence.add(nn::Dense(3, 6, nn::DenseOptions{.activation = Activation::kTanh, .generator = &generator}))
      .add(nn::Dense(6, 2, nn::DenseOptions{.generator = &generator}));
  const Tensor steps = Tensor::uniform({4, 5, 3}, -1, 1);  // [N, T, F]
  const Tensor out = sequence.predict(steps);
  EXPECT_EQ(out.shape(), (Shape{4, 5, 2}));
  // The same as the rows one at a time.
  const Tensor flat = sequence.predict(steps.reshape({20, 3}));
  EXPECT_TRUE(axon_test::near_ref(out.reshape({20, 2}), axon_test::values_of(flat), 1e-6, 1e-7));
  EXPECT_TRUE(nn::check_gradients(sequence, steps).passed());

  const axon_test::TempDir dir;
  (void)images.forward(batch);
  nn::save_weights(images, dir / "images.safetensors");
  const io::Safetensors file = io::load_safetensors(dir / "images.safetensors");
  EXPECT_EQ(file.metadata.at("input_shape"), "[2,3,4]");
  nn::Sequential reloaded = nn::load_model(dir / "images.safetensors");
  EXPECT_EQ(reloaded.predict(batch).to_vector(), images.predict(batch).to_vector());
}

// A hostile or mistaken layer list is refused at load, naming the file and the layer.
TEST(ModelKit, BadLayerListsAreRefusedNamingTheLayer) {
  const axon_test::TempDir dir;
  const auto model_file = [&](const std::string& name, const std::string& layers, std::vector<io::NamedTensor> tensors,
                              const std::string& input_shape = "") {
    std::map<std::string, std::string> metadata{{"format", "axon"}, {"format_version", "2"}, {"layers", layers}};
    if (!input_shape.empty()) metadata["input_shape"] = input_shape;
    io::save_safetensors(dir / name, tensors, metadata);
    return dir / name;
  };
  const std::vector<io::NamedTensor> two_dense = {{"0.weight", Tensor::zeros({3, 4})}, {"0.bias", Tensor::zeros({3})},
                                                  {"1.weight", Tensor::zeros({2, 5})}, {"1.bias", Tensor::zeros({2})}};
  struct Case {
    std::filesystem::path path;
    std::vector<std::string> says;
  };
  const std::vector<Case> cases = {
      {model_file("chain", R"([{"type":"Dense","config":{"in":4,"out":3}},{"type":"Dense","config":{"in":5,"out":2}}])",
                  two_dense),
       {"do not chain", "layer 1 (Dense"}},
      {model_file("dropout", R"([{"type":"Dropout","config":{"p":1.5}}])", {}), {"layer 0 (Dropout)", "'p' must be in [0, 1)"}},
      {model_file("alpha", R"([{"type":"ELU","config":{"alpha":"big"}}])", {}), {"layer 0 (ELU)", "'alpha' must be a number"}},
      {model_file("in", R"([{"type":"Dense","config":{"in":2.5,"out":3}}])", {}), {"layer 0 (Dense)", "'in' must be an integer"}},
      {model_file("unknown", R"([{"type":"Conv9d","config":{}}])", {}), {"layer 0", "'Conv9d'", "register_layer"}},
      {model_file("activation", R"([{"type":"Dense","config":{"in":1,"out":1,"activation":"wobble"}}])",
                  {{"0.weight", Tensor::zeros({1, 1})}, {"0.bias", Tensor::zeros({1})}}),
       {"layer 0 (Dense)", "unknown activation 'wobble'"}},
      {model_file("shape", R"([{"type":"Flatten"},{"type":"Dense","config":{"in":6,"out":1}}])",
                  {{"1.weight", Tensor::zeros({1, 6})}, {"1.bias", Tensor::zeros({1})}}, "[2,4]"),
       {"do not chain", "layer 1 (Dense"}},
      {model_file("version", "[]", {}), {"empty"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.path.filename().string());
    std::vector<std::string_view> says{c.path.filename().string()};
    for (const auto& s : c.says) says.push_back(s);
    try {
      (void)nn::load_model(c.path);
      ADD_FAILURE() << "loaded";
    } catch (const FormatError& e) {
      for (const auto& s : says) EXPECT_NE(std::string(e.what()).find(s), std::string::npos) << e.what() << " lacks " << s;
    }
  }
}

}  // namespace

namespace {

// forward(forward(x)): the output buffer passed back in would be overwritten during the pass
// (a right forward, wrong gradients, silently): refused.
TEST(ModelKit, TheModelsOwnOutputIsNotAnInput) {
  nn::Sequential model;
  model.add(nn::Dense(3, 3)).add(nn::ReLU()).add(nn::Dense(3, 3));
  const Tensor& once = model.forward(Tensor::uniform({4, 3}, -1, 1));
  expect_error<axon::ValueError>([&] { (void)model.forward(once); }, {"the model's own buffer", "clone()"});
  EXPECT_NO_THROW((void)model.forward(once.clone()));
}

// predict from several threads at once gives every thread the right answer (68-589 of 600 were
// wrong); forward from two threads at once is refused rather than wrong.
TEST(ModelKit, PredictIsSafeFromSeveralThreads) {
  axon::Generator generator(2);
  nn::Sequential model;
  model.add(nn::Dense(8, 32, nn::DenseOptions{.generator = &generator})).add(nn::ReLU()).add(nn::Dense(32, 4));
  std::vector<Tensor> inputs;
  std::vector<std::vector<float>> want;
  for (int i = 0; i < 6; ++i) {
    inputs.push_back(Tensor::uniform({5 + i, 8}, -1, 1));
    want.push_back(model.predict(inputs.back()).to_vector());
  }
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int run = 0; run < 150; ++run) {
        const int i = (run + t) % 6;
        if (model.predict(inputs[static_cast<std::size_t>(i)]).to_vector() != want[static_cast<std::size_t>(i)]) ++wrong;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0) << "of 600 predictions";
}

}  // namespace
