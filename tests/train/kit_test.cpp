// The training kit (issue 18): optimizers that own their state (a user's optimizer checkpoints
// and resumes, parameter groups), fit as a loop over callbacks whose state checkpoints keep
// (early stopping), exact resume from a mid-epoch checkpoint, and the faults an outside check
// found. Each fault case failed before its fix.
#include <algorithm>
#include <cmath>
#include <limits>

#include "test_util.h"

namespace {

using axon::Device;
using axon::Tensor;
namespace data = axon::data;
namespace nn = axon::nn;
namespace optim = axon::optim;
namespace train = axon::train;

data::Dataset blobs(std::int64_t n, std::uint32_t seed) {
  const auto noise = axon_test::random_doubles(static_cast<std::size_t>(n * 4), -0.8, 0.8, seed);
  const auto labels = axon_test::random_labels(static_cast<std::size_t>(n), 3, seed + 1);
  std::vector<float> x(static_cast<std::size_t>(n * 4));
  for (std::int64_t i = 0; i < n; ++i) {
    for (int f = 0; f < 4; ++f) {
      const auto k = static_cast<std::size_t>(i * 4 + f);
      x[k] = static_cast<float>(noise[k] + (f == labels[static_cast<std::size_t>(i)] ? 1.0 : 0.0));
    }
  }
  return data::Dataset(Tensor::from_vector({n, 4}, std::span<const float>(x)),
                       Tensor::from_vector({n}, std::span<const std::int32_t>(labels)));
}

nn::Sequential classifier(std::uint64_t seed) {
  axon::Generator generator(seed);
  nn::Sequential model;
  model.add(nn::Dense(4, 12, nn::DenseOptions{.generator = &generator}))
      .add(nn::ReLU())
      .add(nn::Dropout(0.1f))
      .add(nn::Dense(12, 3, nn::DenseOptions{.generator = &generator}));
  return model;
}

train::FitOptions quiet(std::int64_t epochs) {
  return {.epochs = epochs, .batch_size = 16, .seed = 7, .display = train::Display::kQuiet};
}

// ---- optimizers own their state ----

// A user's optimizer: sign SGD with momentum, a slot of its own starting at 0.5 and a counter of
// its own. It checkpoints and resumes like a built-in one, the trainer knowing none of its names.
class SignMomentum final : public optim::Optimizer {
 public:
  explicit SignMomentum(nn::ParamArena& parameters, double lr) : Optimizer(parameters, lr) {}
  std::string name() const override { return "SignMomentum"; }
  std::vector<optim::SlotSpec> slot_specs() const override { return {{"velocity", 0.5f}}; }
  std::int64_t launches = 0;

