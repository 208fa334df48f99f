// The CUDA device and backend: the error without a GPU, and with one: device info, memory
// statistics and the caching allocator, copies (chunked, overlapping), the deferred label error
// of softmax cross-entropy, determinism, out-of-memory, TF32.
//
// Without a GPU the GPU tests skip, unless AXON_REQUIRE_CUDA=1, which makes them fail.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include <atomic>
#include <thread>

#include "axon/memory.h"
#include "axon/precision.h"
#include "core/src/testing_hooks.h"
#include "test_util.h"

namespace {

using axon::Device;
using axon::DeviceType;
using axon::LossKind;
using axon::Shape;
using axon::Tensor;
using axon_test::expect_error;

using axon_test::cuda_required;

bool have_gpu() { return axon_test::have_cuda(); }

TEST(CudaWithoutGpu, TensorOnCudaThrowsOneClearSentence) {
  if (have_gpu()) GTEST_SKIP() << "a GPU is present";
  if (cuda_required()) FAIL() << "AXON_REQUIRE_CUDA=1 but no CUDA device is available";
  try {
    (void)Tensor::zeros({2}, Device::cuda());
    FAIL() << "Tensor::zeros on cuda:0 without a GPU did not throw";
  } catch (const axon::DeviceError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("cuda:0"), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_FALSE(message.empty());
  }
  EXPECT_EQ(axon::best_device(), Device::cpu());
  expect_error<axon::DeviceError>([] { (void)axon::device_info(Device::cuda()); }, {"cuda:0"});
  expect_error<axon::DeviceError>([] { (void)axon::memory_stats(Device::cuda()); }, {"cuda:0"});
}

class CudaDevice : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_gpu()) {
      if (cuda_required()) {
        FAIL() << "AXON_REQUIRE_CUDA=1 but no CUDA device is available (CUDA backend compiled: "
               << (axon::cuda_compiled() ? "yes" : "no") << ")";
      }
      GTEST_SKIP() << "no CUDA device (set AXON_REQUIRE_CUDA=1 to make this a failure)";
    }
    axon::set_allow_tf32(false);
  }
  const Device cuda_ = Device::cuda(0);
};

TEST_F(CudaDevice, DeviceInfo) {
  const axon::DeviceInfo info = axon::device_info(cuda_);
  EXPECT_EQ(info.device, cuda_);
  EXPECT_FALSE(info.name.empty());
  EXPECT_GE(info.compute_major, 5);
  EXPECT_GT(info.total_memory, 0u);
  EXPECT_EQ(axon::best_device(), cuda_);
  expect_error<axon::DeviceError>(
      [] { (void)Tensor::zeros({2}, Device::cuda(axon::device_count(DeviceType::kCuda))); });
}

TEST_F(CudaDevice, MemoryStatsMoveAndTheCacheIsReused) {
  axon::synchronize(cuda_);
  const axon::MemoryStats before = axon::memory_stats(cuda_);
  constexpr std::size_t kBytes = std::size_t{4} << 20;  // 4 MiB: a large size class
  {
    Tensor t = Tensor::empty({static_cast<std::int64_t>(kBytes / 4)}, cuda_);
    const axon::MemoryStats live = axon::memory_stats(cuda_);
    EXPECT_GE(live.live_bytes, before.live_bytes + kBytes);
    EXPECT_GE(live.peak_bytes, live.live_bytes);
  }
  const axon::MemoryStats after = axon::memory_stats(cuda_);
  EXPECT_EQ(after.live_bytes, before.live_bytes);
  EXPECT_GE(after.cached_bytes, kBytes);

  // Steady state: the same sizes over and over take blocks from the cache, not the driver.
  const auto step = [&] {
    Tensor a = Tensor::ones({1000, 100}, cuda_);
    Tensor b = axon::add(a, a);
    (void)axon::sum(b);  // scratch for the partial sums, too
  };
  for (int i = 0; i < 3; ++i) step();
  axon::synchronize(cuda_);
  const axon::MemoryStats warm = axon::memory_stats(cuda_);
  for (int i = 0; i < 50; ++i) step();
  axon::synchronize(cuda_);
  const axon::MemoryStats steady = axon::memory_stats(cuda_);
  EXPECT_EQ(steady.peak_bytes, warm.peak_bytes);
  EXPECT_EQ(steady.cached_bytes, warm.cached_bytes);
  EXPECT_EQ(steady.live_bytes, warm.live_bytes);

  axon::release_cached_memory(cuda_);
  EXPECT_EQ(axon::memory_stats(cuda_).cached_bytes, 0u);
  EXPECT_EQ(axon::memory_stats(cuda_).live_bytes, before.live_bytes);
}

