// The CPU thread pool: one process-wide size, seen by every thread, shared with OpenBLAS.
#include <atomic>
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

// A thread that changes the pool size while another runs GEMMs: OpenBLAS hung or returned wrong
// products before set_num_threads waited for running GEMMs (issue 7). Every product must be
// right; a hang fails by the test's timeout.
TEST(CpuThreading, PoolSizeChangesDuringGemmsNeverGiveWrongProducts) {
  const int saved = axon::num_threads();
  const std::int64_t m = 256, k = 160, n = 192;
  const auto a_values = axon_test::random_doubles(static_cast<std::size_t>(m * k), -1, 1, 11);
  const auto b_values = axon_test::random_doubles(static_cast<std::size_t>(k * n), -1, 1, 12);
  std::vector<double> want(static_cast<std::size_t>(m * n), 0.0);
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t p = 0; p < k; ++p) {
      const double a = a_values[static_cast<std::size_t>(i * k + p)];
      for (std::int64_t j = 0; j < n; ++j) want[static_cast<std::size_t>(i * n + j)] += a * b_values[static_cast<std::size_t>(p * n + j)];
    }
  }
  const axon::Tensor a = axon_test::tensor_from({m, k}, a_values);
  const axon::Tensor b = axon_test::tensor_from({k, n}, b_values);

  std::atomic<bool> stop{false};
  std::atomic<int> changes{0};
  std::thread changer([&] {
    for (int i = 0; !stop.load(); ++i) {
      axon::set_num_threads(1 + i % 3);
      changes.fetch_add(1);
    }
  });
  // Two threads of GEMMs: their shared locks overlap, and a size change must still get through.
  std::atomic<int> wrong{0};
  const auto products = [&] {
    for (int run = 0; run < 100; ++run) {
      const axon::Tensor c = axon::matmul(a, b);
      if (!axon_test::near_ref(c, want, 1e-4, 1e-4)) wrong.fetch_add(1);
    }
  };
  std::thread second(products);
  products();
  second.join();
  stop.store(true);
  changer.join();
  axon::set_num_threads(saved);
  EXPECT_EQ(wrong.load(), 0) << "of 200 products while the pool size changed " << changes.load() << " times";
  EXPECT_GT(changes.load(), 0);
}

// Threads that multiply the same shapes at once each get a primitive of their own (a oneDNN
// plan serves one call at a time): every product is the one a single thread computes.
TEST(CpuThreading, ConcurrentProductsOfOneShapeAreAllRight) {
  const axon::Tensor a = axon::Tensor::uniform({96, 80}, -1, 1);
  const axon::Tensor b = axon::Tensor::uniform({80, 72}, -1, 1);
  const std::vector<float> want = axon::matmul(a, b).to_vector();
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int run = 0; run < 50; ++run) {
        if (axon::matmul(a, b).to_vector() != want) wrong.fetch_add(1);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0) << "of 200 products from 4 threads";
}

TEST(CpuThreading, InfoNamesThePoolTheGemmLibraryAndTheBlas) {
  const std::string info = axon::threading_info();
  EXPECT_NE(info.find("threads="), std::string::npos) << info;
  EXPECT_NE(info.find(std::string("gemm=") + axon::cpu_gemm_name(axon::cpu_gemm())), std::string::npos) << info;
  EXPECT_NE(info.find("oneDNN "), std::string::npos) << info;
  EXPECT_NE(info.find("ISA "), std::string::npos) << info;
  EXPECT_NE(info.find("openblas="), std::string::npos) << info;
}

}  // namespace
