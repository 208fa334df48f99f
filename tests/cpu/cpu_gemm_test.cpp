// CPU GEMM, matmul, bias_add and bias_grad against double-precision references.
#include <cmath>
#include <cstdlib>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "test_util.h"

namespace {

using axon::Shape;
using axon::Tensor;
using axon_test::near_ref;
using axon_test::near_ref_each;
using axon_test::random_doubles;
using axon_test::tensor_from;

struct GemmRef {
  std::vector<double> c;    // the result
  std::vector<double> tol;  // per-element tolerance
};

// c = alpha * op(a) @ op(b) + beta * c, in double. a is stored [k, m] when transposed, else
// [m, k]; b is stored [n, k] when transposed, else [k, n]. The tolerance bounds the float32
// rounding of a k-term dot product: ~ k * eps * sum |a_il b_lj|, with margin.
GemmRef gemm_ref(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, double alpha,
                 const std::vector<double>& a, const std::vector<double>& b, double beta,
                 const std::vector<double>& c0) {
  GemmRef r{std::vector<double>(static_cast<std::size_t>(m * n)),
            std::vector<double>(static_cast<std::size_t>(m * n))};
  const double per_term = 1e-6 * std::max(1.0, std::sqrt(static_cast<double>(k))) + 1e-6;
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < n; ++j) {
      double dot = 0, mag = 0;
      for (std::int64_t l = 0; l < k; ++l) {
        const double av = ta ? a[static_cast<std::size_t>(l * m + i)] : a[static_cast<std::size_t>(i * k + l)];
        const double bv = tb ? b[static_cast<std::size_t>(j * k + l)] : b[static_cast<std::size_t>(l * n + j)];
        dot += av * bv;
        mag += std::abs(av * bv);
      }
      const std::size_t idx = static_cast<std::size_t>(i * n + j);
      const double old = beta == 0.0 ? 0.0 : c0[idx];
      r.c[idx] = alpha * dot + beta * old;
      r.tol[idx] = 1e-5 * std::abs(r.c[idx]) +
                   per_term * 10 * (std::abs(alpha) * mag + std::abs(beta * old)) + 1e-6;
    }
  }
  return r;
}

struct GemmCase {
  std::int64_t m, n, k;
};

std::string case_name(const GemmCase& s, bool ta, bool tb, double alpha, double beta) {
  return "m=" + std::to_string(s.m) + " n=" + std::to_string(s.n) + " k=" + std::to_string(s.k) +
         " ta=" + std::to_string(ta) + " tb=" + std::to_string(tb) +
         " alpha=" + std::to_string(alpha) + " beta=" + std::to_string(beta);
}

void run_gemm_case(const GemmCase& s, bool ta, bool tb, float alpha, float beta,
                   std::uint32_t seed) {
  SCOPED_TRACE(case_name(s, ta, tb, alpha, beta));
  const Shape a_shape = ta ? Shape{s.k, s.m} : Shape{s.m, s.k};
  const Shape b_shape = tb ? Shape{s.n, s.k} : Shape{s.k, s.n};
  const auto a = random_doubles(static_cast<std::size_t>(s.m * s.k), -1, 1, seed);
  const auto b = random_doubles(static_cast<std::size_t>(s.k * s.n), -1, 1, seed + 1);
  const auto c0 = random_doubles(static_cast<std::size_t>(s.m * s.n), -1, 1, seed + 2);
  const Tensor ta_t = tensor_from(a_shape, a);
  const Tensor tb_t = tensor_from(b_shape, b);
  const Tensor c = tensor_from({s.m, s.n}, c0);
  axon::gemm(ta_t, tb_t, c, alpha, beta, ta, tb);
  const GemmRef want = gemm_ref(ta, tb, s.m, s.n, s.k, alpha, a, b, beta, c0);
  EXPECT_EQ(c.shape(), (Shape{s.m, s.n}));
  EXPECT_TRUE(near_ref_each(axon_test::values_of(c), want.c, want.tol));
  // The inputs are untouched.
  EXPECT_TRUE(near_ref(ta_t, a, 0, 0));
  EXPECT_TRUE(near_ref(tb_t, b, 0, 0));
}

const GemmCase kShapes[] = {{1, 1, 1}, {7, 5, 13}, {33, 65, 17}, {5, 1, 9}, {1, 11, 3}};

class CpuGemm : public ::testing::TestWithParam<std::tuple<bool, bool>> {};

TEST_P(CpuGemm, AgainstDoubleReference) {
  const auto [ta, tb] = GetParam();
  std::uint32_t seed = 100;
  const std::pair<float, float> scalars[] = {{1.0f, 0.0f}, {-1.5f, 0.0f}, {0.5f, 0.75f},
                                             {1.0f, 1.0f}, {2.0f, -1.0f}};
  for (const GemmCase& s : kShapes) {
    for (const auto& [alpha, beta] : scalars) run_gemm_case(s, ta, tb, alpha, beta, seed += 3);
  }
}