 private:
  void prepare(std::int64_t) override { lr_ = static_cast<float>(lr()); }
  void launch() override {
    for (const Range& r : ranges()) {
      const Tensor velocity = slot("velocity", r);
      axon::scale_out(velocity, 0.9f, velocity);
      axon::axpy(1.0f, r.grads, velocity);
      std::vector<float> v = velocity.to_vector();
      for (float& e : v) e = e > 0 ? 1.0f : (e < 0 ? -1.0f : 0.0f);
      axon::axpy(-lr_, Tensor::from_vector(velocity.shape(), std::span<const float>(v), velocity.device()), r.values);
    }
    ++launches;
  }
  void save_values(std::map<std::string, std::string>& values) const override {
    values["launches"] = std::to_string(launches);
  }
  void check_values(const std::map<std::string, std::string>& values) const override {
    if (!values.count("launches")) throw axon::ValueError("no launches");
  }
  void load_values(const std::map<std::string, std::string>& values) override {
    launches = std::stoll(values.at("launches"));
  }
  float lr_ = 0;
};

TEST(TrainingKit, AUsersOptimizerCheckpointsAndResumes) {
  const data::Dataset set = blobs(96, 3);
  nn::Sequential straight = classifier(5);
  SignMomentum straight_opt(straight.parameters(), 0.01);
  train::Trainer straight_trainer(straight, straight_opt, nn::CrossEntropyLoss());
  (void)straight_trainer.fit(set, nullptr, quiet(4));

  const axon_test::TempDir dir;
  nn::Sequential first = classifier(5);
  SignMomentum first_opt(first.parameters(), 0.01);
  EXPECT_EQ(first.parameters().has_slot("velocity"), false);
  train::Trainer first_trainer(first, first_opt, nn::CrossEntropyLoss());
  (void)first_trainer.fit(set, nullptr, quiet(2));
  first_trainer.save_checkpoint(dir / "user.safetensors");

  nn::Sequential resumed = classifier(77);
  SignMomentum resumed_opt(resumed.parameters(), 0.01);
  train::Trainer resumed_trainer(resumed, resumed_opt, nn::CrossEntropyLoss());
  resumed_trainer.load_checkpoint(dir / "user.safetensors");
  EXPECT_EQ(resumed_opt.launches, first_opt.launches);
  train::FitOptions go_on = quiet(4);
  go_on.resume = true;
  (void)resumed_trainer.fit(set, nullptr, go_on);
  EXPECT_EQ(resumed.parameters().values().to_vector(), straight.parameters().values().to_vector());
  EXPECT_EQ(resumed.parameters().slot("velocity").to_vector(), straight.parameters().slot("velocity").to_vector());

  // Another optimizer kind's checkpoint is refused naming both.
  nn::Sequential other = classifier(5);
  optim::Adam adam(other.parameters());
  train::Trainer other_trainer(other, adam, nn::CrossEntropyLoss());
  axon_test::expect_error<axon::FormatError>([&] { other_trainer.load_checkpoint(dir / "user.safetensors"); },
                                             {"SignMomentum", "Adam"});
}

// A slot starts at its declared initial value, and a NaN rollback in the first epoch restores it
// (Adagrad's accumulator was refilled with 0 instead of initial_accumulator_value).
// The slot's values on the parameters' elements: `initial` everywhere, and 0 on the padding.
void expect_slot(nn::ParamArena& arena, const std::string& name, float initial) {
  const std::vector<float> slot = arena.slot(name).to_vector();
  std::vector<float> want(slot.size(), 0.0f);
  for (std::size_t i = 0; i < arena.parameters().size(); ++i) {
    const auto begin = static_cast<std::size_t>(arena.offset(i));
    std::fill_n(want.begin() + static_cast<std::ptrdiff_t>(begin), arena.parameters()[i].parameter->value.numel(), initial);
  }
  EXPECT_EQ(slot, want) << name;
}

TEST(TrainingKit, SlotsStartAndRollBackToTheirInitialValues) {
  nn::Sequential model = classifier(6);
  optim::Adagrad adagrad(model.parameters(), {.lr = 0.05, .initial_accumulator_value = 0.25});
  adagrad.ready();
  expect_slot(model.parameters(), "sum", 0.25f);
  // A set whose third batch is poisoned: rolled back to the fit's start, inside epoch 1.
  data::Dataset set = blobs(48, 4);
  std::vector<float> x = set.features().to_vector();
  x[4 * 40] = std::numeric_limits<float>::quiet_NaN();
  const data::Dataset poisoned(Tensor::from_vector({48, 4}, std::span<const float>(x)), set.targets());
  train::Trainer trainer(model, adagrad, nn::CrossEntropyLoss());
  train::FitOptions options = quiet(1);
  options.shuffle = false;
  options.nan_policy = train::NanPolicy::kRollback;
  const std::vector<float> before = model.parameters().values().to_vector();
  (void)trainer.fit(poisoned, nullptr, options);
  EXPECT_EQ(model.parameters().values().to_vector(), before);  // the rollback restored the start
  expect_slot(model.parameters(), "sum", 0.25f);
}

// The rollback copies the state: the snapshot never shares memory with the weights (if it did,
// the "restore" would restore the poisoned step's weights and the check above could not tell).
TEST(TrainingKit, TheRollbackSnapshotIsACopy) {
  nn::Sequential model = classifier(7);
  optim::SGD sgd(model.parameters(), {.lr = 0.5});
  data::Dataset set = blobs(48, 5);
  std::vector<float> x = set.features().to_vector();
  x[4 * 40] = std::numeric_limits<float>::quiet_NaN();  // batch 3 of 3 (rows 32-47): after two good steps
  const data::Dataset poisoned(Tensor::from_vector({48, 4}, std::span<const float>(x)), set.targets());
  train::Trainer trainer(model, sgd, nn::CrossEntropyLoss());
  train::FitOptions options = quiet(1);
  options.shuffle = false;
  options.nan_policy = train::NanPolicy::kRollback;
  const std::vector<float> start = model.parameters().values().to_vector();
  const train::History history = trainer.fit(poisoned, nullptr, options);
  EXPECT_EQ(history.epochs.at(0).skipped_batches, 1);
  EXPECT_EQ(model.parameters().values().to_vector(), start);  // two good steps undone, not kept
  EXPECT_EQ(trainer.step(), 2);
}

// Buffers roll back with the weights: a poisoned batch's NaN statistics must not stay in
// BatchNorm's running statistics (they would make every later evaluation NaN).
TEST(TrainingKit, BuffersRollBackWithTheWeights) {
  axon::Generator generator(9);
  nn::Sequential model;
  model.add(nn::Dense(4, 6, nn::DenseOptions{.generator = &generator}))
      .add(nn::BatchNorm1d(6))
      .add(nn::ReLU())
      .add(nn::Dense(6, 3, nn::DenseOptions{.generator = &generator}));
  optim::SGD sgd(model.parameters(), {.lr = 0.1});
  data::Dataset set = blobs(48, 5);
  std::vector<float> x = set.features().to_vector();
  x[4 * 40] = std::numeric_limits<float>::quiet_NaN();  // batch 3 of 3
  const data::Dataset poisoned(Tensor::from_vector({48, 4}, std::span<const float>(x)), set.targets());
  train::Trainer trainer(model, sgd, nn::CrossEntropyLoss());
  train::FitOptions options = quiet(1);
  options.shuffle = false;
  options.nan_policy = train::NanPolicy::kRollback;
  const auto& buffers = model.buffers();
  ASSERT_EQ(buffers.size(), 3u);
  const std::vector<float> mean_before = buffers[0].buffer->value.to_vector();
  (void)trainer.fit(poisoned, nullptr, options);
  EXPECT_EQ(buffers[0].buffer->value.to_vector(), mean_before);  // back to the fit's start, not NaN
  EXPECT_EQ(buffers[2].buffer->value.to_int_vector(), std::vector<std::int32_t>{0});
  EXPECT_EQ(dynamic_cast<const nn::BatchNorm&>(model.layer(1)).num_batches_tracked(), 0);
}

// A model with BatchNorm resumes exactly: its running statistics and num_batches_tracked travel
// in the checkpoint, so the resumed run ends with the straight run's weights and buffers.
TEST(TrainingKit, BatchNormBuffersResumeExactly) {
  const auto bn_model = [](std::uint64_t seed) {
    axon::Generator generator(seed);
    nn::Sequential model;
    model.add(nn::Dense(4, 6, nn::DenseOptions{.generator = &generator}))
        .add(nn::BatchNorm1d(6, {.momentum = std::nullopt}))
        .add(nn::ReLU())
        .add(nn::Dense(6, 3, nn::DenseOptions{.generator = &generator}));
    return model;
  };
  const data::Dataset set = blobs(64, 13);
  nn::Sequential straight = bn_model(3);
  optim::Adam straight_adam(straight.parameters(), {.lr = 0.01});
  train::Trainer straight_trainer(straight, straight_adam, nn::CrossEntropyLoss());
  (void)straight_trainer.fit(set, nullptr, quiet(4));

  const axon_test::TempDir dir;
  nn::Sequential first = bn_model(3);
  optim::Adam first_adam(first.parameters(), {.lr = 0.01});
  train::Trainer first_trainer(first, first_adam, nn::CrossEntropyLoss());
  (void)first_trainer.fit(set, nullptr, quiet(2));
  first_trainer.save_checkpoint(dir / "bn.safetensors");

  nn::Sequential resumed = bn_model(77);
  optim::Adam resumed_adam(resumed.parameters(), {.lr = 0.01});
  train::Trainer resumed_trainer(resumed, resumed_adam, nn::CrossEntropyLoss());
  resumed_trainer.load_checkpoint(dir / "bn.safetensors");
  EXPECT_EQ(dynamic_cast<const nn::BatchNorm&>(resumed.layer(1)).num_batches_tracked(), 8);  // 2 epochs of 4 batches
  train::FitOptions go_on = quiet(4);
  go_on.resume = true;
  (void)resumed_trainer.fit(set, nullptr, go_on);
  EXPECT_EQ(resumed.parameters().values().to_vector(), straight.parameters().values().to_vector());
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(resumed.buffers()[i].buffer->value.to_vector(), straight.buffers()[i].buffer->value.to_vector()) << i;
  }
  EXPECT_EQ(resumed.buffers()[2].buffer->value.to_int_vector(), std::vector<std::int32_t>{16});
}

