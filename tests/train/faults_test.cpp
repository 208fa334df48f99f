// Faults of the model and trainer layers that a hostile or unlucky user reaches (issue 19): a
// NaN feature must reach the NaN guard, a batch too big for memory must leave the model usable,
// hostile checkpoint counters and batch sizes must not overflow, and evaluate/predict that
// throw must not leave the model in evaluation mode. Each case failed before its fix.
#include <unistd.h>

#include <climits>
#include <cmath>
#include <limits>
#include <map>

#include "test_util.h"

namespace {

using axon::Tensor;
namespace data = axon::data;
namespace nn = axon::nn;
namespace train = axon::train;

data::Dataset blobs(std::int64_t n, std::uint32_t seed) {
  const auto x = axon_test::random_doubles(static_cast<std::size_t>(n * 4), -1, 1, seed);
  const auto labels = axon_test::random_labels(static_cast<std::size_t>(n), 3, seed + 1);
  return data::Dataset(axon_test::tensor_from({n, 4}, x),
                       Tensor::from_vector({n}, std::span<const std::int32_t>(labels)));
}

nn::Sequential classifier(std::uint64_t seed) {
  axon::Generator generator(seed);
  nn::Sequential model;
  model.add(nn::Dense(4, 8, nn::DenseOptions{.generator = &generator}))
      .add(nn::ReLU())
      .add(nn::Dense(8, 3, nn::DenseOptions{.generator = &generator}));
  return model;
}

train::FitOptions quiet(std::int64_t epochs) {
  return {.epochs = epochs, .batch_size = 8, .shuffle = false, .seed = 3, .display = train::Display::kQuiet};
}

// One NaN feature: ReLU turned it into 0, the loss stayed finite, the guard never fired and
// 0 x NaN spread NaN into the first layer's weight gradient.
TEST(Faults, ANanFeatureReachesTheNanGuard) {
  std::vector<float> x = blobs(32, 1).features().to_vector();
  x[4 * 20 + 2] = std::numeric_limits<float>::quiet_NaN();  // row 20: batch 3 of 8 rows
  const data::Dataset poisoned(Tensor::from_vector({32, 4}, std::span<const float>(x)), blobs(32, 1).targets());
  {
    nn::Sequential model = classifier(1);
    axon::optim::SGD sgd(model.parameters(), {.lr = 0.1});
    train::Trainer trainer(model, sgd, nn::CrossEntropyLoss());
    axon_test::expect_error<axon::ValueError>([&] { (void)trainer.fit(poisoned, nullptr, quiet(1)); },
                                              {"the loss is nan", "epoch 1", "step 3"});
  }
  nn::Sequential model = classifier(1);
  axon::optim::SGD sgd(model.parameters(), {.lr = 0.1});
  train::Trainer trainer(model, sgd, nn::CrossEntropyLoss());
  train::FitOptions skip = quiet(2);
  skip.nan_policy = train::NanPolicy::kSkip;
  const train::History history = trainer.fit(poisoned, nullptr, skip);
  for (const auto& epoch : history.epochs) EXPECT_EQ(epoch.skipped_batches, 1);
  for (const float v : model.parameters().values().to_vector()) ASSERT_TRUE(std::isfinite(v));
}

// A batch too big to allocate for: the next batches, smaller or between, get their own output
// (they got the previous batch's, or "Tensor::rows: range [0, 3) is outside the 2 rows"), and
// backward updates the gradients.
TEST(Faults, AnOutOfMemoryForwardLeavesTheModelUsable) {
  // The hidden layer's activations of the big batch would need twice the machine's memory; the
  // input and the weights stay small.
  const std::int64_t width = 1 << 16;
  const double memory = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE));
  const auto big_rows = static_cast<std::int64_t>(2.0 * memory / (4.0 * static_cast<double>(width))) + 1;
  // The model, and a twin with the same weights that never saw the big batch.
  const auto make = [&] {
    axon::Generator generator(2);
    nn::Sequential m;
    m.add(nn::Dense(1, width, nn::DenseOptions{.generator = &generator}))
        .add(nn::ReLU())
        .add(nn::Dense(width, 2, nn::DenseOptions{.generator = &generator}));
    return m;
  };
  nn::Sequential model = make();
  nn::Sequential twin = make();
  const Tensor two = axon_test::tensor_from({2, 1}, std::vector<double>{0.5, -0.25});
  (void)model.forward(two);
  axon_test::expect_error<axon::OutOfMemory>([&] { (void)model.forward(Tensor::ones({big_rows, 1})); }, {"cannot allocate"});
  axon_test::expect_error<axon::ValueError>([&] { (void)model.backward(Tensor::ones({2, 2})); }, {"no forward pass"});
  for (const std::int64_t rows : {std::int64_t{2}, std::int64_t{3}, std::int64_t{1}}) {
    SCOPED_TRACE(rows);
    const auto values = axon_test::random_doubles(static_cast<std::size_t>(rows), -1, 1, static_cast<std::uint32_t>(rows));
    const Tensor x = axon_test::tensor_from({rows, 1}, values);
    EXPECT_EQ(model.predict(x).to_vector(), twin.predict(x).to_vector());
    EXPECT_EQ(model.forward(x).to_vector(), twin.forward(x).to_vector());
    model.zero_grad();
    (void)model.backward(Tensor::ones({rows, 2}));
    float total = 0;
    for (const float g : model.parameters().grads().to_vector()) total += std::abs(g);
    EXPECT_GT(total, 0.0f) << "backward left every gradient at zero";
  }
}