TEST_P(CpuGemm, BetaZeroIgnoresOldValuesEvenNaN) {
  const auto [ta, tb] = GetParam();
  const GemmCase s{7, 5, 13};
  const auto a = random_doubles(static_cast<std::size_t>(s.m * s.k), -1, 1, 7);
  const auto b = random_doubles(static_cast<std::size_t>(s.k * s.n), -1, 1, 8);
  const Tensor at = tensor_from(ta ? Shape{s.k, s.m} : Shape{s.m, s.k}, a);
  const Tensor bt = tensor_from(tb ? Shape{s.n, s.k} : Shape{s.k, s.n}, b);
  const Tensor c = Tensor::full({s.m, s.n}, std::numeric_limits<float>::quiet_NaN());
  axon::gemm(at, bt, c, 1.25f, 0.0f, ta, tb);
  const GemmRef want = gemm_ref(ta, tb, s.m, s.n, s.k, 1.25, a, b, 0.0, {});
  EXPECT_TRUE(near_ref_each(axon_test::values_of(c), want.c, want.tol));
}

TEST_P(CpuGemm, Matmul) {
  const auto [ta, tb] = GetParam();
  const GemmCase s{33, 65, 17};
  const auto a = random_doubles(static_cast<std::size_t>(s.m * s.k), -1, 1, 11);
  const auto b = random_doubles(static_cast<std::size_t>(s.k * s.n), -1, 1, 12);
  const Tensor c = axon::matmul(tensor_from(ta ? Shape{s.k, s.m} : Shape{s.m, s.k}, a),
                                tensor_from(tb ? Shape{s.n, s.k} : Shape{s.k, s.n}, b), ta, tb);
  EXPECT_EQ(c.shape(), (Shape{s.m, s.n}));
  const GemmRef want = gemm_ref(ta, tb, s.m, s.n, s.k, 1.0, a, b, 0.0, {});
  EXPECT_TRUE(near_ref_each(axon_test::values_of(c), want.c, want.tol));
}

INSTANTIATE_TEST_SUITE_P(Transposes, CpuGemm,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool()),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) ? "T" : "N") +
                                  (std::get<1>(info.param) ? "T" : "N");
                         });

TEST(CpuGemmSizes, LargerOddShape) {  // big enough for OpenBLAS to block and thread
  run_gemm_case({129, 67, 251}, false, false, 1.0f, 0.0f, 501);
  run_gemm_case({67, 129, 251}, true, true, 0.5f, 2.0f, 502);
}

TEST(CpuGemmSizes, ZeroM) {
  const Tensor a = Tensor::zeros({0, 5});
  const Tensor b = tensor_from({5, 3}, random_doubles(15));
  const Tensor c = Tensor::zeros({0, 3});
  EXPECT_NO_THROW(axon::gemm(a, b, c, 1.0f, 0.5f));
  EXPECT_EQ(axon::matmul(a, b).shape(), (Shape{0, 3}));
}

TEST(CpuGemmSizes, ZeroN) {
  const Tensor a = tensor_from({4, 5}, random_doubles(20));
  const Tensor b = Tensor::zeros({5, 0});
  EXPECT_EQ(axon::matmul(a, b).shape(), (Shape{4, 0}));
}

TEST(CpuGemmSizes, ZeroKScalesByBeta) {
  // op(a) @ op(b) is an empty sum: c = beta * c.
  const auto c0 = random_doubles(4 * 3, -1, 1, 77);
  for (const float beta : {0.5f, 1.0f, -2.0f}) {
    SCOPED_TRACE(beta);
    const Tensor c = tensor_from({4, 3}, c0);
    axon::gemm(Tensor::zeros({4, 0}), Tensor::zeros({0, 3}), c, 1.0f, beta);
    std::vector<double> want(c0.size());
    for (std::size_t i = 0; i < c0.size(); ++i) want[i] = beta * static_cast<float>(c0[i]);
    EXPECT_TRUE(near_ref(c, want, 1e-6, 1e-7));
  }
  // beta == 0: c becomes zeros, even if it held NaN.
  const Tensor c = Tensor::full({4, 3}, std::numeric_limits<float>::quiet_NaN());
  axon::gemm(Tensor::zeros({4, 0}), Tensor::zeros({0, 3}), c, 1.0f, 0.0f);
  EXPECT_TRUE(near_ref(c, std::vector<double>(12, 0.0), 0, 0));
  // And matmul with k = 0 gives zeros.
  EXPECT_TRUE(near_ref(axon::matmul(Tensor::zeros({2, 0}), Tensor::zeros({0, 5})),
                       std::vector<double>(10, 0.0), 0, 0));
  // Transposed operands with k = 0.
  const Tensor ct = tensor_from({4, 3}, c0);
  axon::gemm(Tensor::zeros({0, 4}), Tensor::zeros({3, 0}), ct, 1.0f, 0.5f, true, true);
  std::vector<double> want(c0.size());
  for (std::size_t i = 0; i < c0.size(); ++i) want[i] = 0.5 * static_cast<float>(c0[i]);
  EXPECT_TRUE(near_ref(ct, want, 1e-6, 1e-7));
}

