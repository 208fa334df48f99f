// CPU reductions: over the whole tensor and per row, and argmax per row.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.h"

namespace {

using axon::ReduceOp;
using axon::Shape;
using axon::Tensor;
using axon_test::expect_error;
using axon_test::int_tensor_from;
using axon_test::near_ref;
using axon_test::random_doubles;
using axon_test::tensor_from;

struct Ref {
  double value;
  double tol;  // float accumulation: grows with the number of terms and their magnitudes
};

Ref reduce_ref(ReduceOp op, const double* x, std::size_t n) {
  double s = 0, mag = 0, m = -std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < n; ++i) {
    s += x[i];
    mag += std::abs(x[i]);
    m = std::max(m, x[i]);
  }
  const double acc = 2e-7 * std::sqrt(static_cast<double>(std::max<std::size_t>(n, 1))) + 1e-7;
  switch (op) {
    case ReduceOp::kSum: return {s, acc * mag + 1e-6};
    case ReduceOp::kMean:
      return {n == 0 ? NAN : s / static_cast<double>(n),
              n == 0 ? 0 : (acc * mag + 1e-6) / static_cast<double>(n)};
    case ReduceOp::kMax: return {m, 0.0};  // exact
  }
  return {NAN, 0};
}

const ReduceOp kOps[] = {ReduceOp::kSum, ReduceOp::kMean, ReduceOp::kMax};

std::string op_name(ReduceOp op) { return std::string(axon::reduce_name(op)); }

// ---- whole tensor ---------------------------------------------------------------------------

class CpuReduceAll : public ::testing::TestWithParam<std::int64_t> {};

TEST_P(CpuReduceAll, RandomValues) {
  const std::size_t n = static_cast<std::size_t>(GetParam());
  const auto x = random_doubles(n, -1, 1, 7 + static_cast<std::uint32_t>(n));
  const Tensor t = tensor_from({GetParam()}, x);
  for (ReduceOp op : kOps) {
    SCOPED_TRACE(op_name(op));
    const Ref want = reduce_ref(op, x.data(), n);
    const Tensor got = axon::reduce_all(op, t);
    EXPECT_EQ(got.numel(), 1);
    EXPECT_EQ(got.dtype(), axon::DType::kFloat32);
    EXPECT_TRUE(axon_test::near_ref_each(axon_test::values_of(got), {want.value}, {want.tol}));
  }
  EXPECT_TRUE(axon_test::near_ref_each(axon_test::values_of(axon::sum(t)),
                                       {reduce_ref(ReduceOp::kSum, x.data(), n).value},
                                       {reduce_ref(ReduceOp::kSum, x.data(), n).tol}));
  EXPECT_TRUE(axon_test::near_ref_each(axon_test::values_of(axon::mean(t)),
                                       {reduce_ref(ReduceOp::kMean, x.data(), n).value},
                                       {reduce_ref(ReduceOp::kMean, x.data(), n).tol}));
  EXPECT_EQ(axon::max(t).item(), static_cast<float>(reduce_ref(ReduceOp::kMax, x.data(), n).value));
}

TEST_P(CpuReduceAll, IntegerValuesExact) {
  // Small integers sum exactly in float, whatever the order: a dropped or repeated element shows.
  const std::size_t n = static_cast<std::size_t>(GetParam());
  const auto x = axon_test::random_small_ints(n, -8, 8, 3 + static_cast<std::uint32_t>(n));
  const Tensor t = tensor_from({GetParam()}, x);
  double s = 0;
  for (double v : x) s += v;
  EXPECT_EQ(axon::sum(t).item(), static_cast<float>(s));
  EXPECT_NEAR(axon::mean(t).item(), s / static_cast<double>(n), 1e-6);
}

