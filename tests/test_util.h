#pragma once
// Shared helpers for axon's GoogleTest suite.
//
// Conventions:
//  * Expected values always come from plain double-precision reference code written in the test;
//    axon is never asked to compute what it is checked against.
//  * Inputs are random (std::mt19937 with a fixed seed), never all zero.
//  * near_ref() compares a float32 tensor with a double reference using a mixed bound
//    |got - want| <= atol + rtol * |want| and reports the first bad index and both values.
//  * Gradients are checked against central finite differences of the double reference.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <random>
#include <source_location>
#include <sstream>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "axon/axon.h"

namespace axon_test {

inline constexpr std::uint32_t kDefaultSeed = 20240611u;

// ---- random inputs --------------------------------------------------------------------------

// n floats uniform in [low, high), never all zero (for n > 0).
inline std::vector<float> random_floats(std::size_t n, float low = -1.0f, float high = 1.0f,
                                        std::uint32_t seed = kDefaultSeed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(low, high);
  std::vector<float> v(n);
  bool any_nonzero = false;
  for (auto& x : v) {
    x = dist(rng);
    any_nonzero = any_nonzero || x != 0.0f;
  }
  if (n > 0 && !any_nonzero) v[0] = (high != 0.0f ? high : low) * 0.5f;
  return v;
}

// n doubles that are exactly representable as floats (so a float tensor holds them exactly).
inline std::vector<double> random_doubles(std::size_t n, double low = -1.0, double high = 1.0,
                                          std::uint32_t seed = kDefaultSeed) {
  const auto f = random_floats(n, static_cast<float>(low), static_cast<float>(high), seed);
  return std::vector<double>(f.begin(), f.end());
}

// n small integers in [low, high] stored as doubles (sums of these are exact in float).
inline std::vector<double> random_small_ints(std::size_t n, int low = -8, int high = 8,
                                             std::uint32_t seed = kDefaultSeed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> dist(low, high);
  std::vector<double> v(n);
  bool any_nonzero = false;
  for (auto& x : v) {
    x = dist(rng);
    any_nonzero = any_nonzero || x != 0.0;
  }
  if (n > 0 && !any_nonzero) v[0] = high != 0 ? high : low;
  return v;
}

inline std::vector<std::int32_t> random_labels(std::size_t n, int classes,
                                               std::uint32_t seed = kDefaultSeed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> dist(0, classes - 1);
  std::vector<std::int32_t> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// ---- conversions ----------------------------------------------------------------------------

inline std::vector<double> to_double(const std::vector<float>& v) {
  return std::vector<double>(v.begin(), v.end());
}

// Rounds each value to float, as the tensor will hold it, and back to double.
inline std::vector<double> round_to_float(const std::vector<double>& v) {
  std::vector<double> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = static_cast<float>(v[i]);
  return out;
}

// A float32 CPU tensor holding the reference values (rounded to float).
inline axon::Tensor tensor_from(const axon::Shape& shape, const std::vector<double>& values) {
  std::vector<float> f(values.begin(), values.end());
  return axon::Tensor::from_vector(shape, std::span<const float>(f));
}

inline axon::Tensor tensor_from(const axon::Shape& shape, const std::vector<float>& values) {
  return axon::Tensor::from_vector(shape, std::span<const float>(values));
}

inline axon::Tensor int_tensor_from(const axon::Shape& shape,
                                    const std::vector<std::int32_t>& values) {
  return axon::Tensor::from_vector(shape, std::span<const std::int32_t>(values));
}

// The tensor's values as doubles (float32 tensors only), read through the host pointer.
inline std::vector<double> values_of(const axon::Tensor& t) {
  const auto f = t.to_vector();
  return std::vector<double>(f.begin(), f.end());
}

// ---- comparisons ----------------------------------------------------------------------------

inline bool close_enough(double got, double want, double tol) {
  if (std::isnan(want)) return std::isnan(got);
  if (std::isinf(want)) return got == want;
  if (!std::isfinite(got)) return false;
  return std::abs(got - want) <= tol;
}

// Element i passes when |got - want| <= tol[i].
inline ::testing::AssertionResult near_ref_each(const std::vector<double>& got,
                                                const std::vector<double>& want,
                                                const std::vector<double>& tol) {
  if (got.size() != want.size()) {
    return ::testing::AssertionFailure()
           << "size mismatch: got " << got.size() << " values, want " << want.size();
  }
  std::size_t bad = 0, first = 0;
  double worst_ratio = 0.0;
  std::size_t worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (!close_enough(got[i], want[i], tol[i])) {
      if (bad == 0) first = i;
      ++bad;
      const double r = std::isfinite(got[i]) ? std::abs(got[i] - want[i]) / tol[i]
                                             : std::numeric_limits<double>::infinity();
      if (r > worst_ratio) {
        worst_ratio = r;
        worst = i;
      }
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  std::ostringstream s;
  s.precision(10);
  s << bad << " of " << got.size() << " values out of tolerance; first at index " << first
    << ": got " << got[first] << ", want " << want[first] << " (tol " << tol[first]
    << "); worst at index " << worst << ": got " << got[worst] << ", want " << want[worst]
    << " (tol " << tol[worst] << ")";
  return ::testing::AssertionFailure() << s.str();
}

inline ::testing::AssertionResult near_ref(const std::vector<double>& got,
                                           const std::vector<double>& want, double rtol,
                                           double atol) {
  std::vector<double> tol(want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    tol[i] = atol + rtol * (std::isfinite(want[i]) ? std::abs(want[i]) : 0.0);
  }
  return near_ref_each(got, want, tol);
}

// Compares a float32 tensor with a double reference: |got - want| <= atol + rtol * |want|.
inline ::testing::AssertionResult near_ref(const axon::Tensor& t, const std::vector<double>& want,
                                           double rtol = 1e-5, double atol = 1e-6) {
  if (!t.defined()) return ::testing::AssertionFailure() << "tensor is undefined";
  if (t.dtype() != axon::DType::kFloat32) {
    return ::testing::AssertionFailure() << "tensor is " << axon::dtype_name(t.dtype())
                                         << ", want float32";
  }
  if (t.numel() != static_cast<std::int64_t>(want.size())) {
    return ::testing::AssertionFailure() << "tensor " << t.describe() << " has " << t.numel()
                                         << " elements, want " << want.size();
  }
  return near_ref(values_of(t), want, rtol, atol);
}

inline ::testing::AssertionResult all_finite(const axon::Tensor& t) {
  const auto v = t.to_vector();
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i])) {
      return ::testing::AssertionFailure() << "value " << i << " is " << v[i] << " in "
                                           << t.describe();
    }
  }
  return ::testing::AssertionSuccess();
}