TEST(CpuGemmSizes, GemmIntoARowsView) {
  // The output can be a view of rows of a larger tensor; the other rows are untouched.
  const auto a = random_doubles(3 * 4, -1, 1, 31);
  const auto b = random_doubles(4 * 5, -1, 1, 32);
  const Tensor big = Tensor::full({6, 5}, 9.0f);
  axon::gemm(tensor_from({3, 4}, a), tensor_from({4, 5}, b), big.rows(2, 5));
  const GemmRef want = gemm_ref(false, false, 3, 5, 4, 1.0, a, b, 0.0, {});
  std::vector<double> got = axon_test::values_of(big);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(got[i], 9.0) << i;
  for (int i = 25; i < 30; ++i) EXPECT_EQ(got[i], 9.0) << i;
  EXPECT_TRUE(near_ref_each(std::vector<double>(got.begin() + 10, got.begin() + 25), want.c,
                            want.tol));
}

// ---- the GEMM library (axon/cpu_gemm.h) ------------------------------------------------------

// This suite runs twice (tests/CMakeLists.txt): as the environment says, and with
// AXON_CPU_GEMM=openblas. The engine in use is the one the environment names, else oneDNN.
TEST(CpuGemmChoice, TheEnvironmentPicksTheEngine) {
  const char* env = std::getenv("AXON_CPU_GEMM");
  const std::string name = env != nullptr ? env : "";
  if (name != "" && name != "onednn" && name != "openblas") GTEST_SKIP() << "AXON_CPU_GEMM=" << name;
  EXPECT_STREQ(axon::cpu_gemm_name(axon::cpu_gemm()), name == "openblas" ? "openblas" : "onednn");
}

// Run by CTest with AXON_CPU_GEMM=bogus (CpuGemmChoice.ABadEnvironmentValue): refused with a
// ValueError naming the variable and the value, until the program picks an engine itself.
TEST(CpuGemmChoice, ABadEnvironmentValueIsRefused) {
  const char* env = std::getenv("AXON_CPU_GEMM");
  if (env == nullptr || std::string(env) != "bogus") GTEST_SKIP() << "runs with AXON_CPU_GEMM=bogus";
  axon_test::expect_error<axon::ValueError>([] { (void)axon::cpu_gemm(); }, {"AXON_CPU_GEMM=bogus", "onednn", "openblas"});
  axon_test::expect_error<axon::ValueError>([] { (void)axon::matmul(Tensor::ones({2, 2}), Tensor::ones({2, 2})); },
                                            {"AXON_CPU_GEMM=bogus"});
  axon::set_cpu_gemm(axon::CpuGemm::kOpenBlas);
  EXPECT_EQ(axon::cpu_gemm(), axon::CpuGemm::kOpenBlas);
  EXPECT_TRUE(near_ref(axon::matmul(Tensor::ones({2, 2}), Tensor::ones({2, 2})), {2, 2, 2, 2}, 0, 0));
}

TEST(CpuGemmChoice, BothEnginesAgreeWithTheReference) {
  const axon::CpuGemm saved = axon::cpu_gemm();
  for (const axon::CpuGemm engine : {axon::CpuGemm::kOneDnn, axon::CpuGemm::kOpenBlas}) {
    SCOPED_TRACE(axon::cpu_gemm_name(engine));
    axon::set_cpu_gemm(engine);
    EXPECT_EQ(axon::cpu_gemm(), engine);
    // Few rows (oneDNN's run-time row count primitive) and many (its fixed-shape one).
    run_gemm_case({3, 40, 50}, false, true, 1.0f, 0.0f, 601);
    run_gemm_case({64, 40, 50}, true, false, -0.5f, 1.0f, 602);
  }
  axon::set_cpu_gemm(saved);
}

// Products of ever new shapes (inference at every batch size): the primitive cache stays
// bounded (it starts afresh past 512 idle plans) and every product stays right.
TEST(CpuGemmChoice, ManyShapesStayRight) {
  const auto b = random_doubles(9 * 7, -1, 1, 71);
  const Tensor bt = tensor_from({9, 7}, b);
  for (std::int64_t m = 1; m <= 600; ++m) {
    const auto a = random_doubles(static_cast<std::size_t>(m * 9), -1, 1, static_cast<std::uint32_t>(m));
    const Tensor c = axon::matmul(tensor_from({m, 9}, a), bt);
    const GemmRef want = gemm_ref(false, false, m, 7, 9, 1.0, a, b, 0.0, {});
    ASSERT_TRUE(near_ref_each(axon_test::values_of(c), want.c, want.tol)) << "m=" << m;
  }
}

