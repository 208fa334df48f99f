// A CNN trained in PyTorch (tests/fixtures/make_cnn_fixture.py: convolutions with padding,
// "same" padding and groups, BatchNorm2d with running statistics and int64
// num_batches_tracked, max and average pooling, Linear) loads into the same axon model by its
// state_dict names and predicts what PyTorch predicted, on the CPU and, with a GPU, on CUDA;
// and a steady training step of such a model allocates nothing.
#include "alloc_counter.h"
#include "test_util.h"

namespace {

using axon::Shape;
using axon::Tensor;
namespace nn = axon::nn;

nn::Sequential torch_like_cnn() {
  nn::Sequential model;
  model.add(nn::Conv2d(1, 4, 3, {.padding = {1, 1}})).add(nn::BatchNorm2d(4)).add(nn::ReLU()).add(nn::MaxPool2d(2));
  model.add(nn::Conv2d(4, 6, 3, {.padding_mode = nn::Padding::kSame, .groups = 2, .bias = false}))
      .add(nn::BatchNorm2d(6))
      .add(nn::ReLU())
      .add(nn::AvgPool2d(2, {.ceil_mode = true}))
      .add(nn::Flatten())
      .add(nn::Dense(6 * 4 * 4, 16))
      .add(nn::ReLU())
      .add(nn::Dense(16, 3));
  return model;
}

void predicts_what_torch_predicted(axon::Device device) {
  nn::Sequential model = torch_like_cnn();
  model.to(device);
  nn::load_weights(model, AXON_TEST_FIXTURE_DIR "/torch_cnn.safetensors");
  const axon::io::Safetensors io = axon::io::load_safetensors(AXON_TEST_FIXTURE_DIR "/torch_cnn_io.safetensors");
  EXPECT_EQ(dynamic_cast<const nn::BatchNorm&>(model.layer(1)).num_batches_tracked(), 5);
  const Tensor got = model.predict(io.at("input").to(device));
  EXPECT_TRUE(axon_test::near_ref(got, axon_test::values_of(io.at("output")), 1e-5, 1e-6));
}

TEST(CnnInterop, APyTorchTrainedCnnPredictsWhatPyTorchPredictedOnTheCpu) {
  predicts_what_torch_predicted(axon::Device::cpu());
}

TEST(CnnInterop, APyTorchTrainedCnnPredictsWhatPyTorchPredictedOnCuda) {
  if (!axon_test::have_cuda()) {
    if (axon_test::cuda_required()) FAIL() << "AXON_REQUIRE_CUDA=1 but no CUDA device";
    GTEST_SKIP() << "no CUDA device";
  }
  predicts_what_torch_predicted(axon::Device::cuda(0));
}

TEST(CnnInterop, ASteadyCnnTrainingStepAllocatesNothing) {
  nn::Sequential model = torch_like_cnn();
  axon::optim::Adam adam(model.parameters(), {.lr = 1e-3});
  nn::Loss loss = nn::CrossEntropyLoss();
  const Tensor x = axon_test::tensor_from({8, 1, 14, 14}, axon_test::random_doubles(8 * 196, -1, 1, 5));
  const Tensor labels = Tensor::from_vector({8}, std::span<const std::int32_t>(std::vector<std::int32_t>{0, 1, 2, 0, 1, 2, 0, 1}));
  const auto step = [&] {
    loss.compute(model.forward(x), labels);
    model.backward(loss.grad());
    adam.step();
  };
  step();  // plans, buffers, primitives and optimizer slots made here
  step();
  const axon_test::Allocations counted = axon_test::count_allocations(step);
  EXPECT_EQ(counted.own, 0) << "heap allocations of axon's own in one steady step";
  EXPECT_GT(counted.executions, 0);  // the convolutions ran on oneDNN
  EXPECT_LE(counted.engine, counted.executions * axon_test::kEngineAllocationsPerExecution);
}

}  // namespace
