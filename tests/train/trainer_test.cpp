// The Trainer and the datasets: shuffles, splits and folds; every stopping rule; callback order;
// the NaN guard's three policies; determinism; device switching (CPU-only and, with a GPU,
// alternating CPU and CUDA); evaluate and predict.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>

#include "test_util.h"

namespace {

using axon::Device;
using axon::Tensor;
namespace data = axon::data;
namespace nn = axon::nn;
namespace train = axon::train;

// A small classification problem: 3 classes of points around three centres in 4-D.
data::Dataset blobs(std::int64_t n, std::uint32_t seed) {
  const auto noise = axon_test::random_doubles(static_cast<std::size_t>(n * 4), -0.6, 0.6, seed);
  const auto labels = axon_test::random_labels(static_cast<std::size_t>(n), 3, seed + 1);
  std::vector<float> x(static_cast<std::size_t>(n * 4));
  for (std::int64_t i = 0; i < n; ++i) {
    for (int f = 0; f < 4; ++f) {
      const auto k = static_cast<std::size_t>(i * 4 + f);
      x[k] = static_cast<float>(noise[k] + (f == labels[static_cast<std::size_t>(i)] ? 1.5 : 0.0));
    }
  }
  return data::Dataset(Tensor::from_vector({n, 4}, std::span<const float>(x)),
                       Tensor::from_vector({n}, std::span<const std::int32_t>(labels)));
}

nn::Sequential classifier(std::uint64_t seed) {
  axon::Generator generator(seed);
  nn::Sequential model;
  model.add(nn::Dense(4, 16, nn::DenseOptions{.generator = &generator}))
      .add(nn::ReLU())
      .add(nn::Dropout(0.1f))
      .add(nn::Dense(16, 3, nn::DenseOptions{.generator = &generator}));
  return model;
}

train::FitOptions quiet(std::int64_t epochs) {
  return {.epochs = epochs, .batch_size = 16, .seed = 7, .display = train::Display::kQuiet};
}

// ---- data ----

TEST(Data, ShufflesArePermutationsFixedBySeedAndEpoch) {
  const auto a = data::shuffled_indices(1000, 5, 0);
  EXPECT_EQ(std::set<std::int32_t>(a.begin(), a.end()).size(), 1000u);
  EXPECT_EQ(data::shuffled_indices(1000, 5, 0), a);
  EXPECT_NE(data::shuffled_indices(1000, 5, 1), a);
  EXPECT_NE(data::shuffled_indices(1000, 6, 0), a);
  // Fixed values: the order must never change between releases (resumed runs depend on it).
  EXPECT_EQ(data::shuffled_indices(5, 1, 0), (std::vector<std::int32_t>{1, 0, 3, 4, 2}));
  EXPECT_EQ(data::shuffled_indices(10, 7, 3), (std::vector<std::int32_t>{9, 2, 4, 6, 5, 8, 0, 3, 7, 1}));
}

TEST(Data, SplitAndFoldsPartitionTheRows) {
  const data::Dataset all = blobs(100, 1);
  const auto [training, held] = data::train_validation_split(all, 0.2, 3);
  EXPECT_EQ(training.size(), 80);
  EXPECT_EQ(held.size(), 20);
  const auto folds = data::k_folds(all, 5, 3);
  ASSERT_EQ(folds.size(), 5u);
  std::multiset<float> seen;
  for (const auto& [fold_train, fold_held] : folds) {
    EXPECT_EQ(fold_train.size() + fold_held.size(), 100);
    for (float v : fold_held.features().to_vector()) seen.insert(v);
  }
  std::multiset<float> everything;
  for (float v : all.features().to_vector()) everything.insert(v);
  EXPECT_EQ(seen, everything);  // every row validates exactly once
  axon_test::expect_error<axon::ValueError>([&] { (void)data::k_folds(all, 1, 0); }, {"k_folds", "k must be"});
  axon_test::expect_error<axon::ValueError>([&] { (void)data::train_validation_split(all, 1.5, 0); },
                                            {"validation_fraction"});
  axon_test::expect_error<axon::ShapeError>([] { data::Dataset(Tensor::zeros({3, 2}), Tensor::zeros({4})); },
                                            {"same number of rows"});
}

// ---- fit, stopping rules, callbacks ----

TEST(Trainer, LearnsAndEvaluates) {
  nn::Sequential model = classifier(1);
  axon::optim::Adam adam(model.parameters(), {.lr = 0.01});
  train::Trainer trainer(model, adam, nn::CrossEntropyLoss());
  const data::Dataset training = blobs(300, 2), held = blobs(100, 3);
  const train::History history = trainer.fit(training, &held, quiet(15));
  EXPECT_EQ(history.stop_reason, train::StopReason::kMaxEpochs);
  ASSERT_EQ(history.epochs.size(), 15u);
  EXPECT_LT(history.epochs.back().loss, history.epochs.front().loss);
  EXPECT_GT(*history.epochs.back().val_accuracy, 0.9);
  EXPECT_EQ(history.samples, 300 * 15);
  EXPECT_EQ(trainer.step(), 15 * 19);  // ceil(300 / 16) batches per epoch
  const train::Evaluation evaluation = trainer.evaluate(held);
  EXPECT_DOUBLE_EQ(evaluation.loss, *history.epochs.back().val_loss);
  // Batches of 7 give the same answers to within float rounding, not bit for bit: a BLAS may sum
  // in another order for another row count (OpenBLAS's Prescott kernel does, on the GPU machine).
  const Tensor predictions = trainer.predict(held.features(), 7);
  EXPECT_TRUE(axon_test::near_ref(predictions, axon_test::values_of(model.predict(held.features())), 1e-5, 1e-6));
}

TEST(Trainer, StopsAtTheTargetLoss) {
  nn::Sequential model = classifier(2);
  axon::optim::Adam adam(model.parameters(), {.lr = 0.01});
  train::Trainer trainer(model, adam, nn::CrossEntropyLoss());
  train::FitOptions options = quiet(200);
  options.target_loss = 0.3;
  const train::History history = trainer.fit(blobs(300, 2), nullptr, options);
  EXPECT_EQ(history.stop_reason, train::StopReason::kTargetLoss);
  EXPECT_LE(history.epochs.back().loss, 0.3);
  EXPECT_GT(history.epochs[history.epochs.size() - 2].loss, 0.3);
}

TEST(Trainer, StopsAtTheTimeLimit) {
  nn::Sequential model = classifier(2);
  axon::optim::SGD sgd(model.parameters(), {.lr = 0.01});
  train::Trainer trainer(model, sgd, nn::CrossEntropyLoss());
  train::FitOptions options = quiet(1000000);
  options.time_limit_seconds = 0.2;
  const train::History history = trainer.fit(blobs(200, 2), nullptr, options);
  EXPECT_EQ(history.stop_reason, train::StopReason::kTimeLimit);
  EXPECT_LT(history.epochs.size(), 1000000u);
}

TEST(Trainer, EarlyStoppingRestoresTheBestWeights) {
  nn::Sequential model = classifier(3);
  // A rate so high that validation loss gets worse after a while.
  axon::optim::SGD sgd(model.parameters(), {.lr = 2.0});
  train::Trainer trainer(model, sgd, nn::CrossEntropyLoss());
  const data::Dataset training = blobs(200, 4), held = blobs(100, 5);
  train::FitOptions options = quiet(100);
  options.early_stopping = train::EarlyStopping{.patience = 2};
  const train::History history = trainer.fit(training, &held, options);
  EXPECT_EQ(history.stop_reason, train::StopReason::kEarlyStopping);
  ASSERT_TRUE(history.best_epoch.has_value());
  double best = 1e300;
  for (const auto& m : history.epochs) best = std::min(best, *m.val_loss);
  EXPECT_NEAR(trainer.evaluate(held).loss, best, 1e-6 * std::max(1.0, best));
  EXPECT_EQ(history.epochs.size(), static_cast<std::size_t>(*history.best_epoch + 2));  // patience 2
}

// Records the order of the hooks, and stops at a chosen epoch.
class Recorder final : public train::Callback {
 public:
  std::vector<std::string> events;
  std::int64_t stop_at = -1;
  void on_train_begin(train::Trainer&) override { events.push_back("train_begin"); }
  void on_epoch_begin(train::Trainer&, std::int64_t e) override { events.push_back("epoch_begin " + std::to_string(e)); }
  void on_batch_begin(train::Trainer&, std::int64_t s) override { events.push_back("batch_begin " + std::to_string(s)); }
  void on_batch_end(train::Trainer&, std::int64_t s) override { events.push_back("batch_end " + std::to_string(s)); }
  void on_epoch_end(train::Trainer& t, const train::EpochMetrics& m) override {
    events.push_back("epoch_end " + std::to_string(m.epoch));
    if (m.epoch == stop_at) t.request_stop();
  }
  void on_train_end(train::Trainer&, const train::History& h) override { events.push_back(std::string("train_end ") + train::stop_reason_name(h.stop_reason)); }
};

TEST(Trainer, CallbacksRunInOrderAndCanStop) {
  nn::Sequential model = classifier(4);
  axon::optim::SGD sgd(model.parameters(), {.lr = 0.1});
  train::Trainer trainer(model, sgd, nn::CrossEntropyLoss());
  Recorder recorder;
  recorder.stop_at = 2;
  train::FitOptions options = quiet(5);
  options.batch_size = 20;
  (void)trainer.fit(blobs(40, 6), nullptr, options, {&recorder});
  EXPECT_EQ(recorder.events,
            (std::vector<std::string>{"train_begin", "epoch_begin 1", "batch_begin 1", "batch_end 1", "batch_begin 2",
                                      "batch_end 2", "epoch_end 1", "epoch_begin 2", "batch_begin 3", "batch_end 3",
                                      "batch_begin 4", "batch_end 4", "epoch_end 2", "train_end callback"}));
}

TEST(Trainer, WritesACsvLog) {
  const axon_test::TempDir dir;
  const std::filesystem::path path = dir / "log.csv";
  nn::Sequential model = classifier(4);
  axon::optim::SGD sgd(model.parameters(), {.lr = 0.1});
  train::Trainer trainer(model, sgd, nn::CrossEntropyLoss());
  train::FitOptions options = quiet(3);
  options.csv_log = path;
  const data::Dataset held = blobs(30, 9);
  (void)trainer.fit(blobs(60, 8), &held, options);
  std::ifstream in(path);
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(in, line)) lines.push_back(line);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0].rfind("epoch,loss,val_loss,val_accuracy", 0), 0u);
  EXPECT_EQ(lines[3].rfind("3,", 0), 0u);
}

