// The CPU thread pool: one process-wide size, seen by every thread, shared with OpenBLAS.
#include <thread>

#include "test_util.h"

namespace {

TEST(CpuThreading, PoolSizeIsProcessWide) {
  const int saved = axon::num_threads();
  axon::set_num_threads(1);
  int seen_by_other_thread = -1;
  std::thread([&] { seen_by_other_thread = axon::num_threads(); }).join();
  EXPECT_EQ(seen_by_other_thread, 1);
  axon::set_num_threads(3);
  std::thread([&] { seen_by_other_thread = axon::num_threads(); }).join();
  EXPECT_EQ(seen_by_other_thread, 3);
  axon::set_num_threads(saved);
  EXPECT_EQ(axon::num_threads(), saved);
}

TEST(CpuThreading, OpsFromAnotherThreadGiveTheSameResults) {
  const axon::Tensor a = axon::Tensor::uniform({300, 200}, -1, 1);
  const axon::Tensor b = axon::Tensor::uniform({200, 100}, -1, 1);
  const std::vector<float> here = axon::matmul(a, b).to_vector();
  std::vector<float> there;
  std::thread([&] { there = axon::matmul(a, b).to_vector(); }).join();
  EXPECT_EQ(here, there);
}

TEST(CpuThreading, InfoNamesThePoolAndTheBlas) {
  const std::string info = axon::threading_info();
  EXPECT_NE(info.find("threads="), std::string::npos) << info;
  EXPECT_NE(info.find("openblas="), std::string::npos) << info;
}

}  // namespace