TEST_P(CpuReduceAll, MaxAtEveryEnd) {
  // The maximum placed first, last and in the middle is found (no skipped chunk edges).
  const std::size_t n = static_cast<std::size_t>(GetParam());
  for (std::size_t pos : {std::size_t{0}, n / 2, n - 1, n / 3 + 1}) {
    if (pos >= n) continue;
    auto x = random_doubles(n, -1, 1, 17);
    x[pos] = 5.0;
    EXPECT_EQ(axon::max(tensor_from({GetParam()}, x)).item(), 5.0f) << "pos " << pos;
    // All negative: max is not 0.
    for (auto& v : x) v = -2.0 - std::abs(v);
    x[pos] = -1.5;
    EXPECT_EQ(axon::max(tensor_from({GetParam()}, x)).item(), -1.5f) << "pos " << pos;
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, CpuReduceAll, ::testing::Values<std::int64_t>(1, 7, 1001, 100003),
                         [](const auto& info) {
                           std::ostringstream name;
                           name << "n" << info.param;
                           return name.str();
                         });

TEST(CpuReduceAllShapes, RankDoesNotMatter) {
  const auto x = random_doubles(2 * 3 * 5, -1, 1, 23);
  const Tensor t = tensor_from({2, 3, 5}, x);
  for (ReduceOp op : kOps) {
    SCOPED_TRACE(op_name(op));
    const Ref want = reduce_ref(op, x.data(), x.size());
    EXPECT_TRUE(axon_test::near_ref_each(axon_test::values_of(axon::reduce_all(op, t)),
                                         {want.value}, {want.tol}));
  }
}

TEST(CpuReduceAllShapes, SumOfEmptyIsZero) {
  EXPECT_EQ(axon::sum(Tensor::zeros({0, 4})).item(), 0.0f);
  EXPECT_EQ(axon::reduce_all(ReduceOp::kSum, Tensor::zeros({0})).item(), 0.0f);
}

TEST(CpuReduceAllShapes, MeanOfEmptyThrows) {  // as documented in ops.h: no silent NaN
  const Tensor e = Tensor::zeros({0, 4});
  expect_error<axon::ValueError>([&] { (void)axon::mean(e); }, {"mean", "empty", "[0, 4]"});
}

TEST(CpuReduceAllShapes, MaxOfEmptyThrows) {
  const Tensor e = Tensor::zeros({0, 4});
  expect_error<axon::ValueError>([&] { (void)axon::max(e); }, {"max"});
  expect_error<axon::ValueError>([&] { (void)axon::reduce_all(ReduceOp::kMax, Tensor::zeros({0})); },
                                 {"max"});
}

TEST(CpuReduceAllShapes, OfAView) {
  const auto x = random_doubles(6 * 4, -1, 1, 29);
  const Tensor t = tensor_from({6, 4}, x);
  const Ref want = reduce_ref(ReduceOp::kSum, x.data() + 8, 12);
  EXPECT_TRUE(axon_test::near_ref_each(axon_test::values_of(axon::sum(t.rows(2, 5))), {want.value},
                                       {want.tol}));
}

// ---- per row --------------------------------------------------------------------------------

TEST(CpuReduceRows, EachOpEachShape) {
  const Shape shapes[] = {{1, 1}, {5, 7}, {3, 1001}, {1000, 3}, {2, 3, 5}, {9}, {4, 1}, {1, 100003}};
  std::uint32_t seed = 40;
  for (const Shape& shape : shapes) {
    SCOPED_TRACE(shape.str());
    const std::size_t rows = static_cast<std::size_t>(shape.rows());
    const std::size_t cols = static_cast<std::size_t>(shape.cols());
    const auto x = random_doubles(rows * cols, -1, 1, ++seed);
    const Tensor t = tensor_from(shape, x);
    for (ReduceOp op : kOps) {
      SCOPED_TRACE(op_name(op));
      std::vector<double> want(rows), tol(rows);
      for (std::size_t r = 0; r < rows; ++r) {
        const Ref ref = reduce_ref(op, x.data() + r * cols, cols);
        want[r] = ref.value;
        tol[r] = ref.tol;
      }
      const Tensor got = axon::reduce_rows(op, t);
      EXPECT_EQ(got.shape(), (Shape{shape.rows()}));
      EXPECT_TRUE(axon_test::near_ref_each(axon_test::values_of(got), want, tol));
      const Tensor out = Tensor::full({shape.rows()}, 1234.0f);
      axon::reduce_rows_out(op, t, out);
      EXPECT_TRUE(axon_test::near_ref_each(axon_test::values_of(out), want, tol)) << "_out";
    }
  }
}

TEST(CpuReduceRows, IntegerValuesExact) {
  const std::size_t rows = 1003, cols = 17;
  const auto x = axon_test::random_small_ints(rows * cols, -8, 8, 51);
  const Tensor t = tensor_from({1003, 17}, x);
  std::vector<double> sums(rows), maxes(rows, -1e9);
  for (std::size_t i = 0; i < x.size(); ++i) {
    sums[i / cols] += x[i];
    maxes[i / cols] = std::max(maxes[i / cols], x[i]);
  }
  EXPECT_TRUE(near_ref(axon::reduce_rows(ReduceOp::kSum, t), sums, 0, 0));
  EXPECT_TRUE(near_ref(axon::reduce_rows(ReduceOp::kMax, t), maxes, 0, 0));
  std::vector<double> means(rows);
  for (std::size_t r = 0; r < rows; ++r) means[r] = sums[r] / cols;
  EXPECT_TRUE(near_ref(axon::reduce_rows(ReduceOp::kMean, t), means, 1e-6, 1e-7));
}

TEST(CpuReduceRows, ZeroRows) {
  const Tensor got = axon::reduce_rows(ReduceOp::kSum, Tensor::zeros({0, 5}));
  EXPECT_EQ(got.shape(), (Shape{0}));
}

TEST(CpuReduceRows, EmptyRows) {
  // Sum over an empty row is 0; max of one has no answer.
  EXPECT_TRUE(near_ref(axon::reduce_rows(ReduceOp::kSum, Tensor::zeros({3, 0})), {0, 0, 0}, 0, 0));
  expect_error<axon::ValueError>([] { (void)axon::reduce_rows(ReduceOp::kMax, Tensor::zeros({3, 0})); });
}

// ---- argmax ---------------------------------------------------------------------------------

std::vector<std::int32_t> argmax_ref(const std::vector<double>& x, std::size_t cols) {
  std::vector<std::int32_t> out;
  for (std::size_t r = 0; r * cols < x.size(); ++r) {
    std::size_t best = 0;
    for (std::size_t c = 1; c < cols; ++c) {
      if (x[r * cols + c] > x[r * cols + best]) best = c;  // strict: the first wins ties
    }
    out.push_back(static_cast<std::int32_t>(best));
  }
  return out;
}

TEST(CpuArgmax, RandomRows) {
  const Shape shapes[] = {{1, 1}, {5, 1001}, {1000, 3}, {2, 3, 7}, {9}, {4, 1}};
  std::uint32_t seed = 60;
  for (const Shape& shape : shapes) {
    SCOPED_TRACE(shape.str());
    const auto x = random_doubles(static_cast<std::size_t>(shape.numel()), -1, 1, ++seed);
    const Tensor got = axon::argmax_rows(tensor_from(shape, x));
    EXPECT_EQ(got.dtype(), axon::DType::kInt32);
    EXPECT_EQ(got.shape(), (Shape{shape.rows()}));
    EXPECT_EQ(got.to_int_vector(), argmax_ref(x, static_cast<std::size_t>(shape.cols())));
  }
}

TEST(CpuArgmax, TiesGoToTheFirstIndex) {
  const std::vector<double> x{1, 3, 3, 2,     // 1
                              7, 7, 7, 7,     // 0
                              -1, -5, -1, -1, // 0
                              0, 2, 1, 2,     // 1
                              -3, -2, -4, -2};// 1
  EXPECT_EQ(axon::argmax_rows(tensor_from({5, 4}, x)).to_int_vector(),
            (std::vector<std::int32_t>{1, 0, 0, 1, 1}));
}

TEST(CpuArgmax, LongRowWithTies) {
  // A long row whose maximum appears several times, the first deep inside (crosses chunks).
  std::vector<double> x = random_doubles(3 * 100003, -1, 1, 70);
  const std::size_t cols = 100003;
  x[0 * cols + 70001] = 2.0;
  x[0 * cols + 90000] = 2.0;
  x[1 * cols + 5] = 2.0;
  x[1 * cols + 100002] = 2.0;
  x[2 * cols + 100002] = 2.0;
  EXPECT_EQ(axon::argmax_rows(tensor_from({3, 100003}, x)).to_int_vector(),
            (std::vector<std::int32_t>{70001, 5, 100002}));
}

TEST(CpuArgmax, InfinitiesAndZeroRows) {
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> x{-inf, -inf, -1e30f, 1.0f, inf, 2.0f};
  EXPECT_EQ(axon::argmax_rows(axon_test::tensor_from({2, 3}, x)).to_int_vector(),
            (std::vector<std::int32_t>{2, 1}));
  EXPECT_EQ(axon::argmax_rows(Tensor::zeros({0, 3})).shape(), (Shape{0}));
}

// NaN propagates (as in PyTorch): wherever it sits, max is NaN and argmax points at the first NaN.
TEST(CpuReduceNaN, MaxAndArgmaxPropagateNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (const std::int64_t where : {std::int64_t{0}, std::int64_t{3}, std::int64_t{6}}) {
    std::vector<float> row{1.5f, -2.0f, 9.0f, 0.5f, 9.0f, -7.0f, 3.0f};
    row[static_cast<std::size_t>(where)] = nan;
    row[static_cast<std::size_t>((where + 5) % 7)] = nan;  // a second NaN later must not win
    const Tensor x = Tensor::from_vector({1, 7}, row);
    EXPECT_TRUE(std::isnan(axon::max(x).item())) << "NaN at " << where;
    EXPECT_TRUE(std::isnan(axon::reduce_rows(ReduceOp::kMax, x).item())) << "NaN at " << where;
    EXPECT_EQ(axon::argmax_rows(x).to_int_vector()[0], std::min(where, (where + 5) % 7)) << "NaN at " << where;
  }
  // A large tensor (threaded path) with one NaN in the middle.
  std::vector<float> big(100003, 1.0f);
  big[50001] = nan;
  EXPECT_TRUE(std::isnan(axon::max(Tensor::from_vector({100003}, big)).item()));
}

}  // namespace
