// axon::dist and the data-parallel Trainer, run by ctest under `mpirun -np 2` and `-np 3` (and
// alone, as world 1). Every rank runs every test; a test's checks hold on every rank.
//
// The collectives against values each rank can compute alone; data-parallel fits against a
// single-process fit of the same data (W ranks x batch B = one process x batch W B), the weights
// hashed and gathered after every step, checkpoints resumed across processes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <unistd.h>

#include "axon/axon.h"
#include "axon/dist/communicator.h"
#include "step_checker.h"
#include "test_util.h"

namespace {

namespace nn = axon::nn;
namespace dist = axon::dist;
namespace train = axon::train;
using axon::Device;
using axon::Tensor;

dist::Communicator* g_world = nullptr;
dist::Communicator& world() { return *g_world; }

// The same random data on every rank: 10 features, 3 classes from a fixed linear rule.
axon::data::Dataset classes(std::int64_t n, std::uint64_t seed) {
  axon::Generator generator(seed);
  const Tensor x = Tensor::normal({n, 10}, 0.0f, 1.0f, Device::cpu(), generator);
  const std::vector<float> v = x.to_vector();
  std::vector<std::int32_t> labels(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    const float* row = &v[static_cast<std::size_t>(i * 10)];
    const float a = row[0] + row[1] - row[2], b = row[3] - row[4] + 0.5f * row[5];
    labels[static_cast<std::size_t>(i)] = a > 0.3f ? 0 : b > 0.0f ? 1 : 2;
  }
  return {x, Tensor::from_vector({n}, std::span<const std::int32_t>(labels))};
}

nn::Sequential mlp(std::uint64_t seed, float dropout) {
  axon::Generator generator(seed);
  nn::Sequential model;
  model.add(nn::Dense(10, 16, nn::DenseOptions{.activation = axon::Activation::kRelu, .generator = &generator}));
  if (dropout > 0) model.add(nn::Dropout(dropout));
  model.add(nn::Dense(16, 3, nn::DenseOptions{.generator = &generator}));
  return model;
}

// Every rank's hash of the weights after every step: equal everywhere, or the step diverged.
class WeightsAgree : public train::Callback {
 public:
  void on_batch_end(train::Trainer& trainer, std::int64_t step) override {
    const std::uint64_t mine = dist::hash_bytes(trainer.model().parameters().values());
    for (const std::uint64_t h : world().all_gather(mine)) {
      if (h != mine) ++disagreements;
    }
    ++steps;
    (void)step;
  }
  std::int64_t steps = 0;
  std::int64_t disagreements = 0;
};

// A folder every rank names alike (rank 0's choice, broadcast).
std::filesystem::path shared_folder(const std::string& name) {
  std::string path = (std::filesystem::temp_directory_path() / ("axon-dist-" + name + "-")).string();
  std::uint64_t id = world().rank() == 0 ? static_cast<std::uint64_t>(::getpid()) : 0;
  world().broadcast(std::span<std::byte>(reinterpret_cast<std::byte*>(&id), sizeof id), 0);
  path += std::to_string(id);
  world().barrier();
  if (world().rank() == 0) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  world().barrier();
  return path;
}

// ---- the collectives ----

TEST(Communicator, AllReduceSumsAveragesAndTakesTheMaximum) {
  const int w = world().world_size(), r = world().rank();
  std::vector<float> mine(1000);
  for (std::size_t i = 0; i < mine.size(); ++i) mine[i] = static_cast<float>((r + 1) * 0.25 + static_cast<double>(i));
  const auto expect = [&](dist::Reduction op, std::size_t i) {
    double acc = op == dist::Reduction::kMax ? -1e300 : 0.0;
    for (int k = 0; k < w; ++k) {
      const double v = static_cast<float>((k + 1) * 0.25 + static_cast<double>(i));
      acc = op == dist::Reduction::kMax ? std::max(acc, v) : acc + v;
    }
    return op == dist::Reduction::kAverage ? acc / w : acc;
  };
  for (const dist::Reduction op : {dist::Reduction::kSum, dist::Reduction::kAverage, dist::Reduction::kMax}) {
    const Tensor t = Tensor::from_vector({10, 100}, std::span<const float>(mine));
    world().all_reduce(t, op);
    const std::vector<float> got = t.to_vector();
    for (std::size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], expect(op, i), 1e-3) << "element " << i;
    // Every rank holds the same bits.
    for (const std::uint64_t h : world().all_gather(dist::hash_bytes(t))) EXPECT_EQ(h, dist::hash_bytes(t));
  }
}

