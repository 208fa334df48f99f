// A model's training step: allocation-free once planned (heap on the CPU, device memory on
// CUDA), and a CPU -> CUDA -> CPU move that keeps every value (parameters, gradients, optimizer
// state) bit for bit.
#include <memory>

#include "alloc_counter.h"
#include "axon/memory.h"
#include "step_models.h"
#include "test_util.h"

namespace {

using axon::Device;
using axon::Tensor;
namespace nn = axon::nn;
namespace optim = axon::optim;

nn::Sequential make_model(axon::Generator& generator, Device device = Device::cpu()) {
  return axon_test::step_mlp(generator, device);
}

std::vector<std::unique_ptr<optim::Optimizer>> every_optimizer(nn::ParamArena& arena) {
  std::vector<std::unique_ptr<optim::Optimizer>> list;
  list.push_back(std::make_unique<optim::SGD>(arena, optim::SgdOptions{.lr = 0.01, .momentum = 0.9, .nesterov = true}));
  list.push_back(std::make_unique<optim::Adagrad>(arena));
  list.push_back(std::make_unique<optim::RMSprop>(arena, optim::RmspropOptions{.momentum = 0.5, .centered = true}));
  list.push_back(std::make_unique<optim::Adam>(arena, optim::AdamOptions{.amsgrad = true}));
  list.push_back(std::make_unique<optim::AdamW>(arena));
  return list;
}

struct Batch {
  Tensor x, labels;
};

Batch make_batch(std::int64_t rows, Device device, std::uint32_t seed) {
  return {axon_test::tensor_from({rows, 20}, axon_test::random_doubles(static_cast<std::size_t>(rows * 20), -1, 1, seed))
              .to(device),
          axon_test::int_tensor_from({rows}, axon_test::random_labels(static_cast<std::size_t>(rows), 5, seed)).to(device)};
}

void train_step(nn::Sequential& model, nn::Loss& loss, optim::Optimizer& optimizer, const Batch& batch,
                const Tensor& norm) {
  loss.compute(model.forward(batch.x), batch.labels);
  model.backward(loss.grad());
  axon::clip_grad_norm_out(model.parameters().grads(), 5.0f, norm);
  optimizer.step();
}

TEST(ModelStep, ASteadyCpuStepAllocatesNothing) {
  for (const axon::CpuGemm engine : {axon::CpuGemm::kOneDnn, axon::CpuGemm::kOpenBlas}) {
    const axon_test::CpuGemmScope scope(engine);
    for (int which = 0; which < 5; ++which) {
      axon::Generator generator(10);
      nn::Sequential model = make_model(generator);
      model.set_generator(&generator);
      auto optimizers = every_optimizer(model.parameters());
      optim::Optimizer& optimizer = *optimizers[static_cast<std::size_t>(which)];
      SCOPED_TRACE(optimizer.name() + " on " + axon::cpu_gemm_name(engine));
      nn::Loss loss = nn::CrossEntropyLoss();
      const Batch full = make_batch(64, Device::cpu(), 1), partial = make_batch(23, Device::cpu(), 2);
      const Tensor norm = Tensor::empty({1});
      // Plan: the first steps of each batch size size every buffer and the optimizer's state.
      train_step(model, loss, optimizer, full, norm);
      train_step(model, loss, optimizer, partial, norm);
      const axon_test::Allocations counted = axon_test::count_allocations([&] {
        for (int step = 0; step < 3; ++step) {
          train_step(model, loss, optimizer, full, norm);
          train_step(model, loss, optimizer, partial, norm);  // the last batch of an epoch
        }
      });
      EXPECT_EQ(counted.own, 0);
      // Per step 3 forward products, 3 weight gradients, 2 input gradients: one oneDNN
      // execution each, allocating its argument map and nothing more (alloc_counter.h).
      EXPECT_EQ(counted.executions, engine == axon::CpuGemm::kOneDnn ? 6 * 8 : 0);
      EXPECT_LE(counted.engine, counted.executions * axon_test::kEngineAllocationsPerExecution);
    }
  }
}

bool skip_without_gpu() {
  if (axon_test::have_cuda()) return false;
  if (axon_test::cuda_required()) ADD_FAILURE() << "AXON_REQUIRE_CUDA=1 but no CUDA device";
  return true;
}

TEST(ModelStep, ASteadyCudaStepAllocatesNoDeviceMemory) {
  if (skip_without_gpu()) GTEST_SKIP() << "no CUDA device";
  const Device cuda = Device::cuda(0);
  axon::Generator generator(10);
  nn::Sequential model = make_model(generator, cuda);
  model.set_generator(&generator);
  optim::Adam adam(model.parameters());
  nn::Loss loss = nn::CrossEntropyLoss();
  const Batch full = make_batch(64, cuda, 1), partial = make_batch(23, cuda, 2);
  const Tensor norm = Tensor::empty({1}, cuda);
  train_step(model, loss, adam, full, norm);
  train_step(model, loss, adam, partial, norm);
  axon::synchronize(cuda);
  const axon::MemoryStats before = axon::memory_stats(cuda);
  for (int step = 0; step < 5; ++step) {
    train_step(model, loss, adam, full, norm);
    train_step(model, loss, adam, partial, norm);
  }
  axon::synchronize(cuda);
  const axon::MemoryStats after = axon::memory_stats(cuda);
  EXPECT_EQ(after.live_bytes, before.live_bytes);
  EXPECT_EQ(after.cached_bytes, before.cached_bytes);  // no new block taken from the device
}

// Every flat tensor of the arena (values, gradients, each optimizer slot), as host values.
std::vector<std::vector<float>> snapshot(nn::ParamArena& arena) {
  std::vector<std::vector<float>> all{arena.values().to_vector(), arena.grads().to_vector()};
  for (const auto& [name, slot] : arena.slots()) all.push_back(slot.to_vector());
  return all;
}

TEST(ModelStep, CpuToCudaToCpuKeepsEveryValueBitForBit) {
  if (skip_without_gpu()) GTEST_SKIP() << "no CUDA device";
  axon::Generator generator(3);
  nn::Sequential model = make_model(generator);
  model.set_generator(&generator);
  optim::Adam adam(model.parameters(), {.amsgrad = true});
  nn::Loss loss = nn::CrossEntropyLoss();
  const Tensor norm = Tensor::empty({1});
  for (std::uint32_t step = 0; step < 3; ++step) train_step(model, loss, adam, make_batch(16, Device::cpu(), step), norm);
  const auto before = snapshot(model.parameters());
  model.to(Device::cuda(0));
  EXPECT_EQ(model.device(), Device::cuda(0));
  for (const nn::NamedParameter& p : model.parameters().parameters()) {
    EXPECT_EQ(p.parameter->value.device(), Device::cuda(0)) << p.name;
  }
  model.to(Device::cpu());
  EXPECT_EQ(snapshot(model.parameters()), before);
  // Training goes on after the moves, with the parameters the layers see.
  train_step(model, loss, adam, make_batch(16, Device::cpu(), 9), norm);
  EXPECT_EQ(adam.steps(), 4);
}

TEST(ModelStep, TheSameSeedGivesTheSameWeightsOnEveryBackend) {
  if (skip_without_gpu()) GTEST_SKIP() << "no CUDA device";
  for (const nn::Initializer& init : {nn::init::linear_default(), nn::init::glorot_uniform(), nn::init::he_normal()}) {
    SCOPED_TRACE(nn::initializer_name(init));
    axon::Generator on_cpu(42), on_gpu(42);
    const nn::Dense a(30, 20, nn::DenseOptions{.weight_init = init, .generator = &on_cpu});
    const nn::Dense b(30, 20, nn::DenseOptions{.weight_init = init, .device = Device::cuda(0), .generator = &on_gpu});
    // Uniform draws are bit-identical; normal ones may differ in the last bit (see philox.h).
    EXPECT_TRUE(axon_test::near_ref(b.weight().value.to(Device::cpu()), axon_test::values_of(a.weight().value), 1e-6, 0));
    EXPECT_EQ(b.bias().value.to_vector(), a.bias().value.to_vector());
  }
}

TEST(ModelStep, AMoveToTheSameDeviceChangesNothing) {
  axon::Generator generator(3);
  nn::Sequential model = make_model(generator);
  optim::SGD sgd(model.parameters(), {.lr = 0.1, .momentum = 0.9});
  const auto before = snapshot(model.parameters());
  const Tensor values = model.parameters().values();
  model.to(Device::cpu());
  EXPECT_TRUE(model.parameters().values().same_memory(values));
  EXPECT_EQ(snapshot(model.parameters()), before);
}

TEST(ModelStep, AnInputOnAnotherDeviceIsRefused) {
  axon::Generator generator(3);
  nn::Sequential model = make_model(generator);
  if (!axon_test::have_cuda()) {
    axon_test::expect_error<axon::DeviceError>([&] { model.to(Device::cuda(0)); }, {"cuda:0"});
    return;
  }
  model.to(Device::cuda(0));
  axon_test::expect_error<axon::DeviceError>([&] { (void)model.forward(Tensor::zeros({2, 20})); },
                                             {"Sequential::forward", "cpu", "cuda:0"});
}

}  // namespace