// ---- the NaN guard ----

// Targets with an infinite value in one row make that batch's loss non-finite.
data::Dataset poisoned_regression(std::int64_t n, std::int64_t bad_row) {
  std::vector<float> y(static_cast<std::size_t>(n), 0.5f);
  y[static_cast<std::size_t>(bad_row)] = INFINITY;
  return data::Dataset(Tensor::uniform({n, 4}, -1, 1), Tensor::from_vector({n, 1}, std::span<const float>(y)));
}

nn::Sequential regressor(std::uint64_t seed) {
  axon::Generator generator(seed);
  nn::Sequential model;
  model.add(nn::Dense(4, 1, nn::DenseOptions{.generator = &generator}));
  return model;
}

TEST(Trainer, NanGuardThrowsNamingEpochAndStep) {
  nn::Sequential model = regressor(1);
  axon::optim::SGD sgd(model.parameters(), {.lr = 0.01});
  train::Trainer trainer(model, sgd, nn::MSELoss());
  train::FitOptions options = quiet(2);
  options.shuffle = false;
  options.batch_size = 8;
  axon_test::expect_error<axon::ValueError>([&] { (void)trainer.fit(poisoned_regression(32, 20), nullptr, options); },
                                            {"epoch 1", "step 3"});
}

TEST(Trainer, NanGuardSkipsOrRollsBack) {
  for (const train::NanPolicy policy : {train::NanPolicy::kSkip, train::NanPolicy::kRollback}) {
    nn::Sequential model = regressor(1);
    axon::optim::SGD sgd(model.parameters(), {.lr = 0.01});
    train::Trainer trainer(model, sgd, nn::MSELoss());
    train::FitOptions options = quiet(3);
    options.shuffle = false;
    options.batch_size = 8;
    options.nan_policy = policy;
    const train::History history = trainer.fit(poisoned_regression(32, 20), nullptr, options);
    ASSERT_EQ(history.epochs.size(), 3u);
    for (const auto& m : history.epochs) {
      EXPECT_EQ(m.skipped_batches, 1);
      EXPECT_TRUE(std::isfinite(m.loss));
    }
    for (float v : model.parameters().values().to_vector()) ASSERT_TRUE(std::isfinite(v));
    EXPECT_EQ(trainer.step(), 3 * 3);  // three good batches an epoch
  }
}