// Parameter groups as torch.optim's: no weight decay on biases. A group's parameters move with
// its own settings, the others with the optimizer's; groups are kept in checkpoints.
TEST(TrainingKit, ParameterGroupsTakeTheirOwnSettings) {
  nn::Sequential a = classifier(8), b = classifier(8);
  const auto biases = optim::parameters_where(a.parameters(), [](const std::string& n) { return n.ends_with(".bias"); });
  EXPECT_EQ(biases, (std::vector<std::string>{"0.bias", "3.bias"}));
  optim::AdamW grouped(a.parameters(), {.lr = 0.01, .weight_decay = 0.5}, {{.parameters = biases, .weight_decay = 0.0}});
  optim::AdamW plain(b.parameters(), {.lr = 0.01, .weight_decay = 0.5});
  EXPECT_EQ(grouped.group_count(), 2u);
  // Zero gradients: only weight decay moves a parameter.
  const std::vector<float> before = a.parameters().values().to_vector();
  grouped.step();
  plain.step();
  const auto& named = a.parameters().parameters();
  for (std::size_t i = 0; i < named.size(); ++i) {
    const std::vector<float> now = named[i].parameter->value.to_vector();
    const std::vector<float> decayed = b.parameters().parameters()[i].parameter->value.to_vector();
    const bool bias = named[i].name.ends_with(".bias");
    EXPECT_EQ(now != decayed, bias) << named[i].name;  // biases kept, weights decayed alike
  }
  (void)before;
  axon_test::expect_error<axon::ValueError>(
      [&] {
        optim::SGD bad(a.parameters(), {.lr = 0.1}, {{.parameters = {"9.weight"}}});
        bad.step();
      },
      {"group 1 names '9.weight'"});
  // set_lr keeps each group's ratio to group 0; set_group_lr sets one.
  optim::SGD two(b.parameters(), {.lr = 0.1}, {{.parameters = biases, .lr = 0.3}});
  two.set_lr(0.05);
  EXPECT_DOUBLE_EQ(two.group_lr(1), 0.15);
  two.set_group_lr(1, 0.2);
  EXPECT_DOUBLE_EQ(two.group_lr(1), 0.2);
  EXPECT_DOUBLE_EQ(two.lr(), 0.05);
  axon_test::expect_error<axon::ValueError>([&] { two.set_group_lr(2, 0.1); }, {"no parameter group 2"});
  axon_test::expect_error<axon::ValueError>([&] { two.set_group_lr(1, -1.0); }, {"learning rate of group 1"});
}

