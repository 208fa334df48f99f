// Writes, into the folder given, a model file axon made (axon_mlp.safetensors: Dense 4-8, ReLU,
// Dense 8-3, Tanh, with axon's own initial weights) and axon's predictions for a batch
// (axon_mlp_io.safetensors), for tests/io/load_in_torch.py to load in PyTorch.
#include <cstdio>

#include "axon/axon.h"

int main(int argc, char** argv) try {
  if (argc != 2) {
    std::fprintf(stderr, "usage: write_for_torch FOLDER\n");
    return 2;
  }
  namespace nn = axon::nn;
  const std::filesystem::path folder = argv[1];
  std::filesystem::create_directories(folder);
  axon::Generator generator(99);
  nn::Sequential model;
  model.add(nn::Dense(4, 8, nn::DenseOptions{.generator = &generator}))
      .add(nn::ReLU())
      .add(nn::Dense(8, 3, nn::DenseOptions{.generator = &generator}))
      .add(nn::Tanh());
  nn::save_weights(model, folder / "axon_mlp.safetensors");
  const axon::Tensor x = axon::Tensor::uniform({7, 4}, -1, 1, axon::Device::cpu(), generator);
  axon::io::save_safetensors(folder / "axon_mlp_io.safetensors", {{"input", x}, {"output", model.predict(x)}});
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "write_for_torch: %s\n", e.what());
  return 1;
}
