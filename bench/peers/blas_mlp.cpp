// The floor-of-overhead peer: an MLP written by hand on cblas_sgemm and plain loops, as a C++
// engineer would write one for this single network (row-major, weights [in, out], bias + ReLU in
// one pass over each GEMM's output, softmax cross-entropy, SGD with momentum as one loop over
// each weight). OpenBLAS gets the benchmark's thread count, the loops OpenMP's. It shares no
// code with axon: what axon loses to it is axon's overhead.
#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "../model_cases.h"

namespace axon_bench {
namespace {

class BlasMlp {
 public:
  BlasMlp(std::vector<std::int64_t> sizes, std::int64_t batch) : sizes_(std::move(sizes)), batch_(batch) {
    std::mt19937 engine(3);
    const std::size_t layers = sizes_.size() - 1;
    for (std::size_t l = 0; l < layers; ++l) {
      const std::int64_t in = sizes_[l], out = sizes_[l + 1];
      std::uniform_real_distribution<float> init(-1.0f / std::sqrt(float(in)), 1.0f / std::sqrt(float(in)));
      w_.emplace_back(in * out);
      for (float& v : w_.back()) v = init(engine);
      b_.emplace_back(out, 0.0f);
      dw_.emplace_back(in * out);
      db_.emplace_back(out);
      vw_.emplace_back(in * out, 0.0f);
      vb_.emplace_back(out, 0.0f);
    }
    for (std::size_t l = 0; l <= layers; ++l) {
      a_.emplace_back(batch * sizes_[l]);
      da_.emplace_back(batch * sizes_[l]);
    }
  }

  // a_[0] is the input batch.
  float* input() { return a_[0].data(); }

  // One training step on the rows in input(): forward, loss gradient, backward, update.
  void train_step(const std::int32_t* labels) {
    forward();
    loss_gradient(labels);
    backward();
    update();
  }

  void forward() {
    const std::size_t layers = w_.size();
    for (std::size_t l = 0; l < layers; ++l) {
      const int in = int(sizes_[l]), out = int(sizes_[l + 1]);
      float* z = a_[l + 1].data();
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(batch_), out, in, 1.0f, a_[l].data(), in,
                  w_[l].data(), out, 0.0f, z, out);
      const float* bias = b_[l].data();
      const bool relu = l + 1 < layers;
#pragma omp parallel for if (batch_ * out > 32768)
      for (std::int64_t r = 0; r < batch_; ++r) {
        float* row = z + r * out;
#pragma omp simd
        for (int c = 0; c < out; ++c) row[c] = relu ? std::max(row[c] + bias[c], 0.0f) : row[c] + bias[c];
      }
    }
  }

  // Softmax cross-entropy of the last layer's output against labels: its gradient (mean over
  // the batch) into da_.back().
  void loss_gradient(const std::int32_t* labels) {
    const int classes = int(sizes_.back());
    const float* z = a_.back().data();
    float* g = da_.back().data();
    for (std::int64_t r = 0; r < batch_; ++r) {
      const float* row = z + r * classes;
      const float top = *std::max_element(row, row + classes);
      float sum = 0;
      for (int c = 0; c < classes; ++c) sum += std::exp(row[c] - top);
      for (int c = 0; c < classes; ++c) {
        g[r * classes + c] = (std::exp(row[c] - top) / sum - (c == labels[r] ? 1.0f : 0.0f)) / float(batch_);
      }
    }
  }

  void backward() {
    for (std::size_t l = w_.size(); l-- > 0;) {
      const int in = int(sizes_[l]), out = int(sizes_[l + 1]);
      const float* dz = da_[l + 1].data();
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, in, out, int(batch_), 1.0f, a_[l].data(), in, dz, out,
                  0.0f, dw_[l].data(), out);
      float* db = db_[l].data();
      std::fill(db, db + out, 0.0f);
      for (std::int64_t r = 0; r < batch_; ++r) {
#pragma omp simd
        for (int c = 0; c < out; ++c) db[c] += dz[r * out + c];
      }
      if (l == 0) break;
      float* da = da_[l].data();
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(batch_), in, out, 1.0f, dz, out, w_[l].data(), out,
                  0.0f, da, in);
      const float* a = a_[l].data();  // ReLU's output: the gradient passes where it is positive
      const std::int64_t n = batch_ * in;
#pragma omp parallel for simd if (n > 32768)
      for (std::int64_t i = 0; i < n; ++i) da[i] = a[i] > 0.0f ? da[i] : 0.0f;
    }
  }

  void update() {
    for (std::size_t l = 0; l < w_.size(); ++l) {
      sgd_momentum(w_[l], dw_[l], vw_[l]);
      sgd_momentum(b_[l], db_[l], vb_[l]);
    }
  }

  static void sgd_momentum(std::vector<float>& w, const std::vector<float>& g, std::vector<float>& v) {
    const std::int64_t n = std::int64_t(w.size());
    float* wp = w.data();
    const float* gp = g.data();
    float* vp = v.data();
#pragma omp parallel for simd if (n > 32768)
    for (std::int64_t i = 0; i < n; ++i) {
      vp[i] = kMomentum * vp[i] + gp[i];
      wp[i] -= kLearningRate * vp[i];
    }
  }

  const float* output() const { return a_.back().data(); }

 private:
  std::vector<std::int64_t> sizes_;
  std::int64_t batch_;
  std::vector<std::vector<float>> w_, b_, dw_, db_, vw_, vb_, a_, da_;
};

