// The article's linear-regression story: a beam of an alloy with 20% aluminium breaks under one
// tonne, 30% under two, 40% under three. Given noisy measurements, one Dense(1 -> 1) learns
// load = weight * fraction + bias; the program prints the learned weight and bias beside the
// true ones (10 tonnes per unit of fraction, -1 tonne).
#include <random>

#include "example_options.h"

int main(int argc, char** argv) try {
  namespace nn = axon::nn;
  example::Options defaults;
  defaults.name = "regression";
  defaults.epochs = 300;
  defaults.batch_size = 32;
  defaults.optimizer = "sgd";
  defaults.lr = 0.1;
  const example::Options o = example::parse(argc, argv, defaults);

  constexpr double kWeight = 10.0, kBias = -1.0;
  std::mt19937 rng(static_cast<std::uint32_t>(o.seed));
  std::uniform_real_distribution<double> fraction(0.1, 0.6);
  std::normal_distribution<double> noise(0.0, 0.05);
  std::vector<float> x, y;
  for (int i = 0; i < 256; ++i) {
    const double f = fraction(rng);
    x.push_back(static_cast<float>(f));
    y.push_back(static_cast<float>(kWeight * f + kBias + noise(rng)));
  }
  const axon::data::Dataset measurements(axon::Tensor::from_vector({256, 1}, std::span<const float>(x)),
                                         axon::Tensor::from_vector({256, 1}, std::span<const float>(y)));
  axon::Generator generator(o.seed);
  nn::Sequential model;
  model.add(nn::Dense(1, 1, nn::DenseOptions{.generator = &generator}));
  model.to(o.device);
  const auto optimizer = example::make_optimizer(o, model.parameters());
  axon::train::Trainer trainer(model, *optimizer, nn::MSELoss());
  const axon::train::History history =
      trainer.fit(measurements, nullptr,
                  {.epochs = o.epochs, .batch_size = o.batch_size, .seed = o.seed, .display = axon::train::Display::kQuiet});
  const auto& parameters = model.parameters().parameters();
  const float weight = parameters[0].parameter->value.to_vector()[0];
  const float bias = parameters[1].parameter->value.to_vector()[0];
  const double mse = history.epochs.back().loss;
  std::printf("after %zu epochs on %s: mse %.5f\n", history.epochs.size(), trainer.device().str().c_str(), mse);
  std::printf("  weight %.4f  (true %.4f)\n  bias   %.4f  (true %.4f)\n", static_cast<double>(weight), kWeight,
              static_cast<double>(bias), kBias);
  std::printf("  a 50%% alloy holds %.3f tonnes\n", static_cast<double>(weight) * 0.5 + bias);
  const example::Fields own = {{"test_loss", example::number(mse)},
                               {"weight", example::number(weight)},
                               {"bias", example::number(bias)}};
  example::write_metrics(o, example::with_run_fields(own, history, trainer.device()));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "regression: %s\n", e.what());
  return 1;
}
