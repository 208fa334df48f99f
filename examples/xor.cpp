// XOR, the article's first network: the simplest function no straight line can draw, learned by
// 2 -> 8 (tanh) -> 1 (sigmoid) until the mean squared error is under 0.01. Prints the four
// answers. (examples/xor_from_ops.cpp writes the same network with the raw ops.)
#include "example_options.h"

namespace {

// One line every `every` epochs: the error going down.
class EveryNthEpoch final : public axon::train::Callback {
 public:
  explicit EveryNthEpoch(std::int64_t every) : every_(every) {}
  void on_epoch_end(axon::train::Trainer&, const axon::train::EpochMetrics& m) override {
    if (m.epoch % every_ == 0) std::printf("epoch %5lld: mse %.5f\n", static_cast<long long>(m.epoch), m.loss);
  }

 private:
  std::int64_t every_;
};

}  // namespace

int main(int argc, char** argv) try {
  namespace nn = axon::nn;
  example::Options defaults;
  defaults.name = "xor";
  defaults.epochs = 5000;
  defaults.batch_size = 4;
  defaults.lr = 0.05;
  const example::Options o = example::parse(argc, argv, defaults);

  const axon::Tensor x = axon::Tensor::from_vector({4, 2}, std::vector<float>{0, 0, 0, 1, 1, 0, 1, 1});
  const axon::Tensor y = axon::Tensor::from_vector({4, 1}, std::vector<float>{0, 1, 1, 0});
  const axon::data::Dataset cases(x, y);

  axon::Generator generator(o.seed);
  nn::Sequential model;
  model.add(nn::Dense(2, 8, nn::DenseOptions{.generator = &generator}))
      .add(nn::Tanh())
      .add(nn::Dense(8, 1, nn::DenseOptions{.generator = &generator}))
      .add(nn::Sigmoid());
  model.to(o.device);
  const auto optimizer = example::make_optimizer(o, model.parameters());
  axon::train::Trainer trainer(model, *optimizer, nn::MSELoss());
  EveryNthEpoch progress(500);
  const axon::train::History history = trainer.fit(
      cases, nullptr,
      {.epochs = o.epochs, .batch_size = o.batch_size, .seed = o.seed, .target_loss = 0.01,
       .display = axon::train::Display::kQuiet},
      {&progress});
  const double mse = history.epochs.empty() ? 0.0 : history.epochs.back().loss;
  std::printf("stopped after %zu epochs (%s): mse %.5f on %s\n", history.epochs.size(), axon::train::stop_reason_name(history.stop_reason),
              mse, trainer.device().str().c_str());
  const std::vector<float> answers = trainer.predict(x).to_vector();
  for (int i = 0; i < 4; ++i) {
    std::printf("  %d xor %d = %d   network says %.3f\n", i / 2, i % 2, (i / 2) ^ (i % 2), static_cast<double>(answers[i]));
  }
  const example::Fields own = {{"test_loss", example::number(mse)}};
  example::write_metrics(o, example::with_run_fields(own, history, trainer.device()));
  return mse < 0.01 ? 0 : 2;
} catch (const std::exception& e) {
  std::fprintf(stderr, "xor: %s\n", e.what());
  return 1;
}