TEST(Communicator, BroadcastsTensorsBytesAndGathersValues) {
  const int r = world().rank();
  const Tensor f = Tensor::full({3, 4}, static_cast<float>(r + 7));
  world().broadcast(f, 0);
  for (const float v : f.to_vector()) EXPECT_EQ(v, 7.0f);
  const std::vector<std::int32_t> ints{r, r + 1, r + 2};
  const Tensor i = Tensor::from_vector({3}, std::span<const std::int32_t>(ints));
  const int root = world().world_size() - 1;
  world().broadcast(i, root);
  EXPECT_EQ(i.to_int_vector(), (std::vector<std::int32_t>{root, root + 1, root + 2}));
  const std::vector<std::uint64_t> gathered = world().all_gather(static_cast<std::uint64_t>(100 + r));
  ASSERT_EQ(gathered.size(), static_cast<std::size_t>(world().world_size()));
  for (std::size_t k = 0; k < gathered.size(); ++k) EXPECT_EQ(gathered[k], 100 + k);
  double values[2] = {1.0, static_cast<double>(r)};
  world().all_reduce(std::span<double>(values, 2), dist::Reduction::kSum);
  EXPECT_EQ(values[0], world().world_size());
  world().barrier();
}

TEST(Communicator, RefusesWhatItCannotReduce) {
  const Tensor ints = Tensor::zeros({4}, Device::cpu(), axon::DType::kInt32);
  EXPECT_THROW(world().all_reduce(ints, dist::Reduction::kSum), axon::DTypeError);
  EXPECT_THROW(world().all_reduce(Tensor(), dist::Reduction::kSum), axon::ValueError);
  EXPECT_THROW(world().broadcast(Tensor::zeros({2}), world().world_size()), axon::ValueError);
  EXPECT_THROW(world().broadcast(Tensor::zeros({2}), -1), axon::ValueError);
  world().barrier();  // still usable: the checks came before any message
}

// ---- data parallel fit ----

train::FitOptions quiet(std::int64_t epochs, std::int64_t batch) {
  return {.epochs = epochs, .batch_size = batch, .seed = 11, .display = train::Display::kQuiet};
}

TEST(DataParallel, EveryRankKeepsTheSameWeightsAfterEveryStep) {
  // Each rank starts from other weights (rank 0's are broadcast), draws its own dropout masks,
  // and the set (203 rows) does not split evenly: the order is padded.
  nn::Sequential model = mlp(100 + static_cast<std::uint64_t>(world().rank()), 0.3f);
  axon::optim::Adam adam(model.parameters(), {.lr = 1e-2});
  train::Trainer trainer(model, adam, nn::CrossEntropyLoss());
  trainer.distribute(&world());
  WeightsAgree agree;
  const axon::data::Dataset data = classes(203, 5);
  const train::History history = trainer.fit(data, &data, quiet(3, 16), {&agree});
  const std::int64_t w = world().world_size();
  const std::int64_t share = (203 + w - 1) / w;
  EXPECT_EQ(agree.steps, 3 * ((share + 15) / 16));
  EXPECT_EQ(agree.disagreements, 0);
  EXPECT_EQ(history.samples, 3 * share * w);  // the padded order's every position, on every rank
  // The metrics are every rank's: the same everywhere.
  double loss = history.epochs.back().loss, val = *history.epochs.back().val_loss;
  double sums[2] = {loss, val};
  world().all_reduce(std::span<double>(sums, 2), dist::Reduction::kMax);
  EXPECT_EQ(sums[0], loss);
  EXPECT_EQ(sums[1], val);
  // And the model learned.
  EXPECT_GT(*history.epochs.back().val_accuracy, 0.6);
}

