// Whole-model benchmarks: through the real Sequential + optimizer + Trainer path, the training
// step, epoch and inference of 784-256-128-10, the step of a wide MLP, the step and inference of
// the Fashion-MNIST CNN, optimizer steps over 1M and 100M parameters, and the MLP steps' GEMMs
// alone (the floor a step can approach), on every device present; the hand-written BLAS MLP and
// libtorch in the same run (peers/). Each timed iteration ends with a synchronize, so GPU times
// are real. bench/report_models.py turns the JSON into ratios per case; scripts/bench runs it all.
#include <axon/axon.h>
#include <axon/train/trainer.h>

#include <cstdlib>
#include <string>
#include <type_traits>
#include <thread>

#include "model_cases.h"

namespace axon_bench {
namespace {

using axon::Device;
using axon::Tensor;
namespace nn = axon::nn;

int axon_threads() {
  if (const char* env = std::getenv("AXON_BENCH_THREADS")) return std::max(1, std::atoi(env));
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

nn::Sequential mlp(const std::vector<std::int64_t>& sizes, Device device) {
  axon::Generator generator(3);
  nn::Sequential model;
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
    model.add(nn::Dense(sizes[i], sizes[i + 1], nn::DenseOptions{.generator = &generator}));
    if (i + 2 < sizes.size()) model.add(nn::ReLU());
  }
  model.to(device);
  return model;
}

struct Data {
  Tensor x, labels;
};
Data data(std::int64_t rows, const std::vector<std::int64_t>& sizes, Device device) {
  const Batch b = synthetic_batch(rows, sizes.front(), sizes.back());
  return {Tensor::from_vector({rows, sizes.front()}, std::span<const float>(b.x), device),
          Tensor::from_vector({rows}, std::span<const std::int32_t>(b.labels), device)};
}

// Trainer::train_on_batch on one fixed batch, timed after a first step that plans the buffers
// and allocates the optimizer's state.
void time_training(benchmark::State& state, Device device, axon::train::Trainer& trainer, const Data& d) {
  (void)trainer.train_on_batch(d.x, d.labels);
  axon::synchronize(device);
  for (auto _ : state) {
    (void)trainer.train_on_batch(d.x, d.labels);
    axon::synchronize(device);
  }
}

// Eval-mode forward passes on one fixed batch, timed after a first one that plans the buffers.
void time_inference(benchmark::State& state, Device device, nn::Sequential& model, const Tensor& x) {
  model.eval();
  (void)model.forward(x);
  axon::synchronize(device);
  for (auto _ : state) {
    const Tensor& out = model.forward(x);
    benchmark::DoNotOptimize(&out);
    axon::synchronize(device);
  }
}

// One Trainer step (forward, softmax cross-entropy, backward, SGD with momentum).
void step(benchmark::State& state, Device device, std::vector<std::int64_t> sizes, std::int64_t batch, int threads) {
  axon::set_num_threads(threads);
  nn::Sequential model = mlp(sizes, device);
  axon::optim::SGD sgd(model.parameters(), {.lr = kLearningRate, .momentum = kMomentum});
  axon::train::Trainer trainer(model, sgd, nn::CrossEntropyLoss());
  time_training(state, device, trainer, data(batch, sizes, device));
  set_rates(state, static_cast<double>(batch), step_flops(sizes, batch));
}

// The CNN of model_cases.h, built as examples/fashion_mnist_cnn.cpp builds it.
nn::Sequential cnn(Device device) {
  axon::Generator generator(3);
  const nn::ConvOptions conv{.padding = {1, 1}, .bias = false, .generator = &generator};
  nn::Sequential model;
  model.add(nn::Conv2d(1, kCnnChannels1, 3, conv)).add(nn::BatchNorm2d(kCnnChannels1)).add(nn::ReLU());
  model.add(nn::MaxPool2d(2));
  model.add(nn::Conv2d(kCnnChannels1, kCnnChannels2, 3, conv)).add(nn::BatchNorm2d(kCnnChannels2)).add(nn::ReLU());
  model.add(nn::MaxPool2d(2));
  model.add(nn::Flatten()).add(nn::Dense(kCnnFlat, kCnnHidden, nn::DenseOptions{.generator = &generator}));
  model.add(nn::ReLU()).add(nn::Dropout(0.3f));
  model.add(nn::Dense(kCnnHidden, kCnnClasses, nn::DenseOptions{.generator = &generator}));
  model.to(device);
  return model;
}

Data cnn_data(std::int64_t rows, Device device) {
  const Batch b = synthetic_batch(rows, kCnnSide * kCnnSide, kCnnClasses);
  return {Tensor::from_vector({rows, 1, kCnnSide, kCnnSide}, std::span<const float>(b.x), device),
          Tensor::from_vector({rows}, std::span<const std::int32_t>(b.labels), device)};
}

// One CNN training step: forward, softmax cross-entropy, backward, Adam.
void cnn_step(benchmark::State& state, Device device, std::int64_t batch, int threads) {
  axon::set_num_threads(threads);
  nn::Sequential model = cnn(device);
  axon::optim::Adam adam(model.parameters(), {.lr = kCnnLearningRate});
  axon::train::Trainer trainer(model, adam, nn::CrossEntropyLoss());
  time_training(state, device, trainer, cnn_data(batch, device));
  set_rates(state, static_cast<double>(batch), cnn_step_flops(batch));
}

// One LSTM (or GRU) training step (model_cases.h): forward, mean-squared error, backward
// through time, Adam.
template <class Recurrent>
void recurrent_step(benchmark::State& state, Device device, int threads) {
  axon::set_num_threads(threads);
  axon::Generator generator(3);
  nn::Sequential model;
  model.add(Recurrent(kLstmInput, kLstmHidden, &generator));
  model.to(device);
  axon::optim::Adam adam(model.parameters(), {.lr = kCnnLearningRate});
  axon::train::Trainer trainer(model, adam, nn::MSELoss());
  const Batch x = synthetic_batch(kLstmBatch, kLstmSteps * kLstmInput, 1, 1);
  const Batch y = synthetic_batch(kLstmBatch, kLstmSteps * kLstmHidden, 1, 2);
  const Data d{Tensor::from_vector({kLstmBatch, kLstmSteps, kLstmInput}, std::span<const float>(x.x), device),
               Tensor::from_vector({kLstmBatch, kLstmSteps, kLstmHidden}, std::span<const float>(y.x), device)};
  time_training(state, device, trainer, d);
  set_rates(state, static_cast<double>(kLstmBatch), recurrent_step_flops(std::is_same_v<Recurrent, nn::LSTM> ? 4 : 3));
}

void cnn_infer(benchmark::State& state, Device device, std::int64_t batch, int threads) {
  axon::set_num_threads(threads);
  nn::Sequential model = cnn(device);
  time_inference(state, device, model, cnn_data(batch, device).x);
  set_rates(state, static_cast<double>(batch), cnn_forward_flops(batch));
}

// The step without its update: forward, softmax cross-entropy and backward through the same
// Sequential, no optimizer. Beside the step it shows what the optimizer's pass costs, and
// beside gemm_only what the layers themselves add to their GEMMs.
void no_update(benchmark::State& state, Device device, std::vector<std::int64_t> sizes, std::int64_t batch,
               int threads) {
  axon::set_num_threads(threads);
  nn::Sequential model = mlp(sizes, device);
  nn::Loss loss = nn::CrossEntropyLoss();
  const Data d = data(batch, sizes, device);
  model.train();
  const auto forward_backward = [&] {
    loss.compute(model.forward(d.x), d.labels);
    model.backward(loss.grad());
    axon::synchronize(device);
  };
  forward_backward();  // buffers planned, as the step case's first train_on_batch does
  for (auto _ : state) forward_backward();
  set_rates(state, static_cast<double>(batch), step_flops(sizes, batch));
}

// A whole epoch of Trainer::fit over 60000 samples: shuffling, batch gathering, every step.
void epoch(benchmark::State& state, Device device, std::int64_t batch, int threads) {
  axon::set_num_threads(threads);
  nn::Sequential model = mlp(kMlp, device);
  axon::optim::SGD sgd(model.parameters(), {.lr = kLearningRate, .momentum = kMomentum});
  axon::train::Trainer trainer(model, sgd, nn::CrossEntropyLoss());
  const Data d = data(kEpochSamples, kMlp, device);
  const axon::data::Dataset dataset(d.x, d.labels);
  const axon::train::FitOptions options{.epochs = 1, .batch_size = batch, .display = axon::train::Display::kQuiet};
  for (auto _ : state) {
    if (trainer.fit(dataset, nullptr, options).epochs.size() != 1) state.SkipWithError("fit did not run one epoch");
    axon::synchronize(device);
  }
  set_rates(state, static_cast<double>(kEpochSamples), step_flops(kMlp, kEpochSamples));
}

void infer(benchmark::State& state, Device device, std::vector<std::int64_t> sizes, std::int64_t batch, int threads) {
  axon::set_num_threads(threads);
  nn::Sequential model = mlp(sizes, device);
  time_inference(state, device, model, data(batch, sizes, device).x);
  set_rates(state, static_cast<double>(batch), forward_flops(sizes, batch));
}

// The GEMMs of a step (or of inference) alone, in the layouts axon's Dense uses (w [out, in]):
// the time a step would take if everything else were free.
// On the CPU once per GEMM library (axon/cpu_gemm.h; the configuration names it when it is not
// the one the other cases use), so the floor is that of the fastest library present.
void gemm_only(benchmark::State& state, Device device, std::vector<std::int64_t> sizes, std::int64_t batch,
               bool training, int threads, axon::CpuGemm engine) {
  axon::set_num_threads(threads);
  const axon::CpuGemm saved = axon::cpu_gemm();
  axon::set_cpu_gemm(engine);
  const std::size_t layers = sizes.size() - 1;
  std::vector<Tensor> acts, grads, weights, weight_grads;
  for (std::size_t i = 0; i <= layers; ++i) {
    acts.push_back(Tensor::uniform({batch, sizes[i]}, 0, 1, device));
    grads.push_back(Tensor::uniform({batch, sizes[i]}, -1, 1, device));
  }
  for (std::size_t i = 0; i < layers; ++i) {
    weights.push_back(Tensor::uniform({sizes[i + 1], sizes[i]}, -0.1f, 0.1f, device));
    weight_grads.push_back(Tensor::empty({sizes[i + 1], sizes[i]}, device));
  }
  for (auto _ : state) {
    for (std::size_t i = 0; i < layers; ++i) axon::gemm(acts[i], weights[i], acts[i + 1], 1, 0, false, true);
    if (training) {
      for (std::size_t i = layers; i-- > 0;) {
        axon::gemm(grads[i + 1], acts[i], weight_grads[i], 1, 0, true, false);
        if (i > 0) axon::gemm(grads[i + 1], weights[i], grads[i], 1, 0, false, false);
      }
    }
    axon::synchronize(device);
  }
  axon::set_cpu_gemm(saved);
  const double flops = training ? step_flops(sizes, batch) : forward_flops(sizes, batch);
  set_rates(state, static_cast<double>(batch), flops);
}

// gemm_only on the CPU's GEMM library in use, and on the other one under its own configuration
// name ("t2.openblas"); on a GPU once.
void add_gemm_only(const std::string& case_name, Device device, const std::string& config,
                   const std::vector<std::int64_t>& sizes, std::int64_t batch, bool training, int threads) {
  const axon::CpuGemm in_use = axon::cpu_gemm();
  const std::string prefix = case_name + "/gemm_only/" + device.str() + "/" + config;
  add_case(prefix, gemm_only, device, sizes, batch, training, threads, in_use);
  if (device.is_cuda()) return;
  const axon::CpuGemm other = in_use == axon::CpuGemm::kOneDnn ? axon::CpuGemm::kOpenBlas : axon::CpuGemm::kOneDnn;
  add_case(prefix + "." + axon::cpu_gemm_name(other), gemm_only, device, sizes, batch, training, threads, other);
}

// One optimizer step over `parameters` values (gradients fixed, random).
template <typename Optimizer, typename Options>
void optimizer_step(benchmark::State& state, Device device, std::int64_t parameters, Options options, int threads) {
  axon::set_num_threads(threads);
  nn::Sequential model;
  const std::int64_t side = parameters == 1'000'000 ? 1000 : 10000;
  model.add(nn::Dense(side, side, nn::DenseOptions{.bias = false}));
  model.to(device);
  model.parameters().grads().copy_from(Tensor::uniform({side * side}, -1, 1, device));
  Optimizer optimizer(model.parameters(), options);
  optimizer.step();
  axon::synchronize(device);
  for (auto _ : state) {
    optimizer.step();
    axon::synchronize(device);
  }
  state.counters["parameters_per_second"] =
      benchmark::Counter(static_cast<double>(parameters * state.iterations()), benchmark::Counter::kIsRate);
}

}  // namespace

std::vector<int> thread_counts() {
  std::vector<int> counts;
  const int most = axon_threads();
  for (int t = 1; t < most; t *= 2) counts.push_back(t);
  counts.push_back(most);
  return counts;
}

void register_axon_cases() {
  const int t = axon_threads();
  const std::string config = "t" + std::to_string(t);
  for (const Device device : axon::available_devices()) {
    const std::string d = "/" + device.str() + "/" + config;
    std::vector<std::int64_t> step_batches = {128, 1024};
    if (device.is_cuda()) step_batches.push_back(16384);
    for (const std::int64_t batch : step_batches) {
      const std::string b = std::to_string(batch);
      add_case("mlp_step_b" + b + "/axon" + d, step, device, kMlp, batch, t);
      add_gemm_only("mlp_step_b" + b, device, config, kMlp, batch, true, t);
      add_case("mlp_step_b" + b + "/no_update" + d, no_update, device, kMlp, batch, t);
    }
    for (const std::int64_t batch : {std::int64_t{128}, std::int64_t{1024}}) {
      add_case("mlp_epoch_b" + std::to_string(batch) + "/axon" + d, epoch, device, batch, t);
    }
    for (const std::int64_t batch : {std::int64_t{1}, std::int64_t{1024}}) {
      const std::string b = std::to_string(batch);
      add_case("mlp_infer_b" + b + "/axon" + d, infer, device, kMlp, batch, t);
      add_gemm_only("mlp_infer_b" + b, device, config, kMlp, batch, false, t);
    }
    add_case("cnn_step_b128/axon" + d, cnn_step, device, std::int64_t{128}, t);
    add_case("lstm_step_b64_t100/axon" + d, recurrent_step<nn::LSTM>, device, t);
    add_case("gru_step_b64_t100/axon" + d, recurrent_step<nn::GRU>, device, t);
    for (const std::int64_t batch : {std::int64_t{1}, std::int64_t{1024}}) {
      add_case("cnn_infer_b" + std::to_string(batch) + "/axon" + d, cnn_infer, device, batch, t);
    }
    add_case("wide_step_b4096/axon" + d, step, device, kWide, std::int64_t{4096}, t);
    add_gemm_only("wide_step_b4096", device, config, kWide, std::int64_t{4096}, true, t);
    add_case("wide_step_b4096/no_update" + d, no_update, device, kWide, std::int64_t{4096}, t);
    for (const std::int64_t n : {std::int64_t{1'000'000}, std::int64_t{100'000'000}}) {
      const std::string p = n == 1'000'000 ? "1M" : "100M";
      add_case("sgd_momentum_" + p + "/axon" + d, optimizer_step<axon::optim::SGD, axon::optim::SgdOptions>, device, n,
          axon::optim::SgdOptions{.lr = kLearningRate, .momentum = kMomentum}, t);
      add_case("adam_" + p + "/axon" + d, optimizer_step<axon::optim::Adam, axon::optim::AdamOptions>, device, n,
          axon::optim::AdamOptions{}, t);
    }
  }
}

}  // namespace axon_bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("axon", axon::version());
  benchmark::AddCustomContext("threading", axon::threading_info());
  for (const axon::Device device : axon::available_devices()) {
    benchmark::AddCustomContext("device " + device.str(), axon::device_info(device).name);
  }
  axon_bench::register_axon_cases();
  axon_bench::register_blas_peer();
  axon_bench::register_libtorch_peer();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
