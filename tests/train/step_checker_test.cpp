// The step checker (tests/step_checker.h): the backend counters see each kind of request, and a
// planned training step — the model's own, and fit's in the middle of an epoch — requests no
// memory, uploads nothing, makes the host wait for nothing (but the CPU's NaN guard, which is
// free there and skipped on CUDA), and runs the ops its layers add up to. On CUDA (where a GPU
// is present) the same steps are held to the same counts, waits at zero.
#include "step_checker.h"
#include "step_models.h"
#include "test_util.h"

namespace {

using axon::Activation;
using axon::Device;
using axon::Tensor;
using axon_test::BackendCounts;
using axon_test::count_backend;
namespace data = axon::data;
namespace nn = axon::nn;
namespace optim = axon::optim;
namespace train = axon::train;

std::vector<Device> devices() {
  std::vector<Device> list{Device::cpu()};
  if (axon_test::have_cuda()) list.push_back(Device::cuda(0));
  return list;
}

TEST(StepChecker, SeesEachKindOfRequest) {
  for (const Device device : devices()) {
    SCOPED_TRACE(device.str());
    Tensor x;
    EXPECT_EQ(count_backend([&] { x = Tensor::empty({4, 8}, device); }), (BackendCounts{0, 1, 0, 0}));
    const std::vector<float> values(32, 0.5f);
    EXPECT_EQ(count_backend([&] { x = Tensor::from_vector({4, 8}, values, device); }), (BackendCounts{0, 1, 0, 1}));
    const Tensor y = Tensor::empty({4, 8}, device);
    EXPECT_EQ(count_backend([&] { axon::activation_out(Activation::kRelu, x, y); }), (BackendCounts{1, 0, 0, 0}));
    EXPECT_EQ(count_backend([&] { y.copy_from(x); }), (BackendCounts{1, 0, 0, 0}));
    EXPECT_EQ(count_backend([&] { (void)y.to_vector(); }), (BackendCounts{0, 0, 1, 0}));
    EXPECT_EQ(count_backend([&] { (void)y.rows(0, 1).to(Device::cpu()); }).host_waits, device.is_cpu() ? 0 : 1);
    EXPECT_EQ(count_backend([&] { axon::synchronize(device); }), (BackendCounts{0, 0, 1, 0}));
    // An op that checks its arguments and refuses runs nothing.
    EXPECT_EQ(count_backend([&] { EXPECT_THROW(axon::activation_out(Activation::kRelu, x, Tensor::empty({2}, device)), axon::Error); })
                  .ops,
              0);
  }
}

// 20 -> 32 ReLU Dropout -> 16 GELU -> 5, cross-entropy, clipping, Adam.
struct Step {
  axon::Generator generator{10};
  nn::Sequential model;
  nn::Loss loss = nn::CrossEntropyLoss();
  std::unique_ptr<optim::Adam> adam;
  Tensor x, labels, norm;

