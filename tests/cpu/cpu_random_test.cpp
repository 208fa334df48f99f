// CPU random fills (Philox-4x32-10) and the thread pool settings.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "test_util.h"

namespace {

using axon::Generator;
using axon::Shape;
using axon::Tensor;
using axon_test::expect_error;

// Restores the thread count a test changed.
class ThreadCountGuard {
 public:
  ThreadCountGuard() : saved_(axon::num_threads()) {}
  ~ThreadCountGuard() { axon::set_num_threads(saved_); }

 private:
  int saved_;
};

std::vector<std::uint32_t> bits_of(const std::vector<float>& v) {
  std::vector<std::uint32_t> out(v.size());
  std::memcpy(out.data(), v.data(), v.size() * sizeof(float));
  return out;
}

// ---- the generator --------------------------------------------------------------------------

TEST(Generator, TakeReservesWholeBlocks) {
  Generator g(5);
  EXPECT_EQ(g.seed(), 5u);
  EXPECT_EQ(g.offset(), 0u);
  const axon::PhiloxSlice a = g.take(10);  // 10 numbers: 3 blocks of 4
  EXPECT_EQ(a.seed, 5u);
  EXPECT_EQ(a.offset, 0u);
  EXPECT_EQ(g.offset(), 3u);
  const axon::PhiloxSlice b = g.take(1);
  EXPECT_EQ(b.offset, 3u);
  EXPECT_EQ(g.offset(), 4u);
  const axon::PhiloxSlice c = g.take(8);
  EXPECT_EQ(c.offset, 4u);
  EXPECT_EQ(g.offset(), 6u);
  g.reseed(9);
  EXPECT_EQ(g.seed(), 9u);
  EXPECT_EQ(g.offset(), 0u);
}

TEST(Generator, FillsAdvanceTheOffset) {
  Generator g(11);
  const Tensor t = Tensor::empty({1001});
  axon::fill_uniform(t, 0.0f, 1.0f, g);
  const std::uint64_t after_one = g.offset();
  EXPECT_GE(after_one, 251u);  // at least ceil(1001 / 4) blocks
  const auto first = t.to_vector();
  axon::fill_uniform(t, 0.0f, 1.0f, g);
  EXPECT_GT(g.offset(), after_one);
  const auto second = t.to_vector();
  int same = 0;
  for (std::size_t i = 0; i < first.size(); ++i) same += first[i] == second[i];
  EXPECT_LT(same, 5) << "two successive fills gave the same numbers";

  axon::fill_normal(t, 0.0f, 1.0f, g);
  const auto n1 = t.to_vector();
  axon::fill_normal(t, 0.0f, 1.0f, g);
  const auto n2 = t.to_vector();
  same = 0;
  for (std::size_t i = 0; i < n1.size(); ++i) same += n1[i] == n2[i];
  EXPECT_LT(same, 5) << "two successive normal fills gave the same numbers";
}

TEST(Philox, KnownAnswerForZeroKeyAndCounter) {
  // Philox-4x32-10 with key {0, 0} and counter {0, 0, 0, 0} gives 6627e8d5 e169c58d bc57ac4c
  // 9b00dbd8 (the Random123 known-answer test). A uniform fill in [0, 1) from a fresh generator
  // with seed 0 reads that first block; element i is the top 24 bits of word i over 2^24.
  const std::uint32_t words[4] = {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u};
  Generator g(0);
  const Tensor t = Tensor::empty({4});
  axon::fill_uniform(t, 0.0f, 1.0f, g);
  const auto v = t.to_vector();
  for (int i = 0; i < 4; ++i) {
    const double want = static_cast<double>(words[i] >> 8) / 16777216.0;
    EXPECT_EQ(v[static_cast<std::size_t>(i)], static_cast<float>(want)) << "element " << i;
  }
}

// ---- determinism ----------------------------------------------------------------------------

TEST(Philox, SameSeedSameNumbersForAnyThreadCount) {
  ThreadCountGuard guard;
  const Shape shape{100003};  // large enough to be split between threads
  std::vector<float> uniform[2], normal[2];
  const int threads[2] = {1, 2};
  for (int k = 0; k < 2; ++k) {
    axon::set_num_threads(threads[k]);
    EXPECT_EQ(axon::num_threads(), threads[k]);
    Generator g(2024);
    const Tensor u = Tensor::empty(shape), n = Tensor::empty(shape);
    axon::fill_uniform(u, -1.0f, 3.0f, g);
    axon::fill_normal(n, 0.5f, 2.0f, g);
    uniform[k] = u.to_vector();
    normal[k] = n.to_vector();
  }
  EXPECT_EQ(bits_of(uniform[0]), bits_of(uniform[1]));
  EXPECT_EQ(bits_of(normal[0]), bits_of(normal[1]));
}

TEST(Philox, FactoriesMatchFills) {
  Generator g1(31), g2(31);
  const auto a = Tensor::uniform({1001}, -2.0f, 2.0f, axon::Device::cpu(), g1).to_vector();
  const Tensor b = Tensor::empty({1001});
  axon::fill_uniform(b, -2.0f, 2.0f, g2);
  EXPECT_EQ(bits_of(a), bits_of(b.to_vector()));
}

TEST(Philox, ElementIDependsOnlyOnItsIndex) {
  // A fill of 7 numbers is the first 7 of a fill of 1001 from the same state.
  Generator g1(8), g2(8);
  const Tensor small = Tensor::empty({7}), big = Tensor::empty({1001});
  axon::fill_uniform(small, 0.0f, 1.0f, g1);
  axon::fill_uniform(big, 0.0f, 1.0f, g2);
  const auto s = small.to_vector(), b = big.to_vector();
  EXPECT_EQ(bits_of(s), bits_of(std::vector<float>(b.begin(), b.begin() + 7)));
}

// ---- distributions --------------------------------------------------------------------------

TEST(Philox, UniformWithinRange) {
  const int n = 200000;
  const struct {
    float low, high;
  } ranges[] = {{0.0f, 1.0f}, {-3.0f, 5.0f}, {-1e-3f, 1e-3f}};
  for (const auto& r : ranges) {
    SCOPED_TRACE(std::to_string(r.low) + ", " + std::to_string(r.high));
    Generator g(77);
    const Tensor t = Tensor::empty({n});
    axon::fill_uniform(t, r.low, r.high, g);
    const auto v = t.to_vector();
    double sum = 0, sq = 0;
    float lo = std::numeric_limits<float>::infinity(), hi = -lo;
    for (float x : v) {
      lo = std::min(lo, x);
      hi = std::max(hi, x);
      sum += x;
    }
    const double mean = sum / n;
    for (float x : v) sq += (x - mean) * (x - mean);
    const double sd = std::sqrt(sq / (n - 1));
    EXPECT_GE(lo, r.low);
    EXPECT_LT(hi, r.high);
    const double width = static_cast<double>(r.high) - r.low;
    const double want_sd = width / std::sqrt(12.0);
    EXPECT_NEAR(mean, 0.5 * (static_cast<double>(r.low) + r.high), 4 * want_sd / std::sqrt(n));
    EXPECT_NEAR(sd, want_sd, 4 * 0.45 * want_sd / std::sqrt(n) + 1e-3 * want_sd);
  }
}

TEST(Philox, UniformExcludesHighEvenAfterRounding) {
  // low + u * (high - low) with u < 1 can still round up to high in float when high - low is
  // small next to |low| (the ulp of 1000 is 6e-5). The contract is [low, high): never high.
  const struct {
    float low, high;
  } ranges[] = {{10.0f, 10.5f}, {1000.0f, 1001.0f}};
  for (const auto& r : ranges) {
    SCOPED_TRACE(std::to_string(r.low) + ", " + std::to_string(r.high));
    Generator g(77);
    const Tensor t = Tensor::empty({200000});
    axon::fill_uniform(t, r.low, r.high, g);
    const auto v = t.to_vector();
    int at_high = 0, below_low = 0;
    for (float x : v) {
      at_high += x >= r.high;
      below_low += x < r.low;
    }
    EXPECT_EQ(at_high, 0) << "values equal to high";
    EXPECT_EQ(below_low, 0);
  }
}

TEST(Philox, NormalMeanAndStd) {
  const int n = 200000;
  const float mean = -1.25f, stddev = 3.0f;
  Generator g(123456789);
  const Tensor t = Tensor::empty({n});
  axon::fill_normal(t, mean, stddev, g);
  const auto v = t.to_vector();
  double sum = 0, sq = 0, fourth = 0;
  for (float x : v) {
    ASSERT_TRUE(std::isfinite(x));
    sum += x;
  }
  const double m = sum / n;
  for (float x : v) {
    const double d = x - m;
    sq += d * d;
    fourth += d * d * d * d;
  }
  const double var = sq / (n - 1);
  const double sd = std::sqrt(var);
  // Within 4 standard errors: of the mean sigma/sqrt(n); of the std sigma/sqrt(2n).
  EXPECT_NEAR(m, mean, 4 * stddev / std::sqrt(n));
  EXPECT_NEAR(sd, stddev, 4 * stddev / std::sqrt(2.0 * n));
  // Kurtosis of a normal is 3 (a uniform would give 1.8): se ~ sqrt(24 / n).
  EXPECT_NEAR(fourth / n / (var * var), 3.0, 4 * std::sqrt(24.0 / n));
}

TEST(Philox, NormalIsSymmetricAndUncorrelated) {
  const int n = 200000;
  Generator g(5);
  const Tensor t = Tensor::empty({n});
  axon::fill_normal(t, 0.0f, 1.0f, g);
  const auto v = t.to_vector();
  // Neighbours (the two halves of one Box-Muller pair, and across blocks) are uncorrelated.
  double c1 = 0;
  int positive = 0;
  for (int i = 0; i + 1 < n; ++i) c1 += static_cast<double>(v[i]) * v[i + 1];
  for (float x : v) positive += x > 0;
  EXPECT_NEAR(c1 / (n - 1), 0.0, 4 / std::sqrt(n));
  EXPECT_NEAR(positive / static_cast<double>(n), 0.5, 4 * 0.5 / std::sqrt(n));
}

// ---- threads --------------------------------------------------------------------------------

TEST(Threading, InfoAndSettings) {
  ThreadCountGuard guard;
  EXPECT_FALSE(axon::threading_info().empty());
  EXPECT_GE(axon::num_threads(), 1);
  axon::set_num_threads(1);
  EXPECT_EQ(axon::num_threads(), 1);
  axon::set_num_threads(2);
  EXPECT_EQ(axon::num_threads(), 2);
  expect_error<axon::ValueError>([] { axon::set_num_threads(0); }, {"0"});
  expect_error<axon::ValueError>([] { axon::set_num_threads(-3); }, {"-3"});
  EXPECT_EQ(axon::num_threads(), 2);  // a rejected value changes nothing
}

TEST(Threading, OpsGiveTheSameResultsWithOneOrTwoThreads) {
  ThreadCountGuard guard;
  const auto x = axon_test::random_doubles(100003, -3, 3, 99);
  const Tensor xt = axon_test::tensor_from({100003}, x);
  std::vector<float> results[2];
  for (int k = 0; k < 2; ++k) {
    axon::set_num_threads(k + 1);
    results[k] = axon::activation(axon::Activation::kGelu, xt).to_vector();
  }
  EXPECT_EQ(bits_of(results[0]), bits_of(results[1]));
}

}  // namespace
