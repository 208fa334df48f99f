// Writes the safetensors seed corpus with axon's own writers: a model file of the fuzz target's
// model (with its layer list), a checkpoint of its trainer after two epochs (Adam's moments and
// ReduceLROnPlateau's state in it), and a plain file of a few tensors.
//   fuzz_make_corpus <folder>
#include <cstdio>

#include "readers.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <folder>\n", argv[0]);
    return 2;
  }
  const std::filesystem::path folder = argv[1];
  std::filesystem::create_directories(folder);
  axon::Generator generator(7);
  axon_fuzz::SafetensorsTarget target;
  axon::nn::save_weights(target.model, folder / "model.safetensors");
  const std::int32_t labels[] = {0, 1, 1, 0, 1, 0};
  const axon::data::Dataset data(axon::Tensor::uniform({6, 4}, -1, 1, axon::Device::cpu(), generator),
                                 axon::Tensor::from_vector({6}, std::span<const std::int32_t>(labels)));
  (void)target.trainer.fit(data, nullptr, {.epochs = 2, .batch_size = 4, .display = axon::train::Display::kQuiet});
  target.trainer.save_checkpoint(folder / "checkpoint.safetensors");
  axon::io::save_safetensors(folder / "plain.safetensors",
                             {{"x", axon::Tensor::uniform({2, 3}, -1, 1, axon::Device::cpu(), generator)},
                              {"labels", axon::Tensor::from_vector({3}, std::span<const std::int32_t>(labels, 3))}},
                             {{"note", "seed"}});
  return 0;
}