  explicit Step(Device device) : model(axon_test::step_mlp(generator, device)) {
    model.set_generator(&generator);
    model.train();
    adam = std::make_unique<optim::Adam>(model.parameters());
    x = axon_test::tensor_from({64, 20}, axon_test::random_doubles(64 * 20, -1, 1, 1)).to(device);
    labels = axon_test::int_tensor_from({64}, axon_test::random_labels(64, 5, 2)).to(device);
    norm = Tensor::empty({1}, device);
  }
  void forward() { loss.compute(model.forward(x), labels); }
  void backward() { model.backward(loss.grad()); }
  void update() {
    axon::clip_grad_norm_out(model.parameters().grads(), 5.0f, norm);
    adam->step();
  }
};

TEST(StepChecker, APlannedModelStepRequestsNothingButItsOps) {
  for (const Device device : devices()) {
    SCOPED_TRACE(device.str());
    Step step(device);
    for (int k = 0; k < 2; ++k) step.forward(), step.backward(), step.update();  // plans every buffer
    // Forward: one op per layer (Dense with its bias and activation fused: linear; Sequential
    // fuses the ReLU after the first Dense into it), then the loss (value and gradient in one).
    EXPECT_EQ(count_backend([&] { step.forward(); }), (BackendCounts{4 + 1, 0, 0, 0}));
    // Backward, last layer first: Dense 16->5 (weight product, bias sum, input product), Dense
    // 32->16 (GELU's backward with the bias sum fused, weight and input products), Dropout (the
    // mask), Dense 20->32 with its ReLU (the ReLU's backward with the bias sum, the weight
    // product; no input gradient for the first layer).
    EXPECT_EQ(count_backend([&] { step.backward(); }), (BackendCounts{3 + 3 + 1 + 2, 0, 0, 0}));
    // The update: the norm's clipping and Adam's step over the flat arena, one op each.
    EXPECT_EQ(count_backend([&] { step.update(); }), (BackendCounts{1 + 1, 0, 0, 0}));
  }
}

// A small CNN: Conv2d (bias) -> BatchNorm2d -> ReLU -> MaxPool2d -> Flatten -> Dense, with
// cross-entropy and SGD with momentum.
TEST(StepChecker, APlannedCnnStepRequestsNothingButItsOps) {
  for (const Device device : devices()) {
    SCOPED_TRACE(device.str());
    axon::Generator generator(3);
    nn::Sequential model;
    model.add(nn::Conv2d(2, 4, 3, nn::ConvOptions{.padding = {1, 1}}))
        .add(nn::BatchNorm2d(4))
        .add(nn::ReLU())
        .add(nn::MaxPool2d(2))
        .add(nn::Flatten())
        .add(nn::Dense(4 * 4 * 4, 3, nn::DenseOptions{.generator = &generator}));
    model.to(device);
    model.train();
    optim::SGD sgd(model.parameters(), optim::SgdOptions{.lr = 0.01, .momentum = 0.9});
    nn::Loss loss = nn::CrossEntropyLoss();
    const Tensor x = axon_test::tensor_from({8, 2, 8, 8}, axon_test::random_doubles(8 * 2 * 64, -1, 1, 4)).to(device);
    const Tensor labels = axon_test::int_tensor_from({8}, axon_test::random_labels(8, 3, 5)).to(device);
    const auto forward = [&] { loss.compute(model.forward(x), labels); };
    const auto backward = [&] { model.backward(loss.grad()); };
    for (int k = 0; k < 2; ++k) forward(), backward(), sgd.step();
    // Forward: convolution, BatchNorm (batch and running statistics in one op, then
    // num_batches_tracked written), ReLU, max pooling, Flatten (a copy: layers own their outputs),
    // Dense; then the loss.
    EXPECT_EQ(count_backend(forward), (BackendCounts{1 + 2 + 1 + 1 + 1 + 1 + 1, 0, 0, 0}));
    // Backward: Dense (weight product, bias sum, input product), Flatten's copy back, pooling,
    // ReLU, BatchNorm (input, weight and bias gradients in one op), the convolution's weight and
    // bias gradients in one (the first layer: no input gradient).
    EXPECT_EQ(count_backend(backward), (BackendCounts{3 + 1 + 1 + 1 + 1 + 1, 0, 0, 0}));
    EXPECT_EQ(count_backend([&] { sgd.step(); }), (BackendCounts{1, 0, 0, 0}));
  }
}

// Counts each step of fit from one batch's end to the next.
class CountEachStep final : public train::Callback {
 public:
  void on_batch_end(train::Trainer&, std::int64_t) override {
    const BackendCounts now = axon_test::backend_counts_now();
    if (seen_) steps.push_back(axon_test::difference(now, last_));
    last_ = now;
    seen_ = true;
  }
  void on_epoch_end(train::Trainer&, const train::EpochMetrics&) override { seen_ = false; }  // (the epoch's end reads)
  std::vector<BackendCounts> steps;

 private:
  BackendCounts last_;
  bool seen_ = false;
};

TEST(StepChecker, FitsStepsInAnEpochRequestNothingButTheirOps) {
  const std::int64_t n = 160;
  const auto noise = axon_test::random_doubles(static_cast<std::size_t>(n * 20), -1, 1, 3);
  const auto labels = axon_test::random_labels(static_cast<std::size_t>(n), 5, 4);
  const data::Dataset set(axon_test::tensor_from({n, 20}, noise), Tensor::from_vector({n}, std::span<const std::int32_t>(labels)));
  for (const Device device : devices()) {
    SCOPED_TRACE(device.str());
    Step step(device);
    train::Trainer trainer(step.model, *step.adam, nn::CrossEntropyLoss());
    trainer.set_device(device);
    CountEachStep counter;
    trainer.fit(set, nullptr, {.epochs = 2, .batch_size = 32, .seed = 5, .clip_grad_norm = 5.0f, .display = train::Display::kQuiet},
                {&counter});
    ASSERT_EQ(counter.steps.size(), 2u * (n / 32 - 1));
    // Each step: the batch gathered (features, labels), forward and backward as above, the
    // clipping and Adam, and the loss added to the epoch's sum on the device. The CPU reads each
    // step's loss for the NaN guard (a copy there); CUDA reads it when the epoch ends.
    const BackendCounts want{2 + 5 + 9 + 2 + 1, 0, device.is_cpu() ? 1 : 0, 0};
    for (std::size_t k = 0; k < counter.steps.size(); ++k) {
      EXPECT_EQ(counter.steps[k], want) << "step " << k;
    }
  }
}

}  // namespace
