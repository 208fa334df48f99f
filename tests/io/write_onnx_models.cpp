// Writes, into the folder given, ONNX files axon exported (<name>.onnx) for a set of models
// covering every layer and activation save_onnx exports, and for each the inputs and axon's
// predictions at batch sizes 1, 3 and 5 (<name>_io.safetensors: x1, y1, x3, y3, x5, y5), for
// tests/io/check_onnx.py to check with onnx.checker and run in onnxruntime.
#include <cstdio>
#include <functional>
#include <string>

#include "axon/axon.h"

namespace {

namespace nn = axon::nn;
using axon::Shape;
using axon::Tensor;

struct Case {
  std::string name;
  Shape sample;  // per-sample input shape
  std::function<void(nn::Sequential&, axon::Generator&)> build;
};

// Moves BatchNorm's running statistics and count away from their initial values: a few
// training forwards, then evaluation.
void run_in_training(nn::Sequential& model, const Shape& sample, axon::Generator& generator) {
  std::vector<std::int64_t> dims{16};
  dims.insert(dims.end(), sample.dims().begin(), sample.dims().end());
  model.train();
  for (int i = 0; i < 3; ++i) {
    (void)model.forward(Tensor::uniform(Shape(std::span<const std::int64_t>(dims)), -2, 3, axon::Device::cpu(), generator));
  }
  model.eval();
}

std::vector<Case> cases() {
  std::vector<Case> all;
  all.push_back({"mlp", Shape{10}, [](nn::Sequential& m, axon::Generator& g) {
                   m.add(nn::Dense(10, 16, nn::DenseOptions{.generator = &g}))
                       .add(nn::ReLU())
                       .add(nn::Dropout(0.2f))
                       .add(nn::Dense(16, 8, nn::DenseOptions{.activation = axon::Activation::kTanh, .generator = &g}))
                       .add(nn::Dense(8, 4, nn::DenseOptions{.bias = false, .generator = &g}))
                       .add(nn::Softmax());
                 }});
  // Every activation, with its constants changed from the defaults where it has some.
  for (int k = 0; k < axon::kActivationCount; ++k) {
    const auto kind = static_cast<axon::Activation>(k);
    axon::ActivationParams params;
    if (kind == axon::Activation::kLeakyRelu || kind == axon::Activation::kElu) params.alpha = 0.3f;
    if (kind == axon::Activation::kHardtanh) params = {-0.5f, 0.75f};
    if (kind == axon::Activation::kSoftplus) params = {2.0f, 20.0f};
    for (const bool fused : {false, true}) {
      const std::string name = "act_" + std::string(axon::activation_name(kind)) + (fused ? "_fused" : "");
      all.push_back({name, Shape{5}, [=](nn::Sequential& m, axon::Generator& g) {
                       if (fused) {
                         m.add(nn::Dense(5, 7, nn::DenseOptions{.activation = kind, .activation_params = params, .generator = &g}));
                       } else {
                         m.add(nn::Dense(5, 7, nn::DenseOptions{.generator = &g})).add(nn::ActivationLayer(kind, params));
                       }
                       m.add(nn::Dense(7, 3, nn::DenseOptions{.generator = &g})).add(nn::LogSoftmax());
                     }});
    }
  }
  all.push_back({"cnn", Shape{2, 9, 9}, [](nn::Sequential& m, axon::Generator& g) {
                   m.add(nn::Conv2d(2, 4, 3, nn::ConvOptions{.padding = {1, 1}, .generator = &g}))
                       .add(nn::BatchNorm2d(4))
                       .add(nn::ReLU())
                       .add(nn::MaxPool2d(3, nn::MaxPoolOptions{.stride = {2, 2}, .padding = {1, 1}, .ceil_mode = true}))
                       .add(nn::Conv2d(4, 6, std::array<std::int64_t, 2>{2, 3}, nn::ConvOptions{.stride = {1, 2}, .dilation = {2, 1}, .groups = 2, .generator = &g}))
                       .add(nn::AvgPool2d(2, nn::AvgPoolOptions{.stride = {1, 1}, .padding = {1, 1}, .count_include_pad = false}))
                       .add(nn::AdaptiveAvgPool2d(1))
                       .add(nn::Flatten())
                       .add(nn::Dense(6, 3, nn::DenseOptions{.generator = &g}));
                 }});
  all.push_back({"cnn_norms", Shape{3, 8, 8}, [](nn::Sequential& m, axon::Generator& g) {
                   m.add(nn::Conv2d(3, 4, 3, nn::ConvOptions{.padding_mode = nn::Padding::kSame, .bias = false, .generator = &g}))
                       .add(nn::BatchNorm2d(4, nn::BatchNormOptions{.affine = false}))
                       .add(nn::PReLU(4))
                       .add(nn::LayerNorm({4, 8, 8}))
                       .add(nn::MaxPool2d(2, nn::MaxPoolOptions{.padding = {1, 1}, .dilation = {2, 2}}))
                       .add(nn::AdaptiveAvgPool2d(2))
                       .add(nn::Flatten())
                       .add(nn::BatchNorm1d(16))
                       .add(nn::PReLU())
                       .add(nn::LayerNorm({16}, nn::LayerNormOptions{.bias = false}))
                       .add(nn::Dense(16, 5, nn::DenseOptions{.generator = &g}));
                 }});
  return all;
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc != 2) {
    std::fprintf(stderr, "usage: write_onnx_models FOLDER\n");
    return 2;
  }
  const std::filesystem::path folder = argv[1];
  std::filesystem::create_directories(folder);
  for (const Case& c : cases()) {
    axon::Generator generator(7);
    nn::Sequential model;
    c.build(model, generator);
    run_in_training(model, c.sample, generator);
    axon::io::save_onnx(model, folder / (c.name + ".onnx"), {.sample_input = c.sample});
    std::vector<axon::io::NamedTensor> io;
    for (const std::int64_t batch : {1, 3, 5}) {
      std::vector<std::int64_t> dims{batch};
      dims.insert(dims.end(), c.sample.dims().begin(), c.sample.dims().end());
      const Tensor x = Tensor::uniform(Shape(std::span<const std::int64_t>(dims)), -3, 3, axon::Device::cpu(), generator);
      io.push_back({"x" + std::to_string(batch), x});
      io.push_back({"y" + std::to_string(batch), model.predict(x)});
    }
    axon::io::save_safetensors(folder / (c.name + "_io.safetensors"), io);
  }
  std::printf("write_onnx_models: %zu models in %s\n", cases().size(), folder.c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "write_onnx_models: %s\n", e.what());
  return 1;
}