TEST(DataParallel, WRanksOfBatchBMatchOneProcessOfBatchWB) {
  const std::int64_t w = world().world_size();
  const std::int64_t batch = 8;
  const axon::data::Dataset data = classes(48 * w, 9);  // whole batches: no padding, no short batch
  const train::FitOptions options = quiet(2, batch);
  nn::Sequential parallel_model = mlp(3, 0.0f);
  axon::optim::SGD sgd(parallel_model.parameters(), {.lr = 0.1, .momentum = 0.9});
  train::Trainer parallel(parallel_model, sgd, nn::CrossEntropyLoss());
  parallel.distribute(&world());
  const train::History ph = parallel.fit(data, &data, options);

  nn::Sequential alone_model = mlp(3, 0.0f);
  axon::optim::SGD alone_sgd(alone_model.parameters(), {.lr = 0.1, .momentum = 0.9});
  train::Trainer alone(alone_model, alone_sgd, nn::CrossEntropyLoss());
  train::FitOptions big = options;
  big.batch_size = batch * w;
  const train::History ah = alone.fit(data, &data, big);

  const std::vector<float> a = parallel_model.parameters().values().to_vector();
  const std::vector<float> b = alone_model.parameters().values().to_vector();
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(double(a[i]) - double(b[i])));
  EXPECT_LT(worst, 2e-5) << "the largest weight difference after " << ah.epochs.size() << " epochs";
  for (std::size_t e = 0; e < ah.epochs.size(); ++e) {
    EXPECT_NEAR(ph.epochs[e].loss, ah.epochs[e].loss, 1e-5 * std::max(1.0, ah.epochs[e].loss)) << "epoch " << e + 1;
    EXPECT_NEAR(*ph.epochs[e].val_loss, *ah.epochs[e].val_loss, 1e-5) << "epoch " << e + 1;
    EXPECT_NEAR(*ph.epochs[e].val_accuracy, *ah.epochs[e].val_accuracy, 1e-12) << "epoch " << e + 1;
  }
}

TEST(DataParallel, EvaluateSplitsTheSetAndReducesIt) {
  nn::Sequential model = mlp(4, 0.0f);
  axon::optim::SGD sgd(model.parameters(), {.lr = 0.1});
  train::Trainer trainer(model, sgd, nn::CrossEntropyLoss());
  const axon::data::Dataset data = classes(101, 6);  // parts of unequal size, some smaller than a batch
  const train::Evaluation alone = trainer.evaluate(data, 7);
  trainer.distribute(&world());
  const train::Evaluation together = trainer.evaluate(data, 7);
  EXPECT_EQ(together.samples, 101);
  EXPECT_NEAR(together.loss, alone.loss, 1e-6);
  EXPECT_DOUBLE_EQ(*together.accuracy, *alone.accuracy);
}

// Requests a stop on one rank only: every rank stops after the same epoch.
class StopOnOneRank : public train::Callback {
 public:
  StopOnOneRank(int rank, bool mid_epoch) : rank_(rank), mid_epoch_(mid_epoch) {}
  void on_batch_end(train::Trainer& trainer, std::int64_t step) override {
    if (mid_epoch_ && step == 2 && trainer.rank() == rank_) trainer.request_stop();
  }
  void on_epoch_end(train::Trainer& trainer, const train::EpochMetrics& m) override {
    if (!mid_epoch_ && m.epoch == 2 && trainer.rank() == rank_) trainer.request_stop();
  }

 private:
  int rank_;
  bool mid_epoch_;
};

TEST(DataParallel, AStopOnOneRankStopsEveryRankAtTheEpochsEnd) {
  for (const bool mid_epoch : {false, true}) {
    nn::Sequential model = mlp(5, 0.0f);
    axon::optim::SGD sgd(model.parameters(), {.lr = 0.1});
    train::Trainer trainer(model, sgd, nn::CrossEntropyLoss());
    trainer.distribute(&world());
    StopOnOneRank stop(world().world_size() - 1, mid_epoch);
    const train::History history = trainer.fit(classes(90, 7), nullptr, quiet(6, 8), {&stop});
    EXPECT_EQ(history.epochs.size(), mid_epoch ? 1u : 2u) << (mid_epoch ? "mid-epoch" : "at an epoch's end");
    EXPECT_EQ(history.stop_reason, train::StopReason::kCallback);
  }
}

TEST(DataParallel, ANonFiniteLossOnOneRankIsSkippedByEveryRank) {
  axon::data::Dataset data = classes(64, 8);
  std::vector<float> x = data.features().to_vector();
  x[5 * 10] = std::nanf("");  // row 5: wherever it lands, one rank's batch is NaN
  data = axon::data::Dataset(Tensor::from_vector({64, 10}, std::span<const float>(x)), data.targets());
  nn::Sequential model = mlp(6, 0.0f);
  axon::optim::SGD sgd(model.parameters(), {.lr = 0.1});
  train::Trainer trainer(model, sgd, nn::CrossEntropyLoss());
  trainer.distribute(&world());
  WeightsAgree agree;
  train::FitOptions options = quiet(2, 8);
  options.nan_policy = train::NanPolicy::kSkip;
  const train::History history = trainer.fit(data, nullptr, options, {&agree});
  EXPECT_EQ(agree.disagreements, 0);
  for (const train::EpochMetrics& m : history.epochs) EXPECT_EQ(m.skipped_batches, 1) << "epoch " << m.epoch;
  for (const float v : model.parameters().values().to_vector()) ASSERT_TRUE(std::isfinite(v));
}

