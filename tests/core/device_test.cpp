// Device: parsing, names, which devices exist, and the error for a device that does not.
#include <algorithm>
#include <string>

#include "test_util.h"

namespace {

using axon::Device;
using axon::DeviceType;
using axon::Tensor;
using axon_test::expect_error;

TEST(Device, Parse) {
  EXPECT_EQ(Device::parse("cpu"), Device::cpu());
  EXPECT_EQ(Device::parse("cuda"), Device::cuda(0));
  EXPECT_EQ(Device::parse("cuda:0"), Device::cuda(0));
  EXPECT_EQ(Device::parse("cuda:1"), Device::cuda(1));
  EXPECT_EQ(Device::parse("cuda:12"), Device::cuda(12));
}

TEST(Device, ParseErrors) {
  expect_error<axon::ValueError>([] { (void)Device::parse("gpu"); }, {"gpu"});
  expect_error<axon::ValueError>([] { (void)Device::parse("cuda:x"); }, {"cuda:x"});
  expect_error<axon::ValueError>([] { (void)Device::parse("cuda:-1"); }, {"cuda:-1"});
  expect_error<axon::ValueError>([] { (void)Device::parse(""); });
  expect_error<axon::ValueError>([] { (void)Device::parse("cuda:"); });
  expect_error<axon::ValueError>([] { (void)Device::parse("cpu:0x"); });
  expect_error<axon::ValueError>([] { (void)Device::parse("cuda:1x"); });
}

TEST(Device, Str) {
  EXPECT_EQ(Device::cpu().str(), "cpu");
  EXPECT_EQ(Device::cuda().str(), "cuda:0");
  EXPECT_EQ(Device::cuda(3).str(), "cuda:3");
  EXPECT_EQ(Device::parse(Device::cuda(2).str()), Device::cuda(2));
}

TEST(Device, Predicates) {
  EXPECT_TRUE(Device::cpu().is_cpu());
  EXPECT_FALSE(Device::cpu().is_cuda());
  EXPECT_TRUE(Device::cuda(1).is_cuda());
  EXPECT_FALSE(Device::cuda(1) == Device::cuda(0));
  EXPECT_FALSE(Device::cuda(0) == Device::cpu());
}

TEST(Device, CpuAlwaysPresent) {
  EXPECT_EQ(axon::device_count(DeviceType::kCpu), 1);
  EXPECT_TRUE(axon::is_available(Device::cpu()));
  const auto devices = axon::available_devices();
  EXPECT_NE(std::find(devices.begin(), devices.end(), Device::cpu()), devices.end());
  EXPECT_EQ(static_cast<int>(devices.size()),
            1 + axon::device_count(DeviceType::kCuda));
  const axon::DeviceInfo info = axon::device_info(Device::cpu());
  EXPECT_EQ(info.device, Device::cpu());
  EXPECT_FALSE(info.name.empty());
}

TEST(Device, CudaCountConsistentWithBuild) {
  const int n = axon::device_count(DeviceType::kCuda);
  EXPECT_GE(n, 0);
  if (!axon::cuda_compiled()) {
    EXPECT_EQ(n, 0);
  }
  for (int i = 0; i < n; ++i) EXPECT_TRUE(axon::is_available(Device::cuda(i)));
  EXPECT_FALSE(axon::is_available(Device::cuda(n)));
}

TEST(Device, BestDeviceIsValid) {
  const Device best = axon::best_device();
  EXPECT_TRUE(axon::is_available(best));
  if (axon::device_count(DeviceType::kCuda) > 0) {
    EXPECT_EQ(best, Device::cuda(0));
  } else {
    EXPECT_EQ(best, Device::cpu());
  }
  // A tensor can be made there.
  const Tensor t = Tensor::zeros({2, 3}, best);
  EXPECT_EQ(t.device(), best);
}

// One sentence: no line breaks, and it names the device.
void expect_one_sentence_naming(const std::string& message, const std::string& device) {
  EXPECT_NE(message.find(device), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_FALSE(message.empty());
}

TEST(Device, MissingCudaDeviceThrowsDeviceError) {
  if (axon_test::have_cuda()) GTEST_SKIP() << "a CUDA device is present";
  EXPECT_FALSE(axon::is_available(Device::cuda(0)));
  expect_error<axon::DeviceError>([] { (void)Tensor::zeros({2, 3}, Device::cuda(0)); },
                                  {"cuda:0"});
  try {
    (void)Tensor::zeros({2, 3}, Device::cuda(0));
  } catch (const axon::DeviceError& e) {
    expect_one_sentence_naming(e.what(), "cuda:0");
  }
  expect_error<axon::DeviceError>([] { (void)axon::device_info(Device::cuda(0)); }, {"cuda:0"});
  expect_error<axon::DeviceError>([] { (void)axon::backend_for(Device::cuda(0)); }, {"cuda:0"});
  // Copying a CPU tensor there fails the same way.
  const Tensor t = Tensor::ones({4});
  expect_error<axon::DeviceError>([&] { (void)t.to(Device::cuda(0)); }, {"cuda:0"});
}

TEST(Device, OutOfRangeCudaIndexThrowsDeviceError) {
  const int n = axon::device_count(DeviceType::kCuda);
  const Device missing = Device::cuda(n + 3);
  expect_error<axon::DeviceError>([&] { (void)Tensor::zeros({2}, missing); }, {missing.str()});
  expect_error<axon::DeviceError>([&] { (void)axon::device_info(missing); }, {missing.str()});
}

TEST(Device, BackendForCpu) {
  const auto backend = axon::backend_for(Device::cpu());
  ASSERT_NE(backend, nullptr);
  EXPECT_EQ(backend->device(), Device::cpu());
  EXPECT_EQ(axon::backend_for(Device::cpu()), backend);  // one backend per device
}

TEST(Device, SynchronizeCpuIsANoOp) { EXPECT_NO_THROW(axon::synchronize(Device::cpu())); }

}  // namespace