TEST_F(CudaDevice, RoundTripsSmallAndChunked) {
  for (const std::int64_t n : {std::int64_t{1}, std::int64_t{1000}, std::int64_t{11'000'000}}) {  // 44 MB > one staging chunk
    const auto values = axon_test::random_floats(static_cast<std::size_t>(n), -5.0f, 5.0f, 7);
    const Tensor host = Tensor::from_vector({n}, std::span<const float>(values));
    const Tensor device = host.to(cuda_);
    EXPECT_EQ(device.to_vector(), values) << "n = " << n;
    const Tensor copy = device.clone();  // copy_on_device
    EXPECT_EQ(copy.to(Device::cpu()).to_vector(), values) << "n = " << n;
  }
  const std::vector<std::int32_t> labels{3, -1, 7, 0};
  EXPECT_EQ(Tensor::from_vector({4}, std::span<const std::int32_t>(labels), cuda_).to_int_vector(), labels);
}

TEST_F(CudaDevice, OverlappingCopyOnDeviceIsAMove) {
  const auto values = axon_test::random_floats(101, -1.0f, 1.0f, 9);
  const Tensor host = Tensor::from_vector({101}, std::span<const float>(values));
  const Tensor device = host.to(cuda_);
  host.rows(1, 101).copy_from(host.rows(0, 100));    // CPU: memmove
  device.rows(1, 101).copy_from(device.rows(0, 100));  // CUDA: through scratch
  EXPECT_EQ(device.to_vector(), host.to_vector());
}

TEST_F(CudaDevice, BadLabelIsReportedWhenTheDeviceSynchronizes) {
  const std::vector<float> logits(4 * 3, 0.5f);
  const std::vector<std::int32_t> labels{0, 5, 1, -1};
  const Tensor pred = Tensor::from_vector({4, 3}, std::span<const float>(logits), cuda_);
  const Tensor target = Tensor::from_vector({4}, std::span<const std::int32_t>(labels), cuda_);
  (void)axon::loss(LossKind::kSoftmaxCrossEntropy, pred, target);  // queued: no error yet
  expect_error<axon::ValueError>([&] { axon::synchronize(cuda_); }, {"label 5", "row 1", "[0, 3)"});
  EXPECT_NO_THROW(axon::synchronize(cuda_));  // reported once

  // Reading the value synchronizes too.
  expect_error<axon::ValueError>(
      [&] { (void)axon::loss_value(LossKind::kSoftmaxCrossEntropy, pred, target).item(); }, {"row 1"});
  EXPECT_NO_THROW(axon::synchronize(cuda_));

  // Good labels afterwards work.
  const std::vector<std::int32_t> good{0, 2, 1, 0};
  const Tensor good_target = Tensor::from_vector({4}, std::span<const std::int32_t>(good), cuda_);
  const float value = axon::loss_value(LossKind::kSoftmaxCrossEntropy, pred, good_target).item();
  EXPECT_NEAR(value, std::log(3.0), 1e-6);
}

// A failed CUDA runtime call leaves its status in the runtime's last-error slot; the next launch
// check used to read it and throw, blaming an innocent kernel (issue 7).
TEST_F(CudaDevice, AFailedRuntimeCallIsNotBlamedOnTheNextKernel) {
  const Tensor x = Tensor::uniform({64, 33}, -1, 1, cuda_);
  ASSERT_TRUE(axon::testing::cuda_fail_one_runtime_call(0));
  Tensor y;
  EXPECT_NO_THROW(y = axon::relu(x));
  EXPECT_NO_THROW(axon::synchronize(cuda_));
  EXPECT_EQ(y.to_vector(), axon::relu(x.to(Device::cpu())).to_vector());
}

// The bad-label flag was armed before its kernel was queued: a synchronize() from another thread
// in between read "no error", disarmed it, and the bad label was never reported (issue 7). Every
// loss with a bad label must be reported exactly once, to one thread or the other.
TEST_F(CudaDevice, BadLabelsAreReportedWhileAnotherThreadSynchronizes) {
  const Tensor pred = Tensor::uniform({256, 10}, -1, 1, cuda_);
  std::vector<std::int32_t> labels(256, 3);
  labels[200] = 10;
  const Tensor target = Tensor::from_vector({256}, std::span<const std::int32_t>(labels), cuda_);
  const Tensor value = Tensor::empty({1}, cuda_);
  const Tensor grad = Tensor::empty({256, 10}, cuda_);
  std::atomic<bool> stop{false};
  std::atomic<int> reported_there{0};
  std::thread synchronizer([&] {
    while (!stop.load()) {
      try {
        axon::synchronize(cuda_);
      } catch (const axon::ValueError&) {
        reported_there.fetch_add(1);
      }
    }
  });
  constexpr int kLosses = 300;
  int reported_here = 0;
  for (int i = 0; i < kLosses; ++i) {
    axon::loss_out(LossKind::kSoftmaxCrossEntropy, pred, target, value, grad);
    try {
      axon::synchronize(cuda_);
    } catch (const axon::ValueError&) {
      ++reported_here;
    }
  }
  stop.store(true);
  synchronizer.join();
  EXPECT_EQ(reported_here + reported_there.load(), kLosses)
      << reported_here << " reported here, " << reported_there.load() << " by the other thread";
}