// ---- determinism and device switching ----

// A small CNN on the blobs seen as 2x2 images: convolution, BatchNorm2d (running statistics
// that must move with the model), ReLU, max pooling, dense.
nn::Sequential small_cnn(std::uint64_t seed) {
  axon::Generator generator(seed);
  nn::Sequential model;
  model.add(nn::Conv2d(1, 4, 2, nn::ConvOptions{.padding = {1, 1}, .generator = &generator}))
      .add(nn::BatchNorm2d(4))
      .add(nn::ReLU())
      .add(nn::MaxPool2d(2))
      .add(nn::Flatten())
      .add(nn::Dense(4, 3, nn::DenseOptions{.generator = &generator}));
  return model;
}

enum class Net { kMlp, kCnn };

// What a run leaves: the weights and every buffer (BatchNorm's running statistics and count),
// read on the CPU.
struct Trained {
  std::vector<float> weights;
  std::vector<double> buffers;
};

Trained train_run(Net net, const std::function<void(train::Trainer&, std::int64_t)>& at_step) {
  nn::Sequential model = net == Net::kMlp ? classifier(11) : small_cnn(11);
  data::Dataset set = blobs(120, 12);
  if (net == Net::kCnn) set = data::Dataset(set.features().reshape({set.size(), 1, 2, 2}), set.targets());
  axon::optim::Adam adam(model.parameters(), {.lr = 0.01});
  train::Trainer trainer(model, adam, nn::CrossEntropyLoss());
  struct Hook final : train::Callback {
    std::function<void(train::Trainer&, std::int64_t)> at_step;
    void on_batch_end(train::Trainer& t, std::int64_t step) override { at_step(t, step); }
  } hook;
  hook.at_step = at_step;
  (void)trainer.fit(set, nullptr, quiet(4), {&hook});
  trainer.set_device(Device::cpu());
  Trained out{model.parameters().values().to_vector(), {}};
  for (const nn::NamedBuffer& b : model.buffers()) {
    const Tensor& v = b.buffer->value;
    if (v.dtype() == axon::DType::kInt32) {
      for (const std::int32_t x : v.to_int_vector()) out.buffers.push_back(x);
    } else {
      for (const float x : v.to_vector()) out.buffers.push_back(x);
    }
  }
  return out;
}

