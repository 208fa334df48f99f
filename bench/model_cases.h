#pragma once
// The whole-model benchmark cases, shared by axon's side (model_bench.cpp) and its peers in the
// same binary (peers/blas_mlp.cpp, peers/libtorch_peer.cpp): the same shapes, the same synthetic
// data, the same FLOP counts. Names are "<case>/<implementation>/<device>/<configuration>", so
// bench/summarize.py can put each implementation's best configuration beside axon's.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace axon_bench {

// 784-256-128-10 with ReLU (Fashion-MNIST's MLP) and the wide one (4 hidden layers of 1024).
inline const std::vector<std::int64_t> kMlp = {784, 256, 128, 10};
inline const std::vector<std::int64_t> kWide = {784, 1024, 1024, 1024, 1024, 10};
inline constexpr float kLearningRate = 0.01f;
inline constexpr float kMomentum = 0.9f;
inline constexpr std::int64_t kEpochSamples = 60000;  // one Fashion-MNIST epoch

// Multiply-adds of one forward pass per sample, x 2 for FLOPs.
inline double forward_flops(const std::vector<std::int64_t>& sizes, std::int64_t batch) {
  double macs = 0;
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) macs += static_cast<double>(sizes[i] * sizes[i + 1]);
  return 2.0 * macs * static_cast<double>(batch);
}
// A training step's GEMMs: forward, the weight gradients, and the input gradients of every
// layer but the first (nothing needs the gradient of the data).
inline double step_flops(const std::vector<std::int64_t>& sizes, std::int64_t batch) {
  return 3.0 * forward_flops(sizes, batch) - 2.0 * static_cast<double>(sizes[0] * sizes[1] * batch);
}

// The Fashion-MNIST CNN of examples/fashion_mnist_cnn.cpp, trained with Adam (lr 1e-3):
// [N, 1, 28, 28] -> conv 3x3 (16, padding 1, no bias) - BatchNorm2d - ReLU - max pool 2
// -> conv 3x3 (32) - BatchNorm2d - ReLU - max pool 2 -> flatten -> dense 1568-128 - ReLU
// - dropout 0.3 -> dense 128-10.
inline constexpr std::int64_t kCnnSide = 28;
inline constexpr std::int64_t kCnnChannels1 = 16;
inline constexpr std::int64_t kCnnChannels2 = 32;
inline constexpr std::int64_t kCnnHidden = 128;
inline constexpr std::int64_t kCnnClasses = 10;
inline constexpr std::int64_t kCnnFlat = kCnnChannels2 * (kCnnSide / 4) * (kCnnSide / 4);
inline constexpr float kCnnLearningRate = 1e-3f;

// Multiply-adds of the convolutions (3x3 windows at full resolution, then at half) and the dense
// layers; normalisation, activations and pooling are not counted.
inline double cnn_conv1_macs() { return double(kCnnSide * kCnnSide * kCnnChannels1 * 9); }
inline double cnn_forward_flops(std::int64_t batch) {
  const double conv2 = double((kCnnSide / 2) * (kCnnSide / 2) * kCnnChannels2 * kCnnChannels1 * 9);
  const double dense = double(kCnnFlat * kCnnHidden + kCnnHidden * kCnnClasses);
  return 2.0 * (cnn_conv1_macs() + conv2 + dense) * double(batch);
}
// Forward, every weight gradient, and every input gradient but the first convolution's.
inline double cnn_step_flops(std::int64_t batch) {
  return 3.0 * cnn_forward_flops(batch) - 2.0 * cnn_conv1_macs() * double(batch);
}

// The LSTM and GRU steps of issue 22: batch 64 of 100 steps, input 128, hidden 256, one layer
// (batch_first), mean-squared error against a fixed target over every step's output, Adam.
inline constexpr std::int64_t kLstmBatch = 64, kLstmSteps = 100, kLstmInput = 128, kLstmHidden = 256;
// Forward: the gates' products with W_ih and W_hh (4 gate blocks for the LSTM, 3 for the GRU);
// backward: the same products twice (the weights' gradients, and the input's and previous state's).
inline double recurrent_step_flops(int gates) {
  return 3.0 * 2.0 * double(kLstmBatch * kLstmSteps) * gates * double(kLstmHidden) * double(kLstmInput + kLstmHidden);
}

// Inputs in [0, 1) like pixels, labels in [0, classes): the same for every implementation.
struct Batch {
  std::vector<float> x;
  std::vector<std::int32_t> labels;
};
inline Batch synthetic_batch(std::int64_t rows, std::int64_t features, std::int64_t classes, std::uint32_t seed = 1) {
  std::mt19937 engine(seed);
  std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
  std::uniform_int_distribution<std::int32_t> label(0, static_cast<std::int32_t>(classes - 1));
  Batch b;
  b.x.resize(static_cast<std::size_t>(rows * features));
  b.labels.resize(static_cast<std::size_t>(rows));
  for (float& v : b.x) v = pixel(engine);
  for (std::int32_t& v : b.labels) v = label(engine);
  return b;
}

inline void set_rates(benchmark::State& state, double samples_per_iteration, double flops_per_iteration) {
  const auto n = static_cast<double>(state.iterations());
  if (samples_per_iteration > 0) {
    state.counters["samples_per_second"] = benchmark::Counter(samples_per_iteration * n, benchmark::Counter::kIsRate);
  }
  if (flops_per_iteration > 0) {
    state.counters["flops"] = benchmark::Counter(flops_per_iteration * n, benchmark::Counter::kIsRate);
  }
}

// Registers a case timed in microseconds of real time (GPU cases synchronize every iteration).
template <typename F, typename... Args>
void add_case(const std::string& name, F f, Args... args) {
  benchmark::RegisterBenchmark(name.c_str(), f, args...)->Unit(benchmark::kMicrosecond)->UseRealTime();
}

// Thread counts to try: 1 .. the machine's cores, doubling (1, 2, 4, ...) and the count itself.
std::vector<int> thread_counts();

// Registration of each side (called from model_bench.cpp's main).
void register_axon_cases();
void register_blas_peer();
void register_libtorch_peer();  // empty when built without libtorch

}  // namespace axon_bench
