// CPU elementwise ops (add, sub, mul, binary_out, scale, axpy, fill) at odd sizes, including
// sizes that cross the OpenMP thresholds and the empty tensor.
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.h"

namespace {

using axon::BinaryOp;
using axon::Shape;
using axon::Tensor;
using axon_test::near_ref;
using axon_test::random_doubles;
using axon_test::tensor_from;

// Results of one float op on float inputs: correctly rounded, so 1e-6 relative is generous.
constexpr double kRtol = 1e-6;
constexpr double kAtol = 1e-7;

class CpuElementwise : public ::testing::TestWithParam<std::int64_t> {
 protected:
  std::size_t n() const { return static_cast<std::size_t>(GetParam()); }
  Shape shape() const { return Shape{GetParam()}; }
};

std::vector<double> apply(const std::vector<double>& a, const std::vector<double>& b,
                          double (*f)(double, double)) {
  std::vector<double> out(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) out[i] = f(a[i], b[i]);
  return out;
}

TEST_P(CpuElementwise, Add) {
  const auto a = random_doubles(n(), -2, 2, 1), b = random_doubles(n(), -2, 2, 2);
  const Tensor out = axon::add(tensor_from(shape(), a), tensor_from(shape(), b));
  EXPECT_EQ(out.shape(), shape());
  EXPECT_TRUE(near_ref(out, apply(a, b, [](double x, double y) { return x + y; }), kRtol, kAtol));
}

TEST_P(CpuElementwise, Sub) {
  const auto a = random_doubles(n(), -2, 2, 3), b = random_doubles(n(), -2, 2, 4);
  const Tensor out = axon::sub(tensor_from(shape(), a), tensor_from(shape(), b));
  EXPECT_TRUE(near_ref(out, apply(a, b, [](double x, double y) { return x - y; }), kRtol, kAtol));
}

TEST_P(CpuElementwise, Mul) {
  const auto a = random_doubles(n(), -2, 2, 5), b = random_doubles(n(), -2, 2, 6);
  const Tensor out = axon::mul(tensor_from(shape(), a), tensor_from(shape(), b));
  EXPECT_TRUE(near_ref(out, apply(a, b, [](double x, double y) { return x * y; }), kRtol, kAtol));
}

TEST_P(CpuElementwise, Operators) {
  const auto a = random_doubles(n(), -2, 2, 21), b = random_doubles(n(), -2, 2, 22);
  const Tensor ta = tensor_from(shape(), a), tb = tensor_from(shape(), b);
  EXPECT_TRUE(near_ref(ta + tb, apply(a, b, [](double x, double y) { return x + y; }), kRtol, kAtol));
  EXPECT_TRUE(near_ref(ta - tb, apply(a, b, [](double x, double y) { return x - y; }), kRtol, kAtol));
  EXPECT_TRUE(near_ref(ta * tb, apply(a, b, [](double x, double y) { return x * y; }), kRtol, kAtol));
  std::vector<double> scaled(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) scaled[i] = -1.5 * a[i];
  EXPECT_TRUE(near_ref(-1.5f * ta, scaled, kRtol, kAtol));
  EXPECT_TRUE(near_ref(ta * -1.5f, scaled, kRtol, kAtol));
}

TEST_P(CpuElementwise, BinaryOutEachOp) {
  const auto a = random_doubles(n(), -3, 3, 7), b = random_doubles(n(), -3, 3, 8);
  const Tensor at = tensor_from(shape(), a), bt = tensor_from(shape(), b);
  const struct {
    BinaryOp op;
    double (*f)(double, double);
  } cases[] = {
      {BinaryOp::kAdd, [](double x, double y) { return x + y; }},
      {BinaryOp::kSub, [](double x, double y) { return x - y; }},
      {BinaryOp::kMul, [](double x, double y) { return x * y; }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(axon::binary_name(c.op)));
    const Tensor out = Tensor::full(shape(), 77.0f);
    axon::binary_out(c.op, at, bt, out);
    EXPECT_TRUE(near_ref(out, apply(a, b, c.f), kRtol, kAtol));
  }
  // Inputs untouched.
  EXPECT_TRUE(near_ref(at, a, 0, 0));
  EXPECT_TRUE(near_ref(bt, b, 0, 0));
}

TEST_P(CpuElementwise, Scale) {
  const auto x = random_doubles(n(), -2, 2, 9);
  const Tensor xt = tensor_from(shape(), x);
  for (const float alpha : {2.5f, -0.75f, 0.0f}) {
    SCOPED_TRACE(alpha);
    std::vector<double> want(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) want[i] = alpha * x[i];
    EXPECT_TRUE(near_ref(axon::scale(xt, alpha), want, kRtol, kAtol));
    const Tensor out = Tensor::full(shape(), 5.0f);
    axon::scale_out(xt, alpha, out);
    EXPECT_TRUE(near_ref(out, want, kRtol, kAtol));
  }
}

TEST_P(CpuElementwise, Axpy) {
  const auto x = random_doubles(n(), -2, 2, 10), y = random_doubles(n(), -2, 2, 11);
  const Tensor xt = tensor_from(shape(), x), yt = tensor_from(shape(), y);
  const float alpha = -1.25f;
  axon::axpy(alpha, xt, yt);
  std::vector<double> want(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) want[i] = y[i] + alpha * x[i];
  EXPECT_TRUE(near_ref(yt, want, kRtol, 1e-6));
  EXPECT_TRUE(near_ref(xt, x, 0, 0));
  // A second call accumulates.
  axon::axpy(2.0f, xt, yt);
  for (std::size_t i = 0; i < x.size(); ++i) want[i] += 2.0 * x[i];
  EXPECT_TRUE(near_ref(yt, want, kRtol, 1e-6));
}

TEST_P(CpuElementwise, Fill) {
  const Tensor t = tensor_from(shape(), random_doubles(n(), -1, 1, 12));
  axon::fill(t, -3.25f);
  EXPECT_TRUE(near_ref(t, std::vector<double>(n(), -3.25), 0, 0));
  axon::fill(t, 0.0f);
  EXPECT_TRUE(near_ref(t, std::vector<double>(n(), 0.0), 0, 0));
}

TEST_P(CpuElementwise, FillInt32) {
  const Tensor t = Tensor::empty(shape(), axon::Device::cpu(), axon::DType::kInt32);
  axon::fill(t, 7.0f);
  EXPECT_EQ(t.to_int_vector(), std::vector<std::int32_t>(n(), 7));
}

// Elementwise ops read and write the tensor as a flat array: rank doesn't matter.
TEST_P(CpuElementwise, Rank3SameAsFlat) {
  const Shape s3 = GetParam() % 7 == 0 ? Shape{GetParam() / 7, 7, 1} : Shape{1, GetParam(), 1};
  const auto a = random_doubles(n(), -2, 2, 13), b = random_doubles(n(), -2, 2, 14);
  const Tensor out = axon::mul(tensor_from(s3, a), tensor_from(s3, b));
  EXPECT_EQ(out.shape(), s3);
  EXPECT_TRUE(near_ref(out, apply(a, b, [](double x, double y) { return x * y; }), kRtol, kAtol));
}

INSTANTIATE_TEST_SUITE_P(Sizes, CpuElementwise,
                         ::testing::Values<std::int64_t>(0, 1, 7, 1001, 100003),
                         [](const auto& info) {
                           std::ostringstream name;
                           name << "n" << info.param;
                           return name.str();
                         });

TEST(CpuElementwiseViews, WritesOnlyTheView) {
  // An op on a rows() view touches exactly those rows.
  const auto base = random_doubles(10 * 3, -1, 1, 21);
  const auto a = random_doubles(4 * 3, -1, 1, 22);
  const Tensor big = tensor_from({10, 3}, base);
  const Tensor view = big.rows(3, 7);
  axon::axpy(1.0f, tensor_from({4, 3}, a), view);
  axon::fill(big.rows(9, 10), 2.0f);
  std::vector<double> want = axon_test::round_to_float(base);
  for (std::size_t i = 0; i < a.size(); ++i) want[9 + i] += a[i];
  for (std::size_t i = 27; i < 30; ++i) want[i] = 2.0;
  EXPECT_TRUE(near_ref(big, want, kRtol, kAtol));
}

TEST(CpuElementwiseViews, AddIntoAViewOutput) {
  const auto a = random_doubles(2 * 5, -1, 1, 23), b = random_doubles(2 * 5, -1, 1, 24);
  const Tensor big = Tensor::full({4, 5}, -9.0f);
  axon::binary_out(BinaryOp::kAdd, tensor_from({2, 5}, a), tensor_from({2, 5}, b), big.rows(1, 3));
  std::vector<double> want(20, -9.0);
  for (std::size_t i = 0; i < a.size(); ++i) want[5 + i] = a[i] + b[i];
  EXPECT_TRUE(near_ref(big, want, kRtol, kAtol));
}

TEST(CpuElementwiseSpecial, ScaleOfInfAndNaNPropagates) {
  const std::vector<float> v{INFINITY, -INFINITY, NAN, 1.0f};
  const auto out = axon::scale(tensor_from({4}, v), 2.0f).to_vector();
  EXPECT_EQ(out[0], INFINITY);
  EXPECT_EQ(out[1], -INFINITY);
  EXPECT_TRUE(std::isnan(out[2]));
  EXPECT_EQ(out[3], 2.0f);
}

}  // namespace