void expect_identical(const Trained& a, const Trained& b) {
  EXPECT_EQ(a.weights, b.weights);
  EXPECT_EQ(a.buffers, b.buffers);
}

TEST(Trainer, TheSameSeedGivesBitIdenticalWeightsOnTheCpu) {
  const auto nothing = [](train::Trainer&, std::int64_t) {};
  for (const Net net : {Net::kMlp, Net::kCnn}) expect_identical(train_run(net, nothing), train_run(net, nothing));
}

// On a machine with only the CPU a "switch to the CPU" is the device it is on: set_device must
// then change nothing at all, mid-epoch, from a callback. (The real moves are the next test's.)
TEST(Trainer, SetDeviceToTheCurrentDeviceMidEpochIsBitIdentical) {
  const auto nothing = [](train::Trainer&, std::int64_t) {};
  const auto hop = [](train::Trainer& t, std::int64_t step) {
    if (step % 3 == 0) t.set_device(Device::cpu());
  };
  for (const Net net : {Net::kMlp, Net::kCnn}) expect_identical(train_run(net, hop), train_run(net, nothing));
}

// The MLP and the CNN (whose BatchNorm buffers move too) trained while hopping between the CPU
// and the GPU every 4 steps end where a CPU-only run ends.
TEST(Trainer, AlternatingCpuAndCudaMatchesACpuRun) {
  if (!axon_test::have_cuda()) {
    if (axon_test::cuda_required()) FAIL() << "AXON_REQUIRE_CUDA=1 but no CUDA device";
    GTEST_SKIP() << "no CUDA device";
  }
  const auto cpu_only = [](train::Trainer&, std::int64_t) {};
  const auto alternate = [](train::Trainer& t, std::int64_t step) {
    if (step % 4 == 0) t.set_device(t.device().is_cpu() ? Device::cuda(0) : Device::cpu());
  };
  for (const Net net : {Net::kMlp, Net::kCnn}) {
    SCOPED_TRACE(net == Net::kMlp ? "mlp" : "cnn");
    const Trained want = train_run(net, cpu_only);
    const Trained got = train_run(net, alternate);
    // Float rounding differs between the backends' kernels (GEMM order, FMA): after ~30 Adam steps
    // the weights agree to about 1e-4 of their size.
    EXPECT_TRUE(axon_test::near_ref(axon_test::to_double(got.weights), axon_test::to_double(want.weights), 1e-3, 1e-4));
    EXPECT_TRUE(axon_test::near_ref(got.buffers, want.buffers, 1e-3, 1e-4));
    EXPECT_EQ(got.buffers.size(), net == Net::kMlp ? 0u : 9u);  // mean 4, var 4, count 1
  }
}

TEST(Trainer, RefusesALossThatDoesNotFitTheTargets) {
  nn::Sequential model = classifier(1);
  axon::optim::SGD sgd(model.parameters());
  train::Trainer trainer(model, sgd, nn::MSELoss());
  axon_test::expect_error<axon::DTypeError>([&] { (void)trainer.fit(blobs(10, 1), nullptr, quiet(1)); },
                                            {"mse", "int32"});
}

}  // namespace

