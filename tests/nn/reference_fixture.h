#pragma once
// The PyTorch-made reference fixtures (tests/fixtures/make_*_fixtures.py) read one way, and
// results judged against them one way. A fixture is a text file of cases: a header line
//   <record> [kind] key=value ...
// then one line per tensor: `name v v v ...` (float32, shortest round-trip form) or
// `name64 v v ...` (torch's float64 result from the same float32 inputs: the truth).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.h"

namespace axon_test {

struct FixtureCase {
  std::string line;                                  // the header line, for traces
  std::string kind;                                  // the header's word before the settings
  std::map<std::string, std::string> settings;       // key=value
  std::map<std::string, std::vector<float>> f32;     // by record name
  std::map<std::string, std::vector<double>> f64;    // records ending in "64", by full name

  const std::vector<float>& floats(const std::string& name) const {
    const auto found = f32.find(name);
    EXPECT_NE(found, f32.end()) << "no record '" << name << "' in " << line;
    static const std::vector<float> none;
    return found == f32.end() ? none : found->second;
  }
  const std::vector<double>& truth(const std::string& name) const {
    const auto found = f64.find(name + "64");
    EXPECT_NE(found, f64.end()) << "no record '" << name << "64' in " << line;
    static const std::vector<double> none;
    return found == f64.end() ? none : found->second;
  }
};

// "2,3,4" -> {2, 3, 4}
inline std::vector<std::int64_t> integers(const std::string& text) {
  std::vector<std::int64_t> values;
  std::istringstream in(text);
  for (std::string v; std::getline(in, v, ',');) values.push_back(std::stoll(v));
  return values;
}

// The cases of fixtures/<file>, each starting at a line whose first word is `header`; with_kind:
// the next word is the case's kind ("max", "avg"), not a setting.
inline std::vector<FixtureCase> read_fixture(const std::string& file, const std::string& header, bool with_kind) {
  std::vector<FixtureCase> all;
  std::ifstream in_file(std::string(AXON_TEST_FIXTURE_DIR) + "/" + file);
  EXPECT_TRUE(in_file.good()) << "cannot open " << AXON_TEST_FIXTURE_DIR << "/" << file;
  std::string line;
  while (std::getline(in_file, line)) {
    std::istringstream in(line);
    std::string record;
    in >> record;
    if (record == header) {
      FixtureCase c;
      c.line = line;
      if (with_kind) in >> c.kind;
      for (std::string token; in >> token;) {
        const auto eq = token.find('=');
        c.settings[token.substr(0, eq)] = eq == std::string::npos ? "" : token.substr(eq + 1);
      }
      all.push_back(std::move(c));
    } else if (all.empty() || record.empty() || record[0] == '#') {
      continue;
    } else if (record.size() > 2 && record.ends_with("64")) {
      all.back().f64[record] = read_doubles(in);
    } else {
      all.back().f32[record] = read_floats(in);
    }
  }
  return all;
}

// Each of `got` within `floor`, or within `times_torch` times torch's own float32 error, of the
// float64 truth (whichever is larger): float32 rounding in the engine's own summation order, as
// near the truth as torch or nearer. NaN where the truth is NaN.
inline ::testing::AssertionResult near_truth(const std::vector<float>& got, const std::vector<float>& torch32,
                                             const std::vector<double>& truth, double floor, double times_torch) {
  if (got.size() != truth.size() || got.size() != torch32.size()) {
    return ::testing::AssertionFailure() << "sizes " << got.size() << ", " << torch32.size() << ", " << truth.size();
  }
  double worst_torch = 0.0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (!std::isnan(truth[i])) worst_torch = std::max(worst_torch, std::abs(torch32[i] - truth[i]));
  }
  const double bound = std::max(floor, times_torch * worst_torch);
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(truth[i]) != std::isnan(got[i]) || std::abs(got[i] - truth[i]) > bound) {
      return ::testing::AssertionFailure() << "element " << i << ": got " << got[i] << ", float64 " << truth[i]
                                           << ", torch " << torch32[i] << " (bound " << bound << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace axon_test

// Skips a CUDA test without a device (fails instead under AXON_REQUIRE_CUDA=1).
#define AXON_SKIP_WITHOUT_CUDA()                                                     \
  do {                                                                               \
    if (!axon_test::have_cuda()) {                                                   \
      if (axon_test::cuda_required()) FAIL() << "AXON_REQUIRE_CUDA=1 but no CUDA device"; \
      GTEST_SKIP() << "no CUDA device";                                              \
    }                                                                                \
  } while (0)
