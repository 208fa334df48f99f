// One-step-ahead forecasting of a noisy periodic series with an LSTM, beside the naive forecasts.
// The series: two seasons (periods 24 and 90 steps) with noise of standard deviation 0.1; the
// first 80% trains, the rest tests. Windows of 48 steps go into an LSTM(1 -> 32) and a linear
// layer on every step, trained (MSE, Adam) to give x[t + 1] at every step t. Reported on the test
// part, at each window's last step: the RMSE of the LSTM, of the naive forecast x[t + 1] = x[t],
// and of the seasonal one x[t + 1] = x[t + 1 - 24]; the noise alone sets the floor (0.1).
//
//   timeseries [common options] [--length N] [--window T]
#include <cmath>
#include <random>

#include "example_options.h"

namespace {

namespace nn = axon::nn;
using axon::Tensor;

constexpr double kNoise = 0.1;
constexpr std::int64_t kSeason = 24;

std::vector<float> make_series(std::int64_t length, std::uint64_t seed) {
  std::mt19937 rng(static_cast<std::uint32_t>(seed));
  std::normal_distribution<double> noise(0.0, kNoise);
  std::vector<float> series(static_cast<std::size_t>(length));
  constexpr double kTwoPi = 6.283185307179586;
  for (std::int64_t t = 0; t < length; ++t) {
    const double value = 0.6 * std::sin(kTwoPi * t / kSeason) + 0.3 * std::sin(kTwoPi * t / 90.0 + 1.0) + noise(rng);
    series[static_cast<std::size_t>(t)] = static_cast<float>(value);
  }
  return series;
}

// Every window of `window` steps starting in [first, last - window): inputs x[s .. s + T),
// targets x[s + 1 .. s + T].
axon::data::Dataset windows(const std::vector<float>& series, std::int64_t first, std::int64_t last, std::int64_t window,
                            axon::Device device) {
  const std::int64_t count = last - first - window;
  if (count < 1) throw axon::ValueError("timeseries: the series is too short for windows of " + std::to_string(window));
  std::vector<float> x(static_cast<std::size_t>(count * window)), y(x.size());
  for (std::int64_t n = 0; n < count; ++n) {
    for (std::int64_t t = 0; t < window; ++t) {
      x[static_cast<std::size_t>(n * window + t)] = series[static_cast<std::size_t>(first + n + t)];
      y[static_cast<std::size_t>(n * window + t)] = series[static_cast<std::size_t>(first + n + t + 1)];
    }
  }
  return {Tensor::from_vector({count, window, 1}, std::span<const float>(x), device),
          Tensor::from_vector({count, window, 1}, std::span<const float>(y), device)};
}

}  // namespace

int main(int argc, char** argv) try {
  example::Options defaults;
  defaults.name = "timeseries";
  defaults.epochs = 30;
  defaults.batch_size = 64;
  defaults.lr = 5e-3;
  const example::Options o = example::parse(argc, argv, defaults, {"length", "window"});
  const auto last = [&](const char* key, const std::string& fallback) {
    return o.extra.count(key) ? o.extra.at(key).back() : fallback;
  };
  const std::int64_t length = std::stoll(last("length", "4000")), window = std::stoll(last("window", "48"));
  if (length < 4 * window || window < 2) throw axon::ValueError("timeseries: needs --window >= 2 and --length >= 4 windows");
  const std::vector<float> series = make_series(length, o.seed);
  const std::int64_t split = length * 4 / 5;
  const axon::data::Dataset train = windows(series, 0, split, window, o.device);
  const axon::data::Dataset test = windows(series, split - window, length, window, o.device);
  std::printf("timeseries: %lld steps, %lld training and %lld test windows of %lld; %s; %s\n", static_cast<long long>(length),
              static_cast<long long>(train.size()), static_cast<long long>(test.size()), static_cast<long long>(window),
              o.device.str().c_str(), axon::threading_info().c_str());

  axon::Generator generator(o.seed);
  nn::Sequential model;
  model.add(nn::LSTM(1, 32, &generator)).add(nn::Dense(32, 1, nn::DenseOptions{.generator = &generator}));
  model.to(o.device);
  const auto optimizer = example::make_optimizer(o, model.parameters());
  axon::train::Trainer trainer(model, *optimizer, nn::MSELoss());
  trainer.distribute(o.world());
  const axon::train::History history =
      trainer.fit(train, &test, {.epochs = o.epochs, .batch_size = o.batch_size, .seed = o.seed});

  // At each test window's last step: the LSTM's forecast of x[t + 1] and the naive ones.
  const std::vector<float> predicted = trainer.predict(test.features()).to_vector();
  const std::vector<float> inputs = test.features().to_vector(), targets = test.targets().to_vector();
  double model_sq = 0, naive_sq = 0, seasonal_sq = 0;
  const std::int64_t count = test.size();
  for (std::int64_t n = 0; n < count; ++n) {
    const auto at = static_cast<std::size_t>(n * window + window - 1);
    const double truth = targets[at];
    const std::size_t next_index = static_cast<std::size_t>(split - window + n + window);  // the series index of truth
    model_sq += std::pow(predicted[at] - truth, 2);
    naive_sq += std::pow(inputs[at] - truth, 2);
    seasonal_sq += std::pow(series[next_index - kSeason] - truth, 2);
  }
  const auto rmse = [count](double sum) { return std::sqrt(sum / static_cast<double>(count)); };
  std::printf("test RMSE of x[t+1]: LSTM %.4f, naive x[t] %.4f, seasonal x[t+1-%lld] %.4f (noise %.2f)\n", rmse(model_sq),
              rmse(naive_sq), static_cast<long long>(kSeason), rmse(seasonal_sq), kNoise);
  const example::Fields own = {{"test_rmse", example::number(rmse(model_sq))},
                               {"naive_rmse", example::number(rmse(naive_sq))},
                               {"seasonal_rmse", example::number(rmse(seasonal_sq))},
                               {"test_loss", example::number(trainer.evaluate(test).loss)}};
  example::write_metrics(o, example::with_run_fields(own, history, trainer.device()));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "timeseries: %s\n", e.what());
  return 1;
}