TEST(DataParallel, RanksThatDisagreeOnTheFitAreNamedAndNothingHangs) {
  nn::Sequential model = mlp(7, 0.0f);
  axon::optim::SGD sgd(model.parameters(), {.lr = 0.1});
  train::Trainer trainer(model, sgd, nn::CrossEntropyLoss());
  trainer.distribute(&world());
  const bool odd_one = world().world_size() > 1 && world().rank() == 1;
  const train::FitOptions options = quiet(1, odd_one ? 16 : 8);
  if (world().world_size() == 1) GTEST_SKIP() << "needs two ranks";
  try {
    trainer.fit(classes(40, 3), nullptr, options);
    ADD_FAILURE() << "fit went on with ranks that disagree";
  } catch (const axon::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("rank(s) 1 called fit with other"), std::string::npos) << e.what();
  }
  // The communicator is still good, and the next fit runs — also after rank 1 trained alone in
  // between (a fresh fit does not care how many epochs a trainer ran before).
  if (odd_one) {
    trainer.distribute(nullptr);
    trainer.fit(classes(40, 3), nullptr, quiet(2, 8));
    trainer.distribute(&world());
  }
  EXPECT_NO_THROW(trainer.fit(classes(40, 3), nullptr, quiet(1, 8)));
}

TEST(DataParallel, CheckpointsResumeExactlyAndNeedTheSameWorldSize) {
  const std::filesystem::path folder = shared_folder("resume");
  const axon::data::Dataset data = classes(150, 10);
  const auto make = [](nn::Sequential& model) { return std::make_unique<axon::optim::Adam>(model.parameters(),
                                                                                           axon::optim::AdamOptions{.lr = 5e-3}); };
  // One run of 3 epochs, a checkpoint after each (rank 0 writes).
  nn::Sequential full_model = mlp(8, 0.25f);
  auto full_adam = make(full_model);
  train::Trainer full(full_model, *full_adam, nn::CrossEntropyLoss());
  full.distribute(&world());
  train::FitOptions options = quiet(3, 16);
  options.checkpoint_dir = folder;
  const train::History full_history = full.fit(data, nullptr, options);

  // A fresh trainer on every rank resumes the checkpoint of epoch 1 and gets the same bits.
  nn::Sequential resumed_model = mlp(99, 0.25f);
  auto resumed_adam = make(resumed_model);
  train::Trainer resumed(resumed_model, *resumed_adam, nn::CrossEntropyLoss());
  resumed.distribute(&world());
  resumed.load_checkpoint(folder / "checkpoint-1.safetensors");
  train::FitOptions go_on = quiet(3, 16);
  go_on.resume = true;
  const train::History resumed_history = resumed.fit(data, nullptr, go_on);
  EXPECT_EQ(dist::hash_bytes(resumed_model.parameters().values()), dist::hash_bytes(full_model.parameters().values()));
  ASSERT_EQ(resumed_history.epochs.size(), 2u);
  EXPECT_EQ(resumed_history.epochs.back().loss, full_history.epochs.back().loss);

  // Another world size is refused, naming both.
  if (world().world_size() > 1) {
    nn::Sequential alone_model = mlp(8, 0.25f);
    auto alone_adam = make(alone_model);
    train::Trainer alone(alone_model, *alone_adam, nn::CrossEntropyLoss());
    alone.load_checkpoint(folder / "checkpoint-1.safetensors");
    const auto solo = dist::single_process();
    for (const bool with_communicator : {true, false}) {
      alone.distribute(with_communicator ? solo.get() : nullptr);
      try {
        alone.fit(data, nullptr, go_on);
        ADD_FAILURE() << "a checkpoint of " << world().world_size() << " ranks resumed on one";
      } catch (const axon::ValueError& e) {
        EXPECT_NE(std::string(e.what()).find("written by a run of " + std::to_string(world().world_size()) +
                                             " rank(s)"),
                  std::string::npos)
            << e.what();
      }
    }
  }
  world().barrier();
  if (world().rank() == 0) std::filesystem::remove_all(folder);
}