// Each group's own rate is in checkpoints: ReduceLROnPlateau's floor reached by the biases'
// group first leaves the groups at rates no single ratio gives, and a resumed run goes on from
// them as the straight run did.
TEST(TrainingKit, GroupRatesResumeExactly) {
  const data::Dataset train_set = blobs(96, 21), validation = blobs(48, 22);
  const auto run = [&](nn::Sequential& model, optim::SGD& sgd, std::int64_t epochs, const std::filesystem::path* save,
                       const std::filesystem::path* load) {
    optim::ReduceLROnPlateau plateau(sgd, {.factor = 0.5, .patience = 0, .threshold = 0.5, .min_lr = 0.004});
    train::Trainer trainer(model, sgd, nn::CrossEntropyLoss());
    trainer.set_schedule(&plateau);
    train::FitOptions options = quiet(epochs);
    if (load != nullptr) {
      trainer.load_checkpoint(*load);
      options.resume = true;
    }
    (void)trainer.fit(train_set, &validation, options);
    if (save != nullptr) trainer.save_checkpoint(*save);
  };
  const auto make_sgd = [](nn::Sequential& model) {
    return std::make_unique<optim::SGD>(model.parameters(), optim::SgdOptions{.lr = 0.1, .momentum = 0.5},
                                        std::vector<optim::ParamGroup>{
                                            {.parameters = optim::parameters_where(
                                                 model.parameters(), [](const std::string& n) { return n.ends_with(".bias"); }),
                                             .lr = 0.01}});
  };
  nn::Sequential straight = classifier(31);
  const auto straight_sgd = make_sgd(straight);
  run(straight, *straight_sgd, 4, nullptr, nullptr);
  ASSERT_DOUBLE_EQ(straight_sgd->group_lr(1), 0.004);  // the floor, while group 0 is above it
  ASSERT_GT(straight_sgd->lr(), 0.01);

  const axon_test::TempDir dir;
  const std::filesystem::path file = dir / "groups.safetensors";
  nn::Sequential first = classifier(31);
  const auto first_sgd = make_sgd(first);
  run(first, *first_sgd, 2, &file, nullptr);
  nn::Sequential resumed = classifier(55);
  const auto resumed_sgd = make_sgd(resumed);
  run(resumed, *resumed_sgd, 4, nullptr, &file);
  EXPECT_EQ(resumed_sgd->lr(), straight_sgd->lr());
  EXPECT_EQ(resumed_sgd->group_lr(1), straight_sgd->group_lr(1));
  EXPECT_EQ(resumed.parameters().values().to_vector(), straight.parameters().values().to_vector());
}