// With several GPUs, a thread that never used CUDA reads device 0 as current; the device guard
// restored it after an op on cuda:1 and so opened a context on GPU 0, which the process never
// used (issue 7).
TEST_F(CudaDevice, WorkOnASecondGpuOpensNoContextOnTheFirst) {
  if (axon::device_count(DeviceType::kCuda) < 2) GTEST_SKIP() << "needs two GPUs";
  if (axon::testing::cuda_context_active(0)) GTEST_SKIP() << "GPU 0 already has a context in this process";
  std::thread([] {
    const Tensor x = Tensor::uniform({8, 8}, -1, 1, Device::cuda(1));
    (void)axon::sum(axon::relu(x)).item();
  }).join();
  EXPECT_FALSE(axon::testing::cuda_context_active(0));
  EXPECT_TRUE(axon::testing::cuda_context_active(1));
}

TEST_F(CudaDevice, ReductionsAndLossesAreDeterministic) {
  axon::Generator generator(99);
  const Tensor x = Tensor::uniform({1000, 1003}, -1.0f, 1.0f, cuda_, generator);
  const Tensor t = Tensor::uniform({1000, 1003}, -1.0f, 1.0f, cuda_, generator);
  const float sum1 = axon::sum(x).item();
  const float sum2 = axon::sum(x).item();
  EXPECT_EQ(sum1, sum2);
  const auto loss1 = axon::loss(LossKind::kMse, x, t);
  const auto loss2 = axon::loss(LossKind::kMse, x, t);
  EXPECT_EQ(loss1.value.item(), loss2.value.item());
  EXPECT_EQ(loss1.grad.to_vector(), loss2.grad.to_vector());
  EXPECT_EQ(axon::bias_grad(x).to_vector(), axon::bias_grad(x).to_vector());
  EXPECT_EQ(axon::reduce_rows(axon::ReduceOp::kSum, x).to_vector(),
            axon::reduce_rows(axon::ReduceOp::kSum, x).to_vector());
}

// Max and argmax propagate NaN exactly as the CPU backend does (cpu/cpu_reduce.cpp): a NaN
// anywhere makes max NaN, argmax points at the first NaN. Rows wide enough for several warps, so
// the NaNs meet numbers and each other at every level of the reduction tree.
TEST_F(CudaDevice, MaxAndArgmaxPropagateNaNAsTheCpu) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  constexpr std::int64_t kCols = 1000;
  const std::vector<std::vector<std::int64_t>> nan_columns{{}, {0}, {3, 8}, {999}, {700, 40}, {31, 32, 33}};
  const auto rows = static_cast<std::int64_t>(nan_columns.size());
  std::vector<float> values = axon_test::random_floats(static_cast<std::size_t>(rows * kCols), -1.0f, 1.0f, 21);
  values[5] = 2.0f;  // row 0: a unique max at 5 ...
  values[6] = 2.0f;  // ... tied at 6: the first index wins
  for (std::int64_t r = 0; r < rows; ++r) {
    for (const std::int64_t c : nan_columns[static_cast<std::size_t>(r)]) values[static_cast<std::size_t>(r * kCols + c)] = nan;
  }
  const Tensor host = Tensor::from_vector({rows, kCols}, std::span<const float>(values));
  const Tensor device = host.to(cuda_);
  EXPECT_EQ(axon::argmax_rows(device).to_int_vector(), axon::argmax_rows(host).to_int_vector());
  EXPECT_EQ(axon::argmax_rows(device).to_int_vector()[0], 5);
  const auto want_max = axon::reduce_rows(axon::ReduceOp::kMax, host).to_vector();
  const auto got_max = axon::reduce_rows(axon::ReduceOp::kMax, device).to_vector();
  for (std::int64_t r = 0; r < rows; ++r) {
    const auto i = static_cast<std::size_t>(r);
    EXPECT_EQ(std::isnan(got_max[i]), nan_columns[i].size() > 0) << "row " << r;
    if (!std::isnan(want_max[i])) {
      EXPECT_EQ(got_max[i], want_max[i]) << "row " << r;
    }
  }
  // The whole tensor: NaN, and without NaN the plain max.
  EXPECT_TRUE(std::isnan(axon::max(device).item()));
  std::vector<float> big(100003, 1.0f);
  big[99] = 3.0f;
  EXPECT_EQ(axon::max(Tensor::from_vector({100003}, std::span<const float>(big), cuda_)).item(), 3.0f);
  big[50001] = nan;
  EXPECT_TRUE(std::isnan(axon::max(Tensor::from_vector({100003}, std::span<const float>(big), cuda_)).item()));
}

