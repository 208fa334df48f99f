#pragma once
// The models the ONNX tests export and import (tests/io/write_onnx_models.cpp for onnx.checker
// and onnxruntime, tests/io/onnx_test.cpp for load_onnx): every layer and activation save_onnx
// writes, with settings away from their defaults.
#include <functional>
#include <string>
#include <vector>

#include "axon/axon.h"

namespace onnx_cases {

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
inline void run_in_training(nn::Sequential& model, const Shape& sample, axon::Generator& generator) {
  std::vector<std::int64_t> dims{16};
  dims.insert(dims.end(), sample.dims().begin(), sample.dims().end());
  model.train();
  for (int i = 0; i < 3; ++i) {
    (void)model.forward(Tensor::uniform(Shape(std::span<const std::int64_t>(dims)), -2, 3, axon::Device::cpu(), generator));
  }
  model.eval();
}

inline std::vector<Case> cases() {
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
  all.push_back({"lstm", Shape{6, 4}, [](nn::Sequential& m, axon::Generator& g) {
                   m.add(nn::LSTM(4, 5, &g)).add(nn::Flatten()).add(nn::Dense(6 * 5, 3, nn::DenseOptions{.generator = &g}));
                 }});
  all.push_back({"gru", Shape{6, 4}, [](nn::Sequential& m, axon::Generator& g) {
                   m.add(nn::GRU(4, 5, &g)).add(nn::Tanh()).add(nn::Dense(5, 3, nn::DenseOptions{.generator = &g}));
                 }});
  return all;
}

}  // namespace onnx_cases