void use_threads(int threads) {
  omp_set_num_threads(threads);
  openblas_set_num_threads(threads);
}

void step(benchmark::State& state, std::vector<std::int64_t> sizes, std::int64_t batch, int threads) {
  use_threads(threads);
  BlasMlp mlp(sizes, batch);
  const Batch data = synthetic_batch(batch, sizes.front(), sizes.back());
  std::copy(data.x.begin(), data.x.end(), mlp.input());
  for (auto _ : state) mlp.train_step(data.labels.data());
  set_rates(state, double(batch), step_flops(sizes, batch));
}

// An epoch: a shuffled order, each batch's rows copied in, a step.
void epoch(benchmark::State& state, std::int64_t batch, int threads) {
  use_threads(threads);
  BlasMlp mlp(kMlp, batch);
  const std::int64_t features = kMlp.front();
  const Batch data = synthetic_batch(kEpochSamples, features, kMlp.back());
  std::vector<std::int32_t> order(kEpochSamples), labels(batch);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937 engine(5);
  for (auto _ : state) {
    std::shuffle(order.begin(), order.end(), engine);
    // (a last partial batch is dropped: the peer's batch size is fixed)
    for (std::int64_t begin = 0; begin + batch <= kEpochSamples; begin += batch) {
      for (std::int64_t r = 0; r < batch; ++r) {
        const std::int32_t row = order[begin + r];
        std::copy_n(data.x.data() + row * features, features, mlp.input() + r * features);
        labels[r] = data.labels[row];
      }
      mlp.train_step(labels.data());
    }
  }
  set_rates(state, double(kEpochSamples / batch * batch), step_flops(kMlp, kEpochSamples / batch * batch));
}

void infer(benchmark::State& state, std::int64_t batch, int threads) {
  use_threads(threads);
  BlasMlp mlp(kMlp, batch);
  const Batch data = synthetic_batch(batch, kMlp.front(), kMlp.back());
  std::copy(data.x.begin(), data.x.end(), mlp.input());
  for (auto _ : state) {
    mlp.forward();
    benchmark::DoNotOptimize(mlp.output());
  }
  set_rates(state, double(batch), forward_flops(kMlp, batch));
}

void sgd(benchmark::State& state, std::int64_t parameters, int threads) {
  use_threads(threads);
  std::vector<float> w(parameters, 0.5f), g(parameters, 0.25f), v(parameters, 0.0f);
  for (auto _ : state) BlasMlp::sgd_momentum(w, g, v);
  state.counters["parameters_per_second"] =
      benchmark::Counter(double(parameters * state.iterations()), benchmark::Counter::kIsRate);
}

}  // namespace

void register_blas_peer() {
  for (const int t : thread_counts()) {
    const std::string d = "/cpu/t" + std::to_string(t);
    for (const std::int64_t batch : {128, 1024}) {
      add_case("mlp_step_b" + std::to_string(batch) + "/blas" + d, step, kMlp, batch, t);
      add_case("mlp_epoch_b" + std::to_string(batch) + "/blas" + d, epoch, batch, t);
    }
    for (const std::int64_t batch : {1, 1024}) add_case("mlp_infer_b" + std::to_string(batch) + "/blas" + d, infer, batch, t);
    add_case("wide_step_b4096/blas" + d, step, kWide, std::int64_t{4096}, t);
    add_case("sgd_momentum_1M/blas" + d, sgd, std::int64_t{1'000'000}, t);
    add_case("sgd_momentum_100M/blas" + d, sgd, std::int64_t{100'000'000}, t);
  }
}

}  // namespace axon_bench