// Saves a checkpoint mid-epoch (every rank calls save_checkpoint), at step `at`.
class SaveMidEpoch : public train::Callback {
 public:
  SaveMidEpoch(std::filesystem::path path, std::int64_t at) : path_(std::move(path)), at_(at) {}
  void on_batch_end(train::Trainer& trainer, std::int64_t step) override {
    if (step == at_) trainer.save_checkpoint(path_);
  }

 private:
  std::filesystem::path path_;
  std::int64_t at_;
};

TEST(DataParallel, AMidEpochCheckpointResumesWithTheEpochsLossSoFar) {
  const std::filesystem::path folder = shared_folder("mid");
  const axon::data::Dataset data = classes(120, 12);
  nn::Sequential full_model = mlp(9, 0.2f);
  axon::optim::SGD sgd(full_model.parameters(), {.lr = 0.05, .momentum = 0.9});
  train::Trainer full(full_model, sgd, nn::CrossEntropyLoss());
  full.distribute(&world());
  SaveMidEpoch save(folder / "mid.safetensors", 5);  // within epoch 2 on 2 or 3 ranks; epoch 1 alone
  const train::History full_history = full.fit(data, nullptr, quiet(3, 8), {&save});

  nn::Sequential resumed_model = mlp(1, 0.2f);
  axon::optim::SGD resumed_sgd(resumed_model.parameters(), {.lr = 0.05, .momentum = 0.9});
  train::Trainer resumed(resumed_model, resumed_sgd, nn::CrossEntropyLoss());
  resumed.distribute(&world());
  resumed.load_checkpoint(folder / "mid.safetensors");
  train::FitOptions go_on = quiet(3, 8);
  go_on.resume = true;
  const train::History resumed_history = resumed.fit(data, nullptr, go_on);
  EXPECT_EQ(dist::hash_bytes(resumed_model.parameters().values()), dist::hash_bytes(full_model.parameters().values()));
  ASSERT_FALSE(resumed_history.epochs.empty());
  // The interrupted epoch's mean loss: the sums before the checkpoint came back (float sums).
  const train::EpochMetrics& first = resumed_history.epochs.front();
  EXPECT_NEAR(first.loss, full_history.epochs[static_cast<std::size_t>(first.epoch - 1)].loss, 1e-6);
  world().barrier();
  if (world().rank() == 0) std::filesystem::remove_all(folder);
}

// What each step past the first of an epoch asked of the backends.
class StepCounts : public train::Callback {
 public:
  void on_batch_begin(train::Trainer&, std::int64_t) override { before_ = axon_test::backend_counts_now(); }
  void on_batch_end(train::Trainer& trainer, std::int64_t) override {
    if (trainer.batch_in_epoch() > 1) steps.push_back(axon_test::difference(axon_test::backend_counts_now(), before_));
  }
  std::vector<axon_test::BackendCounts> steps;

 private:
  axon_test::BackendCounts before_;
};

TEST(DataParallel, AStepAddsNoBackendWorkAllocationOrWaitOnTheCpu) {
  // The gradients' all-reduce works in place on the CPU arena: a distributed step asks of the
  // backend exactly what a plain one does (no staging, no allocation).
  const axon::data::Dataset data = classes(64 * world().world_size(), 14);
  const auto steps_of = [&](dist::Communicator* comm) {
    nn::Sequential model = mlp(15, 0.2f);
    axon::optim::Adam adam(model.parameters(), {.lr = 1e-3});
    train::Trainer trainer(model, adam, nn::CrossEntropyLoss());
    trainer.distribute(comm);
    StepCounts counts;
    trainer.fit(data, nullptr, quiet(2, 8), {&counts});
    return counts.steps;
  };
  const std::vector<axon_test::BackendCounts> plain = steps_of(nullptr), distributed = steps_of(&world());
  ASSERT_FALSE(distributed.empty());
  for (const axon_test::BackendCounts& step : distributed) {
    EXPECT_EQ(step, plain.front());
    EXPECT_EQ(step.allocations, 0);
    EXPECT_EQ(step.uploads, 0);
  }
}

// ---- CUDA tensors: through MPI (staged in host memory) and over NCCL ----