// ---- bias_add -------------------------------------------------------------------------------

std::vector<double> bias_add_ref(const std::vector<double>& x, const std::vector<double>& bias) {
  const std::size_t cols = bias.size();
  std::vector<double> out(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) out[i] = x[i] + bias[i % cols];
  return out;
}

TEST(CpuBias, BiasAdd) {
  const Shape shapes[] = {{1, 1}, {5, 7}, {2, 3, 7}, {7}, {1001, 13}, {3, 1001}};
  std::uint32_t seed = 900;
  for (const Shape& shape : shapes) {
    SCOPED_TRACE(shape.str());
    const auto x = random_doubles(static_cast<std::size_t>(shape.numel()), -1, 1, ++seed);
    const auto bias = random_doubles(static_cast<std::size_t>(shape.cols()), -1, 1, ++seed);
    const auto want = bias_add_ref(x, bias);
    const Tensor xt = tensor_from(shape, x);
    const Tensor bt = tensor_from({shape.cols()}, bias);
    const Tensor out = axon::bias_add(xt, bt);
    EXPECT_EQ(out.shape(), shape);
    EXPECT_TRUE(near_ref(out, want, 1e-6, 1e-7));
    const Tensor out2 = Tensor::full(shape, 123.0f);
    axon::bias_add_out(xt, bt, out2);
    EXPECT_TRUE(near_ref(out2, want, 1e-6, 1e-7));
    EXPECT_TRUE(near_ref(xt, x, 0, 0));  // input untouched
  }
}

TEST(CpuBias, BiasAddInPlace) {
  const auto x = random_doubles(5 * 7, -1, 1, 41);
  const auto bias = random_doubles(7, -1, 1, 42);
  const Tensor xt = tensor_from({5, 7}, x);
  axon::bias_add_out(xt, tensor_from({7}, bias), xt);
  EXPECT_TRUE(near_ref(xt, bias_add_ref(x, bias), 1e-6, 1e-7));
}

TEST(CpuBias, BiasAddZeroRows) {
  const Tensor out = axon::bias_add(Tensor::zeros({0, 7}), Tensor::ones({7}));
  EXPECT_EQ(out.shape(), (Shape{0, 7}));
}

TEST(CpuBias, BiasGrad) {
  const Shape shapes[] = {{1, 1}, {5, 7}, {2, 3, 5}, {7}, {1001, 3}, {3, 1001}, {257, 129}};
  std::uint32_t seed = 1900;
  for (const Shape& shape : shapes) {
    SCOPED_TRACE(shape.str());
    const auto g = random_doubles(static_cast<std::size_t>(shape.numel()), -1, 1, ++seed);
    const std::size_t cols = static_cast<std::size_t>(shape.cols());
    std::vector<double> want(cols, 0.0), mag(cols, 0.0);
    for (std::size_t i = 0; i < g.size(); ++i) {
      want[i % cols] += g[i];
      mag[i % cols] += std::abs(g[i]);
    }
    std::vector<double> tol(cols);
    for (std::size_t c = 0; c < cols; ++c) tol[c] = 1e-5 * mag[c] + 1e-6;
    const Tensor gt = tensor_from(shape, g);
    const Tensor out = axon::bias_grad(gt);
    EXPECT_EQ(out.shape(), (Shape{shape.cols()}));
    EXPECT_TRUE(near_ref_each(axon_test::values_of(out), want, tol));
    const Tensor out2 = Tensor::full({shape.cols()}, 55.0f);  // overwritten, not accumulated
    axon::bias_grad_out(gt, out2);
    EXPECT_TRUE(near_ref_each(axon_test::values_of(out2), want, tol));
  }
}

TEST(CpuBias, BiasGradIntegerValuesExact) {
  // Small integers sum exactly in float: any dropped or doubled row shows.
  const auto g = axon_test::random_small_ints(1003 * 5, -8, 8, 5);
  std::vector<double> want(5, 0.0);
  for (std::size_t i = 0; i < g.size(); ++i) want[i % 5] += g[i];
  EXPECT_TRUE(near_ref(axon::bias_grad(tensor_from({1003, 5}, g)), want, 0, 0));
}

TEST(CpuBias, BiasGradZeroRowsIsZero) {
  const Tensor out = Tensor::full({4}, 3.0f);
  axon::bias_grad_out(Tensor::zeros({0, 4}), out);
  EXPECT_TRUE(near_ref(out, std::vector<double>(4, 0.0), 0, 0));
}

}  // namespace