// ---- fit as a loop over callbacks; exact resume ----

// Early stopping's state is in checkpoints: a run resumed from epoch 2 stops where the straight
// run stops, with its weights (the resumed one ran on past the straight one's stop before).
TEST(TrainingKit, EarlyStoppingResumesWhereItStood) {
  const data::Dataset train_set = blobs(96, 9), validation = blobs(48, 10);
  train::FitOptions options = quiet(30);
  options.early_stopping = train::EarlyStopping{.patience = 2, .min_delta = 0.05};
  nn::Sequential straight = classifier(12);
  optim::SGD straight_sgd(straight.parameters(), {.lr = 0.05});
  train::Trainer straight_trainer(straight, straight_sgd, nn::CrossEntropyLoss());
  const train::History whole = straight_trainer.fit(train_set, &validation, options);
  ASSERT_EQ(whole.stop_reason, train::StopReason::kEarlyStopping);
  ASSERT_GT(whole.epochs.size(), 3u);

  const axon_test::TempDir dir;
  nn::Sequential first = classifier(12);
  optim::SGD first_sgd(first.parameters(), {.lr = 0.05});
  train::Trainer first_trainer(first, first_sgd, nn::CrossEntropyLoss());
  train::FitOptions checkpointed = options;
  checkpointed.checkpoint_dir = dir / "checkpoints";
  checkpointed.keep_checkpoints = 100;
  (void)first_trainer.fit(train_set, &validation, checkpointed);

  nn::Sequential resumed = classifier(99);
  optim::SGD resumed_sgd(resumed.parameters(), {.lr = 0.05});
  train::Trainer resumed_trainer(resumed, resumed_sgd, nn::CrossEntropyLoss());
  resumed_trainer.load_checkpoint(dir / "checkpoints" / "checkpoint-2.safetensors");
  train::FitOptions go_on = options;
  go_on.resume = true;
  const train::History rest = resumed_trainer.fit(train_set, &validation, go_on);
  EXPECT_EQ(rest.stop_reason, train::StopReason::kEarlyStopping);
  EXPECT_EQ(2 + rest.epochs.size(), whole.epochs.size());
  EXPECT_EQ(rest.best_epoch, whole.best_epoch);
  EXPECT_EQ(resumed.parameters().values().to_vector(), straight.parameters().values().to_vector());
}