namespace {

TEST(Trainer, CrossValidationTrainsAFreshModelPerFold) {
  int made = 0;
  const auto make = [&] {
    ++made;
    train::FoldSetup setup;
    setup.model = std::make_unique<nn::Sequential>(classifier(static_cast<std::uint64_t>(made)));
    setup.optimizer = std::make_unique<axon::optim::Adam>(setup.model->parameters(), axon::optim::AdamOptions{.lr = 0.01});
    setup.loss = nn::CrossEntropyLoss();
    return setup;
  };
  const train::CrossValidation cv = train::cross_validate(blobs(150, 21), 5, make, quiet(10));
  EXPECT_EQ(made, 5);
  ASSERT_EQ(cv.folds.size(), 5u);
  double mean = 0;
  for (const auto& fold : cv.folds) {
    EXPECT_EQ(fold.samples, 30);
    mean += *fold.accuracy / 5;
  }
  EXPECT_DOUBLE_EQ(*cv.mean_accuracy, mean);
  EXPECT_GT(*cv.mean_accuracy, 0.85);
  EXPECT_GE(*cv.std_accuracy, 0.0);
}

}  // namespace

namespace {

TEST(Trainer, AFailedFitLeavesNothingDangling) {
  nn::Sequential model = regressor(1);
  axon::optim::SGD sgd(model.parameters(), {.lr = 0.01});
  train::Trainer trainer(model, sgd, nn::MSELoss());
  train::FitOptions options = quiet(1);
  options.shuffle = false;
  EXPECT_THROW((void)trainer.fit(poisoned_regression(32, 3), nullptr, options), axon::ValueError);
  // The caller's (temporary) dataset is gone; moving the trainer must not touch it.
  EXPECT_NO_THROW(trainer.set_device(Device::cpu()));
  const data::Dataset clean(Tensor::uniform({16, 4}, -1, 1), Tensor::uniform({16, 1}, -1, 1));
  EXPECT_NO_THROW((void)trainer.fit(clean, nullptr, options));  // and the trainer is usable again
}

TEST(Trainer, RollbackRestoresTheOptimizersStepCount) {
  nn::Sequential model = regressor(2);
  axon::optim::Adam adam(model.parameters(), {.lr = 0.01});
  train::Trainer trainer(model, adam, nn::MSELoss());
  train::FitOptions options = quiet(1);
  options.shuffle = false;
  options.batch_size = 8;
  options.nan_policy = train::NanPolicy::kRollback;
  (void)trainer.fit(poisoned_regression(32, 20), nullptr, options);  // batch 3 of 4 is bad
  EXPECT_EQ(adam.steps(), 1);  // back to the start of the epoch (0 steps), then the 4th batch
}

TEST(Trainer, EarlyStoppingOnAccuracyNeedsLabels) {
  nn::Sequential model = regressor(3);
  axon::optim::SGD sgd(model.parameters());
  train::Trainer trainer(model, sgd, nn::MSELoss());
  train::FitOptions options = quiet(2);
  options.early_stopping = train::EarlyStopping{.monitor_accuracy = true};
  const data::Dataset held = poisoned_regression(8, 0);
  axon_test::expect_error<axon::ValueError>([&] { (void)trainer.fit(poisoned_regression(8, 0), &held, options); },
                                            {"accuracy", "labels"});
}

TEST(Schedules, OneCycleAllowsAStepAfterTheLastBatch) {
  nn::ParamArena arena;
  axon::optim::SGD sgd(arena, {.lr = 0.1});
  axon::optim::OneCycleLR schedule(sgd, 1.0, 10);
  for (int i = 0; i < 10; ++i) schedule.step();  // one per batch: the 10th follows the last batch
  axon_test::expect_error<axon::ValueError>([&] { schedule.step(); }, {"OneCycleLR", "total_steps"});
}

}  // namespace

