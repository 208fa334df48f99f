// libtorch (Debian's libtorch-dev, 1.13) running the same cases in the same binary, in every
// thread configuration a user would try: torch's intra-op threads (at::set_num_threads) times
// OpenBLAS's threads, named "t<torch>b<blas>"; bench/summarize.py reports the best of them.
// Built when CMake finds Torch (AXON_BENCH_LIBTORCH); otherwise register_libtorch_peer is empty.
#include "../model_cases.h"

#ifdef AXON_BENCH_WITH_LIBTORCH
#include <cblas.h>
#include <torch/torch.h>

namespace axon_bench {
namespace {

torch::nn::Sequential mlp(const std::vector<std::int64_t>& sizes) {
  torch::manual_seed(3);
  torch::nn::Sequential model;
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
    model->push_back(torch::nn::Linear(sizes[i], sizes[i + 1]));
    if (i + 2 < sizes.size()) model->push_back(torch::nn::ReLU());
  }
  return model;
}

struct TorchData {
  torch::Tensor x, labels;
};
TorchData data(std::int64_t rows, const std::vector<std::int64_t>& sizes) {
  const Batch b = synthetic_batch(rows, sizes.front(), sizes.back());
  return {torch::from_blob(const_cast<float*>(b.x.data()), {rows, sizes.front()}).clone(),
          torch::from_blob(const_cast<std::int32_t*>(b.labels.data()), {rows}, torch::kInt32).to(torch::kInt64)};
}

// OpenBLAS first: its OpenMP build also sets the calling thread's OpenMP count, which torch's
// call then sets to its own. (The OpenMP OpenBLAS follows the caller's OpenMP count at each
// GEMM, so "b" matters mostly where libtorch calls BLAS from outside its parallel regions.)
void use_threads(int torch_threads, int blas_threads) {
  openblas_set_num_threads(blas_threads);
  torch::set_num_threads(torch_threads);
}

void train_step(torch::nn::Sequential& model, torch::optim::SGD& sgd, const torch::Tensor& x, const torch::Tensor& y) {
  sgd.zero_grad();
  torch::nn::functional::cross_entropy(model->forward(x), y).backward();
  sgd.step();
}

torch::optim::SGDOptions sgd_options() { return torch::optim::SGDOptions(kLearningRate).momentum(kMomentum); }

void step(benchmark::State& state, std::vector<std::int64_t> sizes, std::int64_t batch, int tt, int bt) {
  use_threads(tt, bt);
  auto model = mlp(sizes);
  torch::optim::SGD sgd(model->parameters(), sgd_options());
  const TorchData d = data(batch, sizes);
  train_step(model, sgd, d.x, d.labels);
  for (auto _ : state) train_step(model, sgd, d.x, d.labels);
  set_rates(state, double(batch), step_flops(sizes, batch));
}

void epoch(benchmark::State& state, std::int64_t batch, int tt, int bt) {
  use_threads(tt, bt);
  auto model = mlp(kMlp);
  torch::optim::SGD sgd(model->parameters(), sgd_options());
  const TorchData d = data(kEpochSamples, kMlp);
  for (auto _ : state) {
    const torch::Tensor order = torch::randperm(kEpochSamples, torch::kInt64);
    for (std::int64_t begin = 0; begin < kEpochSamples; begin += batch) {
      const torch::Tensor rows = order.slice(0, begin, std::min(begin + batch, kEpochSamples));
      train_step(model, sgd, d.x.index_select(0, rows), d.labels.index_select(0, rows));
    }
  }
  set_rates(state, double(kEpochSamples), step_flops(kMlp, kEpochSamples));
}

void infer(benchmark::State& state, std::int64_t batch, int tt, int bt) {
  use_threads(tt, bt);
  auto model = mlp(kMlp);
  model->eval();
  const TorchData d = data(batch, kMlp);
  torch::NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(model->forward(d.x).data_ptr());
  set_rates(state, double(batch), forward_flops(kMlp, batch));
}

// The CNN of model_cases.h in torch::nn, in PyTorch's default init.
torch::nn::Sequential cnn() {
  torch::manual_seed(3);
  namespace tnn = torch::nn;
  const auto conv = [](std::int64_t in, std::int64_t out) {
    return tnn::Conv2d(tnn::Conv2dOptions(in, out, 3).padding(1).bias(false));
  };
  return tnn::Sequential(conv(1, kCnnChannels1), tnn::BatchNorm2d(kCnnChannels1), tnn::ReLU(), tnn::MaxPool2d(2),
                         conv(kCnnChannels1, kCnnChannels2), tnn::BatchNorm2d(kCnnChannels2), tnn::ReLU(),
                         tnn::MaxPool2d(2), tnn::Flatten(), tnn::Linear(kCnnFlat, kCnnHidden), tnn::ReLU(),
                         tnn::Dropout(0.3), tnn::Linear(kCnnHidden, kCnnClasses));
}

TorchData cnn_data(std::int64_t rows) {
  TorchData d = data(rows, {kCnnSide * kCnnSide, kCnnClasses});
  d.x = d.x.view({rows, 1, kCnnSide, kCnnSide});
  return d;
}

void cnn_step(benchmark::State& state, std::int64_t batch, int tt, int bt) {
  use_threads(tt, bt);
  auto model = cnn();
  torch::optim::Adam adam(model->parameters(), torch::optim::AdamOptions(kCnnLearningRate));
  const TorchData d = cnn_data(batch);
  const auto train_step = [&] {
    adam.zero_grad();
    torch::nn::functional::cross_entropy(model->forward(d.x), d.labels).backward();
    adam.step();
  };
  train_step();
  for (auto _ : state) train_step();
  set_rates(state, double(batch), cnn_step_flops(batch));
}

void cnn_infer(benchmark::State& state, std::int64_t batch, int tt, int bt) {
  use_threads(tt, bt);
  auto model = cnn();
  model->eval();
  const TorchData d = cnn_data(batch);
  torch::NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(model->forward(d.x).data_ptr());
  set_rates(state, double(batch), cnn_forward_flops(batch));
}

template <typename Optimizer, typename Options>
void optimizer_step(benchmark::State& state, std::int64_t parameters, Options options, int tt, int bt) {
  use_threads(tt, bt);
  torch::Tensor w = torch::rand({parameters}).requires_grad_(true);
  w.mutable_grad() = torch::rand({parameters}) * 2 - 1;
  Optimizer optimizer(std::vector<torch::Tensor>{w}, options);
  optimizer.step();
  for (auto _ : state) optimizer.step();
  state.counters["parameters_per_second"] =
      benchmark::Counter(double(parameters * state.iterations()), benchmark::Counter::kIsRate);
}

}  // namespace

