#pragma once
// The small MLP the step tests train (tests/nn/model_step_test.cpp, tests/train/step_checker_test.cpp):
// 20 -> 32 ReLU, Dropout(0.2) -> 16 GELU -> 5, on `device`.
#include "axon/axon.h"

namespace axon_test {

inline axon::nn::Sequential step_mlp(axon::Generator& generator, axon::Device device = axon::Device::cpu()) {
  namespace nn = axon::nn;
  nn::Sequential model;
  model.add(nn::Dense(20, 32, nn::DenseOptions{.generator = &generator}))
      .add(nn::ReLU())
      .add(nn::Dropout(0.2f))
      .add(nn::Dense(32, 16, nn::DenseOptions{.activation = axon::Activation::kGelu, .generator = &generator}))
      .add(nn::Dense(16, 5, nn::DenseOptions{.generator = &generator}));
  model.to(device);
  return model;
}

}  // namespace axon_test