// Counters in a checkpoint past 2^53 are refused (they were accepted up to INT64_MAX, and the next
// step overflowed them); 2^53 itself loads.
TEST(Faults, HostileCheckpointCountersAreRefused) {
  const axon_test::TempDir dir;
  nn::Sequential model = classifier(3);
  axon::optim::SGD sgd(model.parameters(), {.lr = 0.1, .momentum = 0.9});
  axon::optim::ReduceLROnPlateau plateau(sgd);
  train::Trainer trainer(model, sgd, nn::CrossEntropyLoss());
  trainer.set_schedule(&plateau);
  (void)trainer.fit(blobs(16, 2), nullptr, quiet(1));
  trainer.save_checkpoint(dir / "good");
  const axon::io::Safetensors good = axon::io::load_safetensors(dir / "good");
  const auto with = [&](const std::string& key, const std::string& value) {
    std::map<std::string, std::string> metadata = good.metadata;
    metadata[key] = value;
    const auto path = dir / (key + "_" + std::to_string(value.size()));
    axon::io::save_safetensors(path, good.tensors, metadata);
    return path;
  };
  const std::string past = std::to_string((std::int64_t{1} << 53) + 1);
  for (const char* key : {"optimizer.steps", "step", "epoch", "schedule_epoch"}) {
    SCOPED_TRACE(key);
    const std::string name = std::string(key) == "optimizer.steps" ? "steps" : key;
    for (const std::string& value : {past, std::to_string(LLONG_MAX)}) {
      axon_test::expect_error<axon::FormatError>([&] { trainer.load_checkpoint(with(key, value)); },
                                                 {"'" + name + "' is not a whole number in [0, 2^53]"});
    }
  }
  axon_test::expect_error<axon::FormatError>(
      [&] { trainer.load_checkpoint(with("schedule_state", "best=1 bad_epochs=9223372036854775807 cooldown_left=0")); },
      {"ReduceLROnPlateau state"});
  EXPECT_EQ(trainer.epoch(), 1);
  EXPECT_NO_THROW(trainer.load_checkpoint(with("optimizer.steps", std::to_string(std::int64_t{1} << 53))));
  EXPECT_EQ(sgd.steps(), std::int64_t{1} << 53);
  axon_test::expect_error<axon::ValueError>([&] { sgd.set_steps(LLONG_MAX); }, {"2^53"});
}

// A batch size up to INT64_MAX means the whole set (n + batch_size - 1 overflowed).
TEST(Faults, HugeBatchSizesTakeTheWholeSet) {
  nn::Sequential model = classifier(4);
  axon::optim::SGD sgd(model.parameters(), {.lr = 0.1});
  train::Trainer trainer(model, sgd, nn::CrossEntropyLoss());
  train::FitOptions options = quiet(2);
  options.batch_size = LLONG_MAX;
  options.evaluate_batch_size = LLONG_MAX;
  const data::Dataset set = blobs(20, 5);
  const train::History history = trainer.fit(set, &set, options);
  EXPECT_EQ(history.epochs.size(), 2u);
  EXPECT_EQ(trainer.step(), 2);  // one batch an epoch
  EXPECT_EQ(trainer.evaluate(set, LLONG_MAX).samples, 20);
  EXPECT_EQ(trainer.predict(set.features(), LLONG_MAX).shape(), (axon::Shape{20, 3}));
}

// evaluate and predict that throw leave the model in the mode it was in.
TEST(Faults, AThrowingEvaluateOrPredictRestoresTrainingMode) {
  nn::Sequential model = classifier(5);
  axon::optim::SGD sgd(model.parameters(), {.lr = 0.1});
  train::Trainer trainer(model, sgd, nn::CrossEntropyLoss());
  model.train();
  const data::Dataset wrong(Tensor::ones({4, 5}), Tensor::from_vector({4}, std::span<const std::int32_t>(std::vector<std::int32_t>{0, 1, 2, 0})));
  EXPECT_THROW((void)trainer.evaluate(wrong), axon::ShapeError);
  EXPECT_TRUE(model.training());
  EXPECT_THROW((void)trainer.predict(Tensor::ones({4, 5})), axon::ShapeError);
  EXPECT_TRUE(model.training());
}

}  // namespace