namespace {

// train_on_batch is the step fit takes: one unshuffled full-batch epoch of fit and one
// train_on_batch on the same data leave the same weights.
TEST(Trainer, TrainOnBatchIsTheStepFitTakes) {
  const data::Dataset training = blobs(40, 3);
  const auto make = [] {
    axon::Generator generator(4);
    nn::Sequential model;
    model.add(nn::Dense(4, 8, nn::DenseOptions{.generator = &generator})).add(nn::Tanh()).add(nn::Dense(8, 3, nn::DenseOptions{.generator = &generator}));
    return model;
  };
  nn::Sequential by_fit = make(), by_batch = make();
  axon::optim::Adam adam_fit(by_fit.parameters(), {.lr = 0.05}), adam_batch(by_batch.parameters(), {.lr = 0.05});
  train::Trainer fit_trainer(by_fit, adam_fit, nn::CrossEntropyLoss());
  (void)fit_trainer.fit(training, nullptr, {.epochs = 1, .batch_size = 40, .shuffle = false, .display = train::Display::kQuiet});
  train::Trainer batch_trainer(by_batch, adam_batch, nn::CrossEntropyLoss());
  EXPECT_TRUE(batch_trainer.train_on_batch(training.features(), training.targets()));
  EXPECT_EQ(batch_trainer.step(), 1);
  EXPECT_NE(by_batch.parameters().values().to_vector(), make().parameters().values().to_vector());
  EXPECT_EQ(by_batch.parameters().values().to_vector(), by_fit.parameters().values().to_vector());
}

// fit with shuffling is exactly train_on_batch over the published order: for each epoch,
// shuffled_indices(n, seed, epoch) cut into batches, the last one short.
TEST(Trainer, FitIsTrainOnBatchOverTheShuffledOrder) {
  const data::Dataset training = blobs(40, 5);
  const auto make = [] {
    axon::Generator generator(6);
    nn::Sequential model;
    model.add(nn::Dense(4, 8, nn::DenseOptions{.generator = &generator})).add(nn::Tanh()).add(nn::Dense(8, 3, nn::DenseOptions{.generator = &generator}));
    return model;
  };
  nn::Sequential by_fit = make(), by_batch = make();
  axon::optim::Adam adam_fit(by_fit.parameters(), {.lr = 0.05}), adam_batch(by_batch.parameters(), {.lr = 0.05});
  train::Trainer fit_trainer(by_fit, adam_fit, nn::CrossEntropyLoss());
  (void)fit_trainer.fit(training, nullptr, {.epochs = 3, .batch_size = 16, .shuffle = true, .seed = 11, .display = train::Display::kQuiet});
  train::Trainer batch_trainer(by_batch, adam_batch, nn::CrossEntropyLoss());
  for (std::uint64_t epoch = 0; epoch < 3; ++epoch) {
    const auto order = data::shuffled_indices(training.size(), 11, epoch);
    for (std::size_t begin = 0; begin < order.size(); begin += 16) {
      const std::vector<std::int32_t> batch(order.begin() + static_cast<std::ptrdiff_t>(begin),
                                            order.begin() + static_cast<std::ptrdiff_t>(std::min(begin + 16, order.size())));
      const data::Dataset rows = training.select(batch);
      ASSERT_TRUE(batch_trainer.train_on_batch(rows.features(), rows.targets()));
    }
  }
  EXPECT_EQ(batch_trainer.step(), 9);
  EXPECT_EQ(fit_trainer.step(), 9);
  EXPECT_EQ(by_batch.parameters().values().to_vector(), by_fit.parameters().values().to_vector());
  // and the order matters: the same batches unshuffled end elsewhere
  nn::Sequential unshuffled = make();
  axon::optim::Adam adam_plain(unshuffled.parameters(), {.lr = 0.05});
  train::Trainer plain(unshuffled, adam_plain, nn::CrossEntropyLoss());
  (void)plain.fit(training, nullptr, {.epochs = 3, .batch_size = 16, .shuffle = false, .display = train::Display::kQuiet});
  EXPECT_NE(unshuffled.parameters().values().to_vector(), by_fit.parameters().values().to_vector());
}

TEST(Checkpoints, ResumingIsBitIdenticalToARunThatNeverStopped) {
  const data::Dataset training = blobs(120, 31);
  const auto run = [&](nn::Sequential& model, axon::optim::Optimizer& optimizer, train::FitOptions options,
                       const std::filesystem::path& load_from = {}) {
    train::Trainer trainer(model, optimizer, nn::CrossEntropyLoss());
    if (!load_from.empty()) trainer.load_checkpoint(load_from);
    return trainer.fit(training, nullptr, options);
  };
  // Straight through: 4 epochs.
  nn::Sequential straight = classifier(11);
  axon::optim::Adam adam_straight(straight.parameters(), {.lr = 0.01});
  const train::History whole = run(straight, adam_straight, quiet(4));

  // Stopped after 2 epochs (checkpoints every epoch, the newest 1 kept), resumed in a new
  // process-like setting: another model, optimizer and trainer.
  const axon_test::TempDir dir;
  nn::Sequential first = classifier(11);
  axon::optim::Adam adam_first(first.parameters(), {.lr = 0.01});
  train::FitOptions stop_at_two = quiet(2);
  stop_at_two.checkpoint_dir = dir / "checkpoints";
  stop_at_two.keep_checkpoints = 1;
  (void)run(first, adam_first, stop_at_two);
  EXPECT_FALSE(std::filesystem::exists(dir / "checkpoints" / "checkpoint-1.safetensors"));
  ASSERT_TRUE(std::filesystem::exists(dir / "checkpoints" / "checkpoint-2.safetensors"));

  nn::Sequential resumed = classifier(999);  // other initial weights: all come from the file
  axon::optim::Adam adam_resumed(resumed.parameters(), {.lr = 0.01});
  train::FitOptions go_on = quiet(4);
  go_on.resume = true;
  const train::History rest = run(resumed, adam_resumed, go_on, dir / "checkpoints" / "checkpoint-2.safetensors");
  ASSERT_EQ(rest.epochs.size(), 2u);
  EXPECT_EQ(rest.epochs[0].epoch, 3);
  EXPECT_EQ(rest.epochs[1].loss, whole.epochs[3].loss);
  EXPECT_EQ(resumed.parameters().values().to_vector(), straight.parameters().values().to_vector());
  EXPECT_EQ(adam_resumed.steps(), adam_straight.steps());
}

// ReduceLROnPlateau remembers the best metric and its counters: a resumed run continues them
// (patience 1 and a 90% threshold make the bad-epoch count at the stop decide the next cut).
TEST(Checkpoints, ResumingKeepsReduceLROnPlateausCounters) {
  const data::Dataset training = blobs(120, 31);
  const axon::optim::PlateauOptions plateau{.factor = 0.5, .patience = 1, .threshold = 0.9};
  const auto run = [&](nn::Sequential& model, train::FitOptions options, const std::filesystem::path& load_from = {}) {
    axon::optim::Adam adam(model.parameters(), {.lr = 0.01});
    axon::optim::ReduceLROnPlateau schedule(adam, plateau);
    train::Trainer trainer(model, adam, nn::CrossEntropyLoss());
    trainer.set_schedule(&schedule);
    if (!load_from.empty()) trainer.load_checkpoint(load_from);
    const train::History history = trainer.fit(training, nullptr, options);
    return std::pair(history, adam.lr());
  };
  nn::Sequential straight = classifier(5);
  const auto [whole, final_lr] = run(straight, quiet(7));
  EXPECT_LT(final_lr, 0.01) << "the schedule must have cut the rate for this test to mean anything";

  const axon_test::TempDir dir;
  nn::Sequential first = classifier(5);
  train::FitOptions stop = quiet(3);
  stop.checkpoint_dir = dir / "checkpoints";
  (void)run(first, stop);
  nn::Sequential resumed = classifier(6);
  train::FitOptions go_on = quiet(7);
  go_on.resume = true;
  const auto [rest, resumed_lr] = run(resumed, go_on, dir / "checkpoints" / "checkpoint-3.safetensors");
  ASSERT_EQ(rest.epochs.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(rest.epochs[i].loss, whole.epochs[i + 3].loss) << "epoch " << i + 4;
  EXPECT_EQ(resumed_lr, final_lr);
  EXPECT_EQ(resumed.parameters().values().to_vector(), straight.parameters().values().to_vector());
}

TEST(Schedules, PlateauStateRoundTripsAndRefusesGarbage) {
  nn::Sequential model = classifier(1);
  axon::optim::SGD sgd(model.parameters(), {.lr = 0.1});
  axon::optim::ReduceLROnPlateau a(sgd, {.patience = 3});
  EXPECT_EQ(a.state(), "best=inf bad_epochs=0 cooldown_left=0");  // the start, as PyTorch's
  a.step(0.5);
  a.step(0.75);
  axon::optim::ReduceLROnPlateau b(sgd, {.patience = 3});
  b.set_state(a.state());
  EXPECT_EQ(b.state(), a.state());
  EXPECT_EQ(b.bad_epochs(), 1);
  b.set_state("");  // a checkpoint of a trainer without a schedule: a fresh start
  EXPECT_EQ(b.state(), "best=inf bad_epochs=0 cooldown_left=0");
  b.set_state("best=none bad_epochs=2 cooldown_left=0");  // how older checkpoints wrote the start
  EXPECT_EQ(b.state(), "best=inf bad_epochs=2 cooldown_left=0");
  b.set_state("best=-inf bad_epochs=0 cooldown_left=1");  // an infinite metric that improved on it
  EXPECT_EQ(b.state(), "best=-inf bad_epochs=0 cooldown_left=1");
  for (const char* bad : {"best=x bad_epochs=0 cooldown_left=0", "best=1 bad_epochs=-1 cooldown_left=0",
                          "best=1 bad_epochs=0", "best=1 bad_epochs=0 cooldown_left=0 extra",
                          "best=1e999 bad_epochs=0 cooldown_left=0", "best=nan bad_epochs=0 cooldown_left=0"}) {
    axon_test::expect_error<axon::ValueError>([&] { b.check_state(bad); }, {"ReduceLROnPlateau state"});
  }
  axon::optim::StepLR step(sgd, 2);
  EXPECT_NO_THROW(step.check_state(""));
  axon_test::expect_error<axon::ValueError>([&] { step.check_state(a.state()); }, {"keeps none"});
}

// As PyTorch: the best starts at +inf, so a NaN or infinite first metric is a bad epoch, not the
// best (the rate was cut every patience + 1 epochs forever while the metric improved).
TEST(Schedules, PlateauTakesANanOrInfiniteFirstMetricAsPyTorchDoes) {
  for (const double first : {std::nan(""), std::numeric_limits<double>::infinity()}) {
    SCOPED_TRACE(first);
    nn::Sequential model = classifier(1);
    axon::optim::SGD sgd(model.parameters(), {.lr = 0.1});
    axon::optim::ReduceLROnPlateau plateau(sgd, {.patience = 2});
    plateau.step(first);
    EXPECT_EQ(plateau.bad_epochs(), 1);
    for (int epoch = 0; epoch < 12; ++epoch) plateau.step(1.0 - 0.05 * epoch);  // improving
    EXPECT_EQ(sgd.lr(), 0.1);
  }
}

// Damaged checkpoint metadata and state tensors are refused naming the file, before anything
// changes (the fuzzer's first finding was a missing format_version: std::out_of_range).
TEST(Checkpoints, DamagedCheckpointsChangeNothing) {
  const axon_test::TempDir dir;
  nn::Sequential model = classifier(1);
  axon::optim::Adam adam(model.parameters(), {.lr = 0.01});
  axon::optim::StepLR schedule(adam, 1, 10.0);  // x10 per epoch: a far epoch has no finite rate
  train::Trainer trainer(model, adam, nn::CrossEntropyLoss());
  trainer.set_schedule(&schedule);
  (void)trainer.fit(blobs(32, 2), nullptr, quiet(1));
  trainer.save_checkpoint(dir / "good.safetensors");
  const axon::io::Safetensors good = axon::io::load_safetensors(dir / "good.safetensors");
  const auto damaged = [&](const std::string& name, auto&& change) {
    std::vector<axon::io::NamedTensor> tensors = good.tensors;
    std::map<std::string, std::string> metadata = good.metadata;
    change(tensors, metadata);
    axon::io::save_safetensors(dir / name, tensors, metadata);
    return dir / name;
  };
  using Tensors = std::vector<axon::io::NamedTensor>;
  using Metadata = std::map<std::string, std::string>;
  const std::vector<std::pair<std::filesystem::path, std::string>> cases = {
      {damaged("no_version", [](Tensors&, Metadata& m) { m.erase("format_version"); }), "no 'format_version'"},
      {damaged("bad_lr", [](Tensors&, Metadata& m) { m["optimizer.lr"] = "1e999"; }), "'lr' is not a finite rate"},
      {damaged("negative_epoch", [](Tensors&, Metadata& m) { m["epoch"] = "-3"; }), "'epoch' is not a whole number"},
      {damaged("far_epoch", [](Tensors&, Metadata& m) { m["schedule_epoch"] = "400"; }), "the schedule's rate at epoch 400"},
      {damaged("unknown_slot", [&](Tensors& t, Metadata&) { t.push_back({"optimizer.mystery", model.parameters().values()}); }),
       "Adam keeps no slot 'mystery'"},
      {damaged("int_slot", [&](Tensors& t, Metadata&) {
         for (auto& named : t) {
           if (named.name == "optimizer.exp_avg") named.tensor = Tensor::zeros(named.tensor.shape(), Device::cpu(), axon::DType::kInt32);
         }
       }), "Adam slot 'exp_avg' is [144] int32"},
  };
  const std::vector<float> weights = model.parameters().values().to_vector();
  const double lr = adam.lr();
  for (const auto& [path, fault] : cases) {
    SCOPED_TRACE(path.string());
    axon_test::expect_error<axon::FormatError>([&] { trainer.load_checkpoint(path); }, {path.filename().string(), fault});
    EXPECT_EQ(model.parameters().values().to_vector(), weights);
    EXPECT_EQ(adam.lr(), lr);
    EXPECT_EQ(trainer.epoch(), 1);
  }
  EXPECT_NO_THROW(trainer.load_checkpoint(dir / "good.safetensors"));
}

TEST(Checkpoints, AMismatchedCheckpointIsRefusedNamingTheFile) {
  const axon_test::TempDir dir;
  nn::Sequential model = classifier(1);
  axon::optim::Adam adam(model.parameters());
  train::Trainer trainer(model, adam, nn::CrossEntropyLoss());
  trainer.save_checkpoint(dir / "adam.safetensors");
  axon::optim::SGD sgd(model.parameters());
  train::Trainer other(model, sgd, nn::CrossEntropyLoss());
  axon_test::expect_error<axon::FormatError>([&] { other.load_checkpoint(dir / "adam.safetensors"); },
                                             {"adam.safetensors", "optimizer Adam", "SGD"});
  nn::save_weights(model, dir / "weights.safetensors");
  axon_test::expect_error<axon::FormatError>([&] { trainer.load_checkpoint(dir / "weights.safetensors"); },
                                             {"weights.safetensors", "not an axon checkpoint"});
}

}  // namespace
