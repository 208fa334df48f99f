// Writes the safetensors seed corpus with axon's own writers: a model file of the fuzz target's
// model (with its layer list), a model of every kind of layer setting (activation constants, no
// bias, an initializer, PReLU's slopes, Dropout, Flatten, an input shape), a model of
// convolutions, pooling and normalisation, a checkpoint of the target's trainer after two epochs (Adam's moments and
// ReduceLROnPlateau's state in it), and a plain file.
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
  axon::nn::Sequential settings;
  settings.add(axon::nn::Flatten())
      .add(axon::nn::Dense(4, 3, axon::nn::DenseOptions{.activation = axon::Activation::kLeakyRelu,
                                                        .activation_params = {0.2f},
                                                        .weight_init = axon::nn::init::he_uniform(),
                                                        .generator = &generator}))
      .add(axon::nn::PReLU(3, 0.1f))
      .add(axon::nn::ELU(2.0f))
      .add(axon::nn::Hardtanh(-2.0f, 0.5f))
      .add(axon::nn::Softplus(2.0f, 3.0f))
      .add(axon::nn::GELU(true))
      .add(axon::nn::Dropout(0.25f))
      .add(axon::nn::Dense(3, 2, axon::nn::DenseOptions{.bias = false, .generator = &generator}))
      .add(axon::nn::Softmax());
  (void)settings.predict(axon::Tensor::ones({1, 2, 2}));  // the input shape goes into the file
  axon::nn::save_weights(settings, folder / "settings.safetensors");
  // Convolution settings (per-axis pairs, "same", groups, no bias), pooling and normalisation
  // layers with their buffers (running statistics, num_batches_tracked).
  axon::nn::Sequential images;
  images.add(axon::nn::Conv2d(1, 4, 2, {.padding_mode = axon::nn::Padding::kSame, .generator = &generator}))
      .add(axon::nn::BatchNorm2d(4, {.momentum = std::nullopt}))
      .add(axon::nn::MaxPool2d(2, {.stride = {1, 1}, .padding = {1, 0}, .ceil_mode = true}))
      .add(axon::nn::Conv2d(4, 2, {3, 2},
                            {.stride = {2, 1}, .padding = {1, 0}, .dilation = {1, 2}, .groups = 2, .bias = false,
                             .generator = &generator}))
      .add(axon::nn::AvgPool2d({2, 1}, {.count_include_pad = false}))
      .add(axon::nn::AdaptiveAvgPool2d({1, 3}))
      .add(axon::nn::LayerNorm(std::vector<std::int64_t>{2, 1, 3}))
      .add(axon::nn::Flatten())
      .add(axon::nn::Dense(6, 2, axon::nn::DenseOptions{.generator = &generator}))
      .add(axon::nn::BatchNorm1d(2, {.affine = false}));
  (void)images.forward(axon::Tensor::uniform({3, 1, 6, 6}, -1, 1, axon::Device::cpu(), generator));  // statistics move
  (void)images.predict(axon::Tensor::ones({1, 1, 6, 6}));
  axon::nn::save_weights(images, folder / "conv.safetensors");
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