// A checkpoint a callback takes mid-epoch resumes mid-epoch: the same weights and losses as a
// run that never stopped (the partial epoch was replayed before: weights off by 0.08).
TEST(TrainingKit, AMidEpochCheckpointResumesMidEpoch) {
  const data::Dataset set = blobs(100, 11);
  const axon_test::TempDir dir;
  struct SaveAt final : train::Callback {
    std::int64_t at = 0;
    std::filesystem::path path;
    void on_batch_end(train::Trainer& t, std::int64_t step) override {
      if (step == at) t.save_checkpoint(path);
    }
  };
  for (const train::NanPolicy policy : {train::NanPolicy::kThrow, train::NanPolicy::kRollback}) {
    SCOPED_TRACE(static_cast<int>(policy));
    train::FitOptions options = quiet(3);
    options.nan_policy = policy;
    nn::Sequential straight = classifier(13);
    optim::Adam straight_adam(straight.parameters(), {.lr = 0.01});
    train::Trainer straight_trainer(straight, straight_adam, nn::CrossEntropyLoss());
    SaveAt save;
    save.at = 10;  // epoch 2, batch 3 of 7
    save.path = dir / "mid.safetensors";
    const train::History whole = straight_trainer.fit(set, nullptr, options, {&save});

    nn::Sequential resumed = classifier(98);
    optim::Adam resumed_adam(resumed.parameters(), {.lr = 0.01});
    train::Trainer resumed_trainer(resumed, resumed_adam, nn::CrossEntropyLoss());
    resumed_trainer.load_checkpoint(save.path);
    EXPECT_EQ(resumed_trainer.epoch(), 1);
    EXPECT_EQ(resumed_trainer.batch_in_epoch(), 3);
    train::FitOptions go_on = options;
    go_on.resume = true;
    const train::History rest = resumed_trainer.fit(set, nullptr, go_on);
    ASSERT_EQ(rest.epochs.size(), 2u);
    EXPECT_EQ(rest.epochs[0].loss, whole.epochs[1].loss);
    EXPECT_EQ(rest.epochs[1].loss, whole.epochs[2].loss);
    EXPECT_EQ(resumed.parameters().values().to_vector(), straight.parameters().values().to_vector());
  }
}

// ---- faults ----