TEST_F(CudaDevice, OutOfMemoryNamesTheRequest) {
  const std::size_t total = axon::device_info(cuda_).total_memory;
  const auto elements = static_cast<std::int64_t>(total / 2);  // 2x the device's memory in floats
  try {
    (void)Tensor::empty({elements}, cuda_);
    FAIL() << "allocating twice the device's memory did not throw";
  } catch (const axon::OutOfMemory& e) {
    EXPECT_EQ(e.bytes_requested(), static_cast<std::size_t>(elements) * 4);
    EXPECT_LT(e.bytes_free(), e.bytes_requested());
    EXPECT_NE(std::string(e.what()).find("out of memory"), std::string::npos) << e.what();
  }
  // The device still works.
  EXPECT_EQ(Tensor::ones({3}, cuda_).to_vector(), (std::vector<float>{1, 1, 1}));
}

TEST_F(CudaDevice, Tf32GemmIsCloseAndTheSwitchRestores) {
  axon::Generator generator(5);
  const Tensor a = Tensor::uniform({256, 512}, -1.0f, 1.0f, Device::cpu(), generator);
  const Tensor b = Tensor::uniform({512, 128}, -1.0f, 1.0f, Device::cpu(), generator);
  const auto want = axon_test::values_of(axon::matmul(a, b));
  axon::set_allow_tf32(true);
  const Tensor tf32 = axon::matmul(a.to(cuda_), b.to(cuda_));
  axon::set_allow_tf32(false);
  EXPECT_TRUE(axon_test::near_ref(tf32, want, 1e-2, 5e-2));
  const Tensor fp32 = axon::matmul(a.to(cuda_), b.to(cuda_));
  EXPECT_TRUE(axon_test::near_ref(fp32, want, 1e-5, 1e-4));
}

// Small uploads rotate through a ring of pinned buffers: back-to-back uploads from one host
// buffer, refilled right after each call, must each land with the values it had at the call.
TEST_F(CudaDevice, BackToBackSmallUploadsKeepTheirOwnValues) {
  std::vector<float> host(1000);
  std::vector<Tensor> uploaded;
  for (int k = 0; k < 20; ++k) {
    for (std::size_t i = 0; i < host.size(); ++i) host[i] = static_cast<float>(k * 1000 + static_cast<int>(i));
    uploaded.push_back(Tensor::from_vector({1000}, std::span<const float>(host), cuda_));
  }
  for (int k = 0; k < 20; ++k) {
    const std::vector<float> got = uploaded[static_cast<std::size_t>(k)].to_vector();
    EXPECT_EQ(got.front(), static_cast<float>(k * 1000)) << k;
    EXPECT_EQ(got.back(), static_cast<float>(k * 1000 + 999)) << k;
  }
}

// The fused linear caches its cublasLt plan per shape and sets the bias on each call: calls of
// one shape with other weights and biases, and of another batch size, each match the CPU.
TEST_F(CudaDevice, LinearPlansServeEveryBiasAndBatch) {
  for (const std::int64_t batch : {std::int64_t{64}, std::int64_t{64}, std::int64_t{96}, std::int64_t{64}}) {
    for (const std::uint64_t seed : {1u, 2u}) {
      axon::Generator generator(seed * 10 + static_cast<std::uint64_t>(batch));
      const Tensor x = Tensor::uniform({batch, 48}, -1, 1, Device::cpu(), generator);
      const Tensor w = Tensor::uniform({32, 48}, -1, 1, Device::cpu(), generator);
      const Tensor b = Tensor::uniform({32}, -1, 1, Device::cpu(), generator);
      const Tensor want = Tensor::empty({batch, 32});
      axon::linear_out(axon::Activation::kRelu, x, w, b, Tensor(), want);
      const Tensor got = Tensor::empty({batch, 32}, cuda_);
      axon::linear_out(axon::Activation::kRelu, x.to(cuda_), w.to(cuda_), b.to(cuda_), Tensor(), got);
      EXPECT_TRUE(axon_test::near_ref(got, axon_test::values_of(want), 1e-5, 1e-4)) << "batch " << batch << ", seed " << seed;
    }
  }
}

}  // namespace