// ---- finite differences (all in double, on the double reference) ---------------------------

// Central difference of a scalar function of one variable.
inline double central_diff(const std::function<double(double)>& f, double x, double h = 1e-5) {
  return (f(x + h) - f(x - h)) / (2.0 * h);
}

// Gradient of a scalar function of a vector by central differences, one coordinate at a time.
inline std::vector<double> fd_gradient(const std::function<double(const std::vector<double>&)>& f,
                                       std::vector<double> x, double h = 1e-5) {
  std::vector<double> g(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double saved = x[i];
    x[i] = saved + h;
    const double up = f(x);
    x[i] = saved - h;
    const double down = f(x);
    x[i] = saved;
    g[i] = (up - down) / (2.0 * h);
  }
  return g;
}

// Tolerances for an analytic float32 gradient against FD of the double reference.
inline constexpr double kGradRtol = 1e-4;
inline constexpr double kGradAtol = 1e-6;

// ---- errors ---------------------------------------------------------------------------------

// Asserts that fn() throws an E (or a subclass) whose what() contains every substring.
template <class E, class F>
void expect_error(F&& fn, std::initializer_list<std::string_view> substrings = {},
                  std::source_location where = std::source_location::current()) {
  const char* file = where.file_name();
  const int line = static_cast<int>(where.line());
  try {
    fn();
  } catch (const E& e) {
    const std::string message = e.what();
    for (std::string_view sub : substrings) {
      if (message.find(sub) == std::string::npos) {
        ADD_FAILURE_AT(file, line) << "the " << typeid(E).name() << " message \"" << message
                                   << "\" does not contain \"" << sub << "\"";
      }
    }
    return;
  } catch (const std::exception& e) {
    ADD_FAILURE_AT(file, line) << "expected " << typeid(E).name() << ", got "
                               << typeid(e).name() << ": " << e.what();
    return;
  } catch (...) {
    ADD_FAILURE_AT(file, line) << "expected " << typeid(E).name()
                               << ", got an exception not derived from std::exception";
    return;
  }
  ADD_FAILURE_AT(file, line) << "expected " << typeid(E).name() << ", nothing was thrown";
}

// ---- files ----------------------------------------------------------------------------------

// A fresh directory under the system's temporary one, named after the running test, removed
// with its files at the end.
class TempDir {
 public:
  TempDir() {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    const std::string name = test != nullptr ? std::string(test->test_suite_name()) + "_" + test->name() : "axon";
    path_ = std::filesystem::temp_directory_path() /
            ("axon_test_" + name + "_" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
  // Writes `text` as the file `name` in the directory; returns its path.
  std::filesystem::path write(const std::string& name, const std::string& text) const {
    std::ofstream out(path_ / name, std::ios::binary);
    out << text;
    EXPECT_TRUE(out.good()) << name;
    return path_ / name;
  }

 private:
  std::filesystem::path path_;
};

// The bytes of a file ("" when it cannot be read: the caller's assertions then fail).
inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// True when a CUDA device is present (tests that need "no GPU" skip otherwise).
inline bool have_cuda() { return axon::device_count(axon::DeviceType::kCuda) > 0; }

// AXON_REQUIRE_CUDA=1: a missing GPU fails the CUDA tests instead of skipping them.
inline bool cuda_required() {
  const char* value = std::getenv("AXON_REQUIRE_CUDA");
  return value != nullptr && std::string(value) == "1";
}

// The float32 numbers left on a fixture line, each token read exactly (strtof, not stof: the
// subnormal values a tail gives are no error); a token that is no number fails the test.
inline std::vector<float> read_floats(std::istringstream& in) {
  std::vector<float> values;
  std::string token;
  while (in >> token) {
    char* end = nullptr;
    values.push_back(std::strtof(token.c_str(), &end));
    EXPECT_EQ(*end, '\0') << "not a number: " << token;
  }
  return values;
}

// ... and the float64 numbers (strtod: "nan" and "inf" read as such).
inline std::vector<double> read_doubles(std::istringstream& in) {
  std::vector<double> values;
  std::string token;
  while (in >> token) {
    char* end = nullptr;
    values.push_back(std::strtod(token.c_str(), &end));
    EXPECT_EQ(*end, '\0') << "not a number: " << token;
  }
  return values;
}

}  // namespace axon_test