// A checkpoint is as strict as load_weights: one of a bigger model is refused (it loaded).
TEST(TrainingKit, ACheckpointOfABiggerModelIsRefused) {
  const axon_test::TempDir dir;
  axon::Generator generator(3);
  nn::Sequential big;
  big.add(nn::Dense(4, 12, nn::DenseOptions{.generator = &generator}))
      .add(nn::ReLU())
      .add(nn::Dropout(0.1f))
      .add(nn::Dense(12, 3, nn::DenseOptions{.generator = &generator}))
      .add(nn::ReLU())
      .add(nn::Dense(3, 3, nn::DenseOptions{.generator = &generator}));
  optim::SGD big_sgd(big.parameters(), {.lr = 0.1});
  train::Trainer big_trainer(big, big_sgd, nn::CrossEntropyLoss());
  big_trainer.save_checkpoint(dir / "big.safetensors");
  nn::Sequential small = classifier(3);
  optim::SGD small_sgd(small.parameters(), {.lr = 0.1});
  train::Trainer small_trainer(small, small_sgd, nn::CrossEntropyLoss());
  axon_test::expect_error<axon::FormatError>([&] { small_trainer.load_checkpoint(dir / "big.safetensors"); },
                                             {"big.safetensors", "holds parameter 5.weight"});
}

// An epoch whose every batch the skip policy dropped has no loss (it was 0.0, and target_loss
// then stopped the run as reached after no step at all).
TEST(TrainingKit, AnEpochOfSkippedBatchesReachesNoTarget) {
  data::Dataset set = blobs(32, 6);
  std::vector<float> x(32 * 4, std::numeric_limits<float>::quiet_NaN());
  const data::Dataset poisoned(Tensor::from_vector({32, 4}, std::span<const float>(x)), set.targets());
  nn::Sequential model = classifier(9);
  optim::SGD sgd(model.parameters(), {.lr = 0.1});
  train::Trainer trainer(model, sgd, nn::CrossEntropyLoss());
  train::FitOptions options = quiet(3);
  options.nan_policy = train::NanPolicy::kSkip;
  options.target_loss = 10.0;
  const train::History history = trainer.fit(poisoned, nullptr, options);
  EXPECT_EQ(history.stop_reason, train::StopReason::kMaxEpochs);
  ASSERT_EQ(history.epochs.size(), 3u);
  EXPECT_TRUE(std::isnan(history.epochs[0].loss));
  EXPECT_EQ(trainer.step(), 0);
}

