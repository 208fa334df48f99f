// Tensor: factories, random factories, views (reshape, rows), copies, element access, str().
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "test_util.h"

namespace {

using axon::Device;
using axon::DType;
using axon::Generator;
using axon::Shape;
using axon::Tensor;
using axon_test::expect_error;
using axon_test::near_ref;
using axon_test::random_doubles;
using axon_test::tensor_from;

struct Stats {
  double mean = 0, stddev = 0, min = 0, max = 0;
};

Stats stats_of(const std::vector<float>& v) {
  Stats s;
  s.min = std::numeric_limits<double>::infinity();
  s.max = -s.min;
  double sum = 0;
  for (float x : v) {
    sum += x;
    s.min = std::min<double>(s.min, x);
    s.max = std::max<double>(s.max, x);
  }
  s.mean = sum / static_cast<double>(v.size());
  double sq = 0;
  for (float x : v) sq += (x - s.mean) * (x - s.mean);
  s.stddev = std::sqrt(sq / static_cast<double>(v.size() - 1));
  return s;
}

// ---- undefined -----------------------------------------------------------------------------

TEST(Tensor, DefaultIsUndefined) {
  const Tensor t;
  EXPECT_FALSE(t.defined());
}

// ---- constant factories --------------------------------------------------------------------

TEST(Tensor, Zeros) {
  const Tensor t = Tensor::zeros({3, 5});
  ASSERT_TRUE(t.defined());
  EXPECT_EQ(t.shape(), (Shape{3, 5}));
  EXPECT_EQ(t.rank(), 2);
  EXPECT_EQ(t.numel(), 15);
  EXPECT_EQ(t.nbytes(), 60u);
  EXPECT_EQ(t.dtype(), DType::kFloat32);
  EXPECT_EQ(t.device(), Device::cpu());
  EXPECT_TRUE(near_ref(t, std::vector<double>(15, 0.0), 0, 0));
}

TEST(Tensor, Ones) {
  const Tensor t = Tensor::ones({7});
  EXPECT_EQ(t.shape(), (Shape{7}));
  EXPECT_TRUE(near_ref(t, std::vector<double>(7, 1.0), 0, 0));
}

TEST(Tensor, Full) {
  const Tensor t = Tensor::full({2, 3, 5}, -2.5f);
  EXPECT_EQ(t.numel(), 30);
  EXPECT_TRUE(near_ref(t, std::vector<double>(30, -2.5), 0, 0));
}

TEST(Tensor, FullLarge) {  // crosses any parallel threshold
  const Tensor t = Tensor::full({100003}, 0.75f);
  EXPECT_TRUE(near_ref(t, std::vector<double>(100003, 0.75), 0, 0));
}

TEST(Tensor, EmptyHasShapeAndDtype) {
  const Tensor t = Tensor::empty({4, 6}, Device::cpu(), DType::kInt32);
  EXPECT_EQ(t.shape(), (Shape{4, 6}));
  EXPECT_EQ(t.dtype(), DType::kInt32);
  EXPECT_EQ(t.nbytes(), 96u);
}

TEST(Tensor, ZerosInt32) {
  const Tensor t = Tensor::zeros({5}, Device::cpu(), DType::kInt32);
  EXPECT_EQ(t.dtype(), DType::kInt32);
  EXPECT_EQ(t.to_int_vector(), std::vector<std::int32_t>(5, 0));
}

TEST(Tensor, NegativeDimensionThrows) {
  expect_error<axon::Error>([] { (void)Tensor::zeros({2, -3}); });
}

// ---- from_vector ----------------------------------------------------------------------------

TEST(Tensor, FromVectorFloatRoundTrips) {
  const auto ref = random_doubles(13 * 7);
  const Tensor t = tensor_from({13, 7}, ref);
  EXPECT_EQ(t.shape(), (Shape{13, 7}));
  EXPECT_EQ(t.dtype(), DType::kFloat32);
  EXPECT_TRUE(near_ref(t, ref, 0, 0));
  // data<float>() is a host pointer on the CPU with the same values, row-major.
  const float* p = t.data<float>();
  for (std::size_t i = 0; i < ref.size(); ++i) ASSERT_EQ(p[i], static_cast<float>(ref[i])) << i;
}

TEST(Tensor, FromVectorInt32RoundTrips) {
  const std::vector<std::int32_t> v{3, -1, 0, 2147483647, -2147483647 - 1, 42};
  const Tensor t = Tensor::from_vector({2, 3}, std::span<const std::int32_t>(v));
  EXPECT_EQ(t.dtype(), DType::kInt32);
  EXPECT_EQ(t.shape(), (Shape{2, 3}));
  EXPECT_EQ(t.to_int_vector(), v);
  EXPECT_EQ(t.data<std::int32_t>()[3], 2147483647);
}

TEST(Tensor, FromVectorCountMismatchThrows) {
  const std::vector<float> v(5, 1.0f);
  expect_error<axon::Error>(
      [&] { (void)Tensor::from_vector({2, 3}, std::span<const float>(v)); }, {"[2, 3]"});
}

TEST(Tensor, ToVectorWrongDtypeThrows) {
  const Tensor i = Tensor::zeros({3}, Device::cpu(), DType::kInt32);
  expect_error<axon::DTypeError>([&] { (void)i.to_vector(); });
  const Tensor f = Tensor::zeros({3});
  expect_error<axon::DTypeError>([&] { (void)f.to_int_vector(); });
}

TEST(Tensor, DataWrongDtypeThrows) {
  const Tensor i = Tensor::zeros({3}, Device::cpu(), DType::kInt32);
  expect_error<axon::DTypeError>([&] { (void)i.data<float>(); });
  const Tensor f = Tensor::zeros({3});
  expect_error<axon::DTypeError>([&] { (void)f.data<std::int32_t>(); });
}

// ---- random factories -----------------------------------------------------------------------

TEST(Tensor, UniformStatistics) {
  constexpr int n = 100000;
  const float low = -2.0f, high = 3.0f;
  Generator g(1234);
  const Tensor t = Tensor::uniform({n}, low, high, Device::cpu(), g);
  const auto v = t.to_vector();
  const Stats s = stats_of(v);
  EXPECT_GE(s.min, low);
  EXPECT_LT(s.max, high);
  const double width = high - low;
  const double want_mean = 0.5 * (low + high);
  const double want_std = width / std::sqrt(12.0);
  // Standard errors: of the mean sigma/sqrt(n); of the std, for a uniform, ~ sigma*0.45/sqrt(n).
  EXPECT_NEAR(s.mean, want_mean, 5 * want_std / std::sqrt(n));
  EXPECT_NEAR(s.stddev, want_std, 5 * want_std / std::sqrt(n));
  // Spread over the whole interval.
  EXPECT_LT(s.min, low + 0.01 * width);
  EXPECT_GT(s.max, high - 0.01 * width);
  // Roughly flat: each of 10 bins holds 10% +- 5 sigma.
  std::vector<int> bins(10, 0);
  for (float x : v) bins[std::min(9, static_cast<int>((x - low) / width * 10))]++;
  const double sigma = std::sqrt(n * 0.1 * 0.9);
  for (int b = 0; b < 10; ++b) EXPECT_NEAR(bins[b], n * 0.1, 5 * sigma) << "bin " << b;
}

TEST(Tensor, NormalStatistics) {
  constexpr int n = 100000;
  const float mean = 1.5f, stddev = 2.0f;
  Generator g(99);
  const Tensor t = Tensor::normal({n}, mean, stddev, Device::cpu(), g);
  const auto v = t.to_vector();
  const Stats s = stats_of(v);
  EXPECT_NEAR(s.mean, mean, 5 * stddev / std::sqrt(n));
  EXPECT_NEAR(s.stddev, stddev, 5 * stddev / std::sqrt(2.0 * n));
  // Fraction within one sigma: 0.6827.
  int within = 0;
  for (float x : v) within += std::abs(x - mean) <= stddev;
  EXPECT_NEAR(within / static_cast<double>(n), 0.682689, 5 * std::sqrt(0.68 * 0.32 / n));
  for (float x : v) ASSERT_TRUE(std::isfinite(x));
}

TEST(Tensor, SameSeedSameNumbers) {
  Generator g1(777), g2(777);
  const auto a = Tensor::uniform({1001}, 0.0f, 1.0f, Device::cpu(), g1).to_vector();
  const auto b = Tensor::uniform({1001}, 0.0f, 1.0f, Device::cpu(), g2).to_vector();
  EXPECT_EQ(a, b);
  const auto c = Tensor::normal({1001}, 0.0f, 1.0f, Device::cpu(), g1).to_vector();
  const auto d = Tensor::normal({1001}, 0.0f, 1.0f, Device::cpu(), g2).to_vector();
  EXPECT_EQ(c, d);
}

TEST(Tensor, DifferentSeedDifferentNumbers) {
  Generator g1(777), g2(778);
  const auto a = Tensor::uniform({1001}, 0.0f, 1.0f, Device::cpu(), g1).to_vector();
  const auto b = Tensor::uniform({1001}, 0.0f, 1.0f, Device::cpu(), g2).to_vector();
  int same = 0;
  for (std::size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
  EXPECT_LT(same, 5);
  const auto c = Tensor::normal({1001}, 0.0f, 1.0f, Device::cpu(), g1).to_vector();
  const auto d = Tensor::normal({1001}, 0.0f, 1.0f, Device::cpu(), g2).to_vector();
  same = 0;
  for (std::size_t i = 0; i < c.size(); ++i) same += c[i] == d[i];
  EXPECT_LT(same, 5);
}

TEST(Tensor, ManualSeedResetsTheDefaultGenerator) {
  axon::manual_seed(4242);
  const auto a = Tensor::uniform({257}, -1.0f, 1.0f).to_vector();
  const auto a2 = Tensor::uniform({257}, -1.0f, 1.0f).to_vector();
  axon::manual_seed(4242);
  const auto b = Tensor::uniform({257}, -1.0f, 1.0f).to_vector();
  EXPECT_EQ(a, b);
  EXPECT_NE(a, a2);  // the default generator advanced between the two draws
}

// ---- reshape --------------------------------------------------------------------------------

TEST(Tensor, ReshapeIsAViewWithTheSameData) {
  const auto ref = random_doubles(24);
  const Tensor t = tensor_from({2, 3, 4}, ref);
  const Tensor r = t.reshape({6, 4});
  EXPECT_EQ(r.shape(), (Shape{6, 4}));
  EXPECT_TRUE(r.shares_storage_with(t));
  EXPECT_TRUE(near_ref(r, ref, 0, 0));
  // A write through the view is seen by the original.
  r.data<float>()[5] = 123.0f;
  EXPECT_EQ(t.to_vector()[5], 123.0f);
}

TEST(Tensor, ReshapeInfersMinusOne) {
  const Tensor t = Tensor::zeros({2, 3, 4});
  EXPECT_EQ(t.reshape({-1}).shape(), (Shape{24}));
  EXPECT_EQ(t.reshape({4, -1}).shape(), (Shape{4, 6}));
  EXPECT_EQ(t.reshape({-1, 2, 3}).shape(), (Shape{4, 2, 3}));
  EXPECT_EQ(t.reshape({2, -1, 2}).shape(), (Shape{2, 6, 2}));
}

// A product of dimensions that wraps around int64 must not pass as a small element count.
TEST(Tensor, ReshapeOverflowThrows) {
  const Tensor one = Tensor::ones({1});
  expect_error<axon::ShapeError>([&] { (void)one.reshape({274177, 67280421310721}); },
                                 {"reshape", "[274177, 67280421310721]", "overflows"});
  expect_error<axon::ShapeError>([&] { (void)one.reshape({274177, 67280421310721, -1}); }, {"reshape", "overflows"});
}

TEST(Tensor, ReshapeErrors) {
  const Tensor t = Tensor::zeros({2, 3});
  expect_error<axon::ShapeError>([&] { (void)t.reshape({4, 2}); }, {"[2, 3]", "[4, 2]"});
  expect_error<axon::ShapeError>([&] { (void)t.reshape({4, -1}); }, {"[2, 3]"});
  expect_error<axon::Error>([&] { (void)t.reshape({-1, -1}); });
}

// ---- rows -----------------------------------------------------------------------------------

TEST(Tensor, RowsViewSharesStorage) {
  const auto ref = random_doubles(5 * 3);
  const Tensor t = tensor_from({5, 3}, ref);
  const Tensor v = t.rows(1, 4);
  EXPECT_EQ(v.shape(), (Shape{3, 3}));
  EXPECT_TRUE(v.shares_storage_with(t));
  EXPECT_TRUE(near_ref(v, std::vector<double>(ref.begin() + 3, ref.begin() + 12), 0, 0));

  // Writes through the view (pointer and op) land in the parent's rows 1..3.
  v.data<float>()[0] = 10.0f;
  axon::fill(v.rows(2, 3), -7.0f);
  auto want = axon_test::round_to_float(ref);
  want[3] = 10.0;
  for (int c = 0; c < 3; ++c) want[9 + c] = -7.0;
  EXPECT_TRUE(near_ref(t, want, 0, 0));

  // And the parent's writes are seen by the view.
  t.data<float>()[4] = 55.0f;
  EXPECT_EQ(v.to_vector()[1], 55.0f);
}

TEST(Tensor, RowsOfRank3AndEmptyRange) {
  const Tensor t = Tensor::zeros({4, 2, 3});
  EXPECT_EQ(t.rows(1, 3).shape(), (Shape{2, 2, 3}));
  const Tensor e = t.rows(2, 2);
  EXPECT_EQ(e.shape(), (Shape{0, 2, 3}));
  EXPECT_EQ(e.numel(), 0);
}

TEST(Tensor, RowsOutOfRangeThrows) {
  const Tensor t = Tensor::zeros({4, 3});
  expect_error<axon::Error>([&] { (void)t.rows(2, 5); });
  expect_error<axon::Error>([&] { (void)t.rows(-1, 2); });
  expect_error<axon::Error>([&] { (void)t.rows(3, 2); });
}

// ---- copies ---------------------------------------------------------------------------------

TEST(Tensor, ToCpuCopies) {
  const auto ref = random_doubles(7 * 13);
  const Tensor t = tensor_from({7, 13}, ref);
  const Tensor c = t.to(Device::cpu());
  EXPECT_EQ(c.shape(), t.shape());
  EXPECT_EQ(c.device(), Device::cpu());
  EXPECT_FALSE(c.shares_storage_with(t));
  EXPECT_TRUE(near_ref(c, ref, 0, 0));
  c.data<float>()[0] = 99.0f;
  EXPECT_EQ(t.to_vector()[0], static_cast<float>(ref[0]));
}

TEST(Tensor, CloneIsIndependent) {
  const auto ref = random_doubles(11);
  const Tensor t = tensor_from({11}, ref);
  const Tensor c = t.clone();
  EXPECT_FALSE(c.shares_storage_with(t));
  EXPECT_TRUE(near_ref(c, ref, 0, 0));
  axon::fill(c, 3.0f);
  EXPECT_TRUE(near_ref(t, ref, 0, 0));
  t.data<float>()[2] = -1.0f;
  EXPECT_EQ(c.to_vector()[2], 3.0f);
}

TEST(Tensor, CloneOfAViewCopiesOnlyTheView) {
  const auto ref = random_doubles(6 * 4);
  const Tensor t = tensor_from({6, 4}, ref);
  const Tensor c = t.rows(2, 5).clone();
  EXPECT_EQ(c.shape(), (Shape{3, 4}));
  EXPECT_TRUE(near_ref(c, std::vector<double>(ref.begin() + 8, ref.begin() + 20), 0, 0));
}

TEST(Tensor, CopyIsAHandle) {
  const Tensor t = Tensor::zeros({3});
  const Tensor u = t;  // shares, like a shared_ptr
  EXPECT_TRUE(u.shares_storage_with(t));
  u.data<float>()[1] = 4.0f;
  EXPECT_EQ(t.to_vector()[1], 4.0f);
}

TEST(Tensor, CopyFrom) {
  const auto ref = random_doubles(3 * 5);
  const Tensor src = tensor_from({3, 5}, ref);
  const Tensor dst = Tensor::zeros({3, 5});
  dst.copy_from(src);
  EXPECT_TRUE(near_ref(dst, ref, 0, 0));
  EXPECT_FALSE(dst.shares_storage_with(src));
  // Into a view: only those rows change.
  const Tensor big = Tensor::zeros({5, 5});
  big.rows(1, 4).copy_from(src);
  std::vector<double> want(25, 0.0);
  for (int i = 0; i < 15; ++i) want[5 + i] = static_cast<float>(ref[i]);
  EXPECT_TRUE(near_ref(big, want, 0, 0));
}

// Large copies run on several threads; overlapping views (a shift within one buffer) must keep
// memmove semantics.
TEST(Tensor, LargeAndOverlappingCopies) {
  const std::int64_t n = 700001;  // > 1 MiB of floats, odd
  const auto values = random_doubles(static_cast<std::size_t>(n), -5, 5, 11);
  const Tensor source = tensor_from({n}, values);
  EXPECT_TRUE(near_ref(source.clone(), values, 0, 0));

  Tensor buffer = tensor_from({n}, values);
  buffer.rows(0, n - 1000).copy_from(buffer.rows(1000, n));  // shift left by 1000
  std::vector<double> shifted(values.begin() + 1000, values.end());
  shifted.insert(shifted.end(), values.end() - 1000, values.end());
  EXPECT_TRUE(near_ref(buffer, shifted, 0, 0));

  Tensor again = tensor_from({n}, values);
  again.rows(1000, n).copy_from(again.rows(0, n - 1000));  // shift right by 1000
  std::vector<double> right(values.begin(), values.begin() + 1000);
  right.insert(right.end(), values.begin(), values.end() - 1000);
  EXPECT_TRUE(near_ref(again, right, 0, 0));
}

TEST(Tensor, CopyFromMismatchThrows) {
  const Tensor a = Tensor::zeros({3, 5});
  expect_error<axon::ShapeError>([&] { a.copy_from(Tensor::zeros({5, 3})); }, {"[3, 5]", "[5, 3]"});
  expect_error<axon::DTypeError>(
      [&] { a.copy_from(Tensor::zeros({3, 5}, Device::cpu(), DType::kInt32)); });
}

// ---- element access -------------------------------------------------------------------------

TEST(Tensor, Item) {
  EXPECT_EQ(Tensor::full({1}, 2.75f).item(), 2.75f);
  EXPECT_EQ(Tensor::full({1, 1}, -3.5f).item(), -3.5f);
  EXPECT_EQ(Tensor::full(Shape{}, 8.0f).item(), 8.0f);
  expect_error<axon::Error>([] { (void)Tensor::zeros({2}).item(); });
  expect_error<axon::Error>([] { (void)Tensor::zeros({0}).item(); });
  expect_error<axon::Error>([] { (void)Tensor::zeros({1}, Device::cpu(), DType::kInt32).item(); });
}

TEST(Tensor, Dim) {
  const Tensor t = Tensor::zeros({2, 3, 5});
  EXPECT_EQ(t.dim(0), 2);
  EXPECT_EQ(t.dim(2), 5);
  EXPECT_EQ(t.dim(-1), 5);
  EXPECT_EQ(t.dim(-3), 2);
  expect_error<axon::Error>([&] { (void)t.dim(3); });
  expect_error<axon::Error>([&] { (void)t.dim(-4); });
}

TEST(Tensor, Describe) {
  EXPECT_EQ(Tensor::zeros({2, 3}).describe(), "[2, 3] float32 cpu");
  EXPECT_EQ(Tensor::zeros({4}, Device::cpu(), DType::kInt32).describe(), "[4] int32 cpu");
}

// ---- str ------------------------------------------------------------------------------------

TEST(Tensor, StrShowsShapeDeviceAndValues) {
  const std::vector<float> v{1.5f, -2.25f, 3.0f, 0.125f, 7.0f, -8.5f};
  const Tensor t = axon_test::tensor_from({2, 3}, v);
  const std::string s = t.str();
  EXPECT_NE(s.find("[2, 3]"), std::string::npos) << s;
  EXPECT_NE(s.find("cpu"), std::string::npos) << s;
  EXPECT_NE(s.find("float32"), std::string::npos) << s;
  EXPECT_NE(s.find("1.5"), std::string::npos) << s;
  EXPECT_NE(s.find("-2.25"), std::string::npos) << s;
  EXPECT_NE(s.find("0.125"), std::string::npos) << s;
  EXPECT_NE(s.find("-8.5"), std::string::npos) << s;
  EXPECT_EQ(s.find("..."), std::string::npos) << s;
  std::ostringstream out;
  out << t;
  EXPECT_EQ(out.str(), s);
}

TEST(Tensor, StrOfInt32) {
  const std::vector<std::int32_t> v{17, -4, 123456};
  const std::string s = axon_test::int_tensor_from({3}, v).str();
  EXPECT_NE(s.find("int32"), std::string::npos) << s;
  EXPECT_NE(s.find("17"), std::string::npos) << s;
  EXPECT_NE(s.find("-4"), std::string::npos) << s;
  EXPECT_NE(s.find("123456"), std::string::npos) << s;
}

// A summarized rank-3 tensor shows exactly the edge elements of every axis, in place.
TEST(Tensor, StrOfASummarizedRank3TensorShowsTheRightElements) {
  std::vector<float> values(8 * 9 * 20);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i);
  const std::string s = Tensor::from_vector({8, 9, 20}, values).str();
  // element [i, j, k] holds i*180 + j*20 + k
  for (const char* shown : {"[[[0, 1, 2, ..., 17, 18, 19]", "[40, 41, 42, ..., 57, 58, 59]", "[120, 121, 122,",
                            "[1420, 1421, 1422, ..., 1437, 1438, 1439]]]"}) {
    EXPECT_NE(s.find(shown), std::string::npos) << shown << " missing in\n" << s;
  }
  EXPECT_EQ(s.find(" 60,"), std::string::npos) << s;   // row [0, 3] is elided
  EXPECT_EQ(s.find(" 540,"), std::string::npos) << s;  // block [3] is elided
}

TEST(Tensor, StrAbbreviatesLargeTensors) {
  const Tensor t = Tensor::full({1000, 1000}, 0.5f);
  const std::string s = t.str();
  EXPECT_NE(s.find("..."), std::string::npos) << s.substr(0, 500);
  EXPECT_NE(s.find("[1000, 1000]"), std::string::npos) << s.substr(0, 500);
  EXPECT_LT(s.size(), 5000u);
}

TEST(Tensor, StrOfUndefinedAndEmptyDoesNotThrow) {
  EXPECT_NO_THROW((void)Tensor().str());
  const std::string s = Tensor::zeros({0, 3}).str();
  EXPECT_NE(s.find("[0, 3]"), std::string::npos) << s;
}

// ---- ranks ----------------------------------------------------------------------------------

TEST(Tensor, Rank4) {
  const auto ref = random_doubles(2 * 3 * 5 * 7);
  const Tensor t = tensor_from({2, 3, 5, 7}, ref);
  EXPECT_EQ(t.rank(), 4);
  EXPECT_EQ(t.numel(), 210);
  EXPECT_EQ(t.dim(-1), 7);
  EXPECT_TRUE(near_ref(t, ref, 0, 0));
  EXPECT_TRUE(near_ref(t.rows(1, 2).reshape({15, 7}),
                       std::vector<double>(ref.begin() + 105, ref.end()), 0, 0));
}

TEST(Tensor, RankAboveMaxThrows) {
  expect_error<axon::ShapeError>([] { (void)Tensor::zeros({1, 1, 1, 1, 1, 1, 1, 1, 2}); });
}

// ---- empty tensors --------------------------------------------------------------------------

TEST(Tensor, EmptyWithZeroDimension) {
  for (const Shape& shape : {Shape{0}, Shape{0, 3}, Shape{3, 0}, Shape{2, 0, 4}}) {
    SCOPED_TRACE(shape.str());
    const Tensor t = Tensor::zeros(shape);
    EXPECT_TRUE(t.defined());
    EXPECT_EQ(t.numel(), 0);
    EXPECT_EQ(t.nbytes(), 0u);
    EXPECT_TRUE(t.to_vector().empty());
    const Tensor c = t.clone();
    EXPECT_EQ(c.shape(), shape);
    EXPECT_EQ(t.to(Device::cpu()).shape(), shape);
    EXPECT_EQ(t.reshape({0, 5}).numel(), 0);
    EXPECT_NO_THROW(axon::fill(t, 1.0f));
  }
  const std::vector<float> none;
  EXPECT_EQ(Tensor::from_vector({0, 7}, std::span<const float>(none)).shape(), (Shape{0, 7}));
  EXPECT_EQ(Tensor::uniform({0}, 0.0f, 1.0f).numel(), 0);
  EXPECT_EQ(Tensor::normal({5, 0}, 0.0f, 1.0f).numel(), 0);
}

}  // namespace