void register_libtorch_peer() {
  for (const int tt : thread_counts()) {
    for (const int bt : thread_counts()) {
      const std::string d = "/cpu/t" + std::to_string(tt) + "b" + std::to_string(bt);
      for (const std::int64_t batch : {128, 1024}) {
        add_case("mlp_step_b" + std::to_string(batch) + "/libtorch" + d, step, kMlp, batch, tt, bt);
        add_case("mlp_epoch_b" + std::to_string(batch) + "/libtorch" + d, epoch, batch, tt, bt);
      }
      for (const std::int64_t batch : {1, 1024}) add_case("mlp_infer_b" + std::to_string(batch) + "/libtorch" + d, infer, batch, tt, bt);
      add_case("cnn_step_b128/libtorch" + d, cnn_step, std::int64_t{128}, tt, bt);
      for (const std::int64_t batch : {1, 1024}) add_case("cnn_infer_b" + std::to_string(batch) + "/libtorch" + d, cnn_infer, batch, tt, bt);
      add_case("wide_step_b4096/libtorch" + d, step, kWide, std::int64_t{4096}, tt, bt);
      for (const std::int64_t n : {std::int64_t{1'000'000}, std::int64_t{100'000'000}}) {
        const std::string p = n == 1'000'000 ? "1M" : "100M";
        add_case("sgd_momentum_" + p + "/libtorch" + d, optimizer_step<torch::optim::SGD, torch::optim::SGDOptions>, n,
            sgd_options(), tt, bt);
        add_case("adam_" + p + "/libtorch" + d, optimizer_step<torch::optim::Adam, torch::optim::AdamOptions>, n,
            torch::optim::AdamOptions(1e-3), tt, bt);
      }
    }
  }
}

}  // namespace axon_bench
#else
namespace axon_bench {
void register_libtorch_peer() {}
}  // namespace axon_bench
#endif