// fit refuses wrong options and datasets before anything changes (a validation set of the wrong
// width and evaluate_batch_size 0 were refused after an epoch had trained; checkpoint_every 0
// wrote nothing; keep_checkpoints 0 deleted each checkpoint after writing it), and refuses to
// run inside itself (a fit from a callback replaced the outer fit's options).
TEST(TrainingKit, FitRefusesBadOptionsBeforeItTrains) {
  const data::Dataset set = blobs(32, 7);
  const data::Dataset wide(Tensor::ones({8, 5}), set.targets().rows(0, 8));
  nn::Sequential model = classifier(10);
  optim::SGD sgd(model.parameters(), {.lr = 0.1});
  train::Trainer trainer(model, sgd, nn::CrossEntropyLoss());
  const std::vector<float> weights = model.parameters().values().to_vector();
  const axon_test::TempDir dir;
  const auto with = [&](auto change) {
    train::FitOptions o = quiet(2);
    change(o);
    return o;
  };
  axon_test::expect_error<axon::ShapeError>([&] { (void)trainer.fit(set, &wide, quiet(2)); }, {"validation set's rows"});
  axon_test::expect_error<axon::ValueError>(
      [&] { (void)trainer.fit(set, &set, with([](train::FitOptions& o) { o.evaluate_batch_size = 0; })); },
      {"evaluate_batch_size"});
  for (const auto& [every, keep] : {std::pair{0, 3}, std::pair{1, 0}}) {
    axon_test::expect_error<axon::ValueError>(
        [&] {
          (void)trainer.fit(set, nullptr, with([&](train::FitOptions& o) {
                              o.checkpoint_dir = dir / "c";
                              o.checkpoint_every = every;
                              o.keep_checkpoints = keep;
                            }));
        },
        {"checkpoint_every >= 1 and keep_checkpoints >= 1"});
  }
  axon_test::expect_error<axon::ValueError>(
      [&] {
        (void)trainer.fit(set, nullptr, with([](train::FitOptions& o) {
                            o.clip_grad_norm = 1.0f;
                            o.clip_norm_type = 0.0f;
                          }));
      },
      {"clip_norm_type"});
  axon_test::expect_error<axon::ValueError>(
      [&] { (void)trainer.fit(set, nullptr, with([](train::FitOptions& o) { o.clip_grad_norm = 0.0f; })); },
      {"clip_grad_norm must be positive"});
  EXPECT_EQ(model.parameters().values().to_vector(), weights);
  EXPECT_EQ(trainer.epoch(), 0);
  // Clipping of another order, with the nonfinite check, in a run that trains: the weights of
  // the same step done by hand (forward, backward, clip_grad_norm of order inf, SGD).
  {
    const auto make = [] {
      axon::Generator generator(11);
      nn::Sequential m;
      m.add(nn::Dense(4, 8, nn::DenseOptions{.generator = &generator})).add(nn::Tanh()).add(nn::Dense(8, 3, nn::DenseOptions{.generator = &generator}));
      return m;
    };
    nn::Sequential by_fit = make(), by_hand = make();
    optim::SGD sgd_fit(by_fit.parameters(), {.lr = 0.5}), sgd_hand(by_hand.parameters(), {.lr = 0.5});
    train::Trainer fit_trainer(by_fit, sgd_fit, nn::CrossEntropyLoss());
    train::FitOptions o = quiet(1);
    o.batch_size = 32;
    o.shuffle = false;
    o.clip_grad_norm = 0.05f;
    o.clip_norm_type = std::numeric_limits<float>::infinity();
    o.clip_error_if_nonfinite = true;
    (void)fit_trainer.fit(set, nullptr, o);
    nn::Loss loss = nn::CrossEntropyLoss();
    by_hand.train();
    loss.compute(by_hand.forward(set.features()), set.targets());
    (void)by_hand.backward(loss.grad());
    const Tensor norm = optim::clip_grad_norm(by_hand.parameters(), 0.05f, {.norm_type = o.clip_norm_type});
    EXPECT_GT(norm.item(), 0.05f);  // it did clip
    sgd_hand.step();
    EXPECT_EQ(by_fit.parameters().values().to_vector(), by_hand.parameters().values().to_vector());
  }
  struct Reenter final : train::Callback {
    const data::Dataset* set = nullptr;
    std::string error;
    void on_epoch_end(train::Trainer& t, const train::EpochMetrics&) override {
      try {
        (void)t.fit(*set, nullptr, quiet(1));
      } catch (const axon::ValueError& e) {
        error = e.what();
      }
    }
  } reenter;
  reenter.set = &set;
  const train::History history = trainer.fit(set, nullptr, quiet(3), {&reenter});
  EXPECT_EQ(history.epochs.size(), 3u);
  EXPECT_NE(reenter.error.find("a fit is running already"), std::string::npos) << reenter.error;
}

// OneCycleLR with a warm-up shorter than a step starts at max_lr (it gave "invalid learning
// rate: -nan").
TEST(TrainingKit, OneCycleWithoutAWarmUpStepStartsAtTheTop) {
  nn::Sequential model = classifier(11);
  optim::SGD sgd(model.parameters(), {.lr = 0.1});
  optim::OneCycleLR schedule(sgd, 1.0, 10, 0.1);
  EXPECT_DOUBLE_EQ(sgd.lr(), 1.0);
  for (int step = 0; step < 9; ++step) {
    schedule.step();
    EXPECT_TRUE(std::isfinite(sgd.lr()) && sgd.lr() < 1.0) << step;
  }
}

}  // namespace