// This rank's GPU, or why the test cannot run here (a message for GTEST_SKIP; every rank
// decides alike: they see the same machine).
std::string cuda_unavailable() {
  const int gpus = axon::device_count(axon::DeviceType::kCuda);
  if (gpus < 1) {
    if (axon_test::cuda_required()) ADD_FAILURE() << "AXON_REQUIRE_CUDA=1 and no CUDA device";
    return "no CUDA device";
  }
  if (gpus < world().world_size()) return "needs a GPU per rank (" + std::to_string(gpus) + " GPUs)";
  return {};
}

TEST(Cuda, MpiReducesCudaTensorsThroughHostMemory) {
  if (const std::string why = cuda_unavailable(); !why.empty()) GTEST_SKIP() << why;
  const Device gpu = Device::cuda(world().rank());
  const Tensor t = Tensor::full({257, 3}, static_cast<float>(world().rank() + 1), gpu);
  world().all_reduce(t, dist::Reduction::kSum);
  const double expect = world().world_size() * (world().world_size() + 1) / 2.0;
  for (const float v : t.to_vector()) ASSERT_EQ(v, expect);
  EXPECT_EQ(t.device(), gpu);
}

TEST(Cuda, NcclReducesAndTrainsLikeMpiOnTheCpu) {
  if (!dist::nccl_available()) GTEST_SKIP() << "built without NCCL";
  if (const std::string why = cuda_unavailable(); !why.empty()) GTEST_SKIP() << why;
  const Device gpu = Device::cuda(world().rank());
  const std::unique_ptr<dist::Communicator> nccl = dist::nccl(world(), gpu);
  EXPECT_EQ(nccl->rank(), world().rank());
  EXPECT_EQ(nccl->world_size(), world().world_size());
  const Tensor t = Tensor::full({1000}, static_cast<float>(world().rank()), gpu);
  nccl->all_reduce(t, dist::Reduction::kAverage);
  for (const float v : t.to_vector()) ASSERT_FLOAT_EQ(v, (world().world_size() - 1) / 2.0f);
  const Tensor b = Tensor::full({10}, static_cast<float>(world().rank() + 3), gpu);
  nccl->broadcast(b, 0);
  for (const float v : b.to_vector()) ASSERT_EQ(v, 3.0f);

  // The same data-parallel fit over NCCL on the GPUs and over MPI on the CPU.
  const axon::data::Dataset data = classes(96, 13);
  const auto fit_on = [&](Device device, dist::Communicator& comm) {
    nn::Sequential model = mlp(21, 0.0f);
    model.to(device);
    axon::optim::SGD sgd(model.parameters(), {.lr = 0.1});
    train::Trainer trainer(model, sgd, nn::CrossEntropyLoss());
    trainer.distribute(&comm);
    WeightsAgree agree;
    trainer.fit(data, nullptr, quiet(2, 8), {&agree});
    EXPECT_EQ(agree.disagreements, 0) << device.str();
    return model.parameters().values().to_vector();
  };
  const std::vector<float> on_gpus = fit_on(gpu, *nccl);
  const std::vector<float> on_cpus = fit_on(Device::cpu(), world());
  double worst = 0;
  for (std::size_t i = 0; i < on_gpus.size(); ++i) worst = std::max(worst, std::abs(double(on_gpus[i]) - on_cpus[i]));
  EXPECT_LT(worst, 1e-4);
}

// The failures of ranks other than 0 (whose log alone is printed), each line naming the rank.
class RankFailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit RankFailurePrinter(int rank) : rank_(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult& result) override {
    if (!result.failed()) return;
    std::fprintf(stderr, "[rank %d] %s:%d: %s\n", rank_, result.file_name() ? result.file_name() : "?",
                 result.line_number(), result.summary());
  }

 private:
  int rank_;
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const std::unique_ptr<dist::Communicator> communicator = dist::from_environment();
  g_world = communicator.get();
  // Only rank 0 prints the test log; the others print their failures.
  if (communicator->rank() != 0) {
    ::testing::TestEventListeners& listeners = ::testing::UnitTest::GetInstance()->listeners();
    std::unique_ptr<::testing::TestEventListener>(listeners.Release(listeners.default_result_printer())).reset();
    listeners.Append(std::make_unique<RankFailurePrinter>(communicator->rank()).release());  // gtest owns it
  }
  std::printf("axon::dist: %s, rank %d of %d\n", communicator->name().c_str(), communicator->rank(),
              communicator->world_size());
  const int result = RUN_ALL_TESTS();
  return result;
}
