// Initialisers against torch.nn.init: tests/fixtures/init_reference.txt holds statistics of one
// large draw of each (made by tests/fixtures/make_init_fixtures.py). The random streams differ,
// so the distributions are compared: mean and spread within sampling error, the range a bounded
// draw reaches, and for orthogonal the rows' orthonormality. Also: the normal quantile behind
// trunc_normal, and initializers through a layer's settings.
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "test_util.h"

namespace {

using axon::Tensor;
namespace nn = axon::nn;

struct InitCase {
  std::string name;
  std::map<std::string, std::string> options;
  std::int64_t rows = 0, cols = 0;
  double mean = 0, stddev = 0, min = 0, max = 0;
  double singular_min = 0, singular_max = 0;
};

std::vector<InitCase> read_cases() {
  std::vector<InitCase> cases;
  std::ifstream file(AXON_TEST_FIXTURE_DIR "/init_reference.txt");
  EXPECT_TRUE(file.good()) << "cannot open " AXON_TEST_FIXTURE_DIR "/init_reference.txt";
  std::string line;
  while (std::getline(file, line)) {
    std::istringstream in(line);
    std::string record;
    in >> record;
    if (record == "init") {
      InitCase c;
      in >> c.name;
      std::string token;
      while (in >> token) {
        const auto eq = token.find('=');
        c.options[token.substr(0, eq)] = token.substr(eq + 1);
      }
      const std::string& shape = c.options.at("shape");
      c.rows = std::stoll(shape.substr(0, shape.find(',')));
      c.cols = std::stoll(shape.substr(shape.find(',') + 1));
      cases.push_back(c);
    } else if (record == "stats") {
      in >> cases.back().mean >> cases.back().stddev >> cases.back().min >> cases.back().max;
    } else if (record == "singular") {
      in >> cases.back().singular_min >> cases.back().singular_max;
    }
  }
  return cases;
}

double option(const InitCase& c, const std::string& key) { return std::stod(c.options.at(key)); }

nn::Initializer initializer_of(const InitCase& c) {
  const auto mode = c.options.contains("mode") && c.options.at("mode") == "fan_out" ? nn::FanMode::kFanOut
                                                                                     : nn::FanMode::kFanIn;
  if (c.name == "he_uniform") return nn::init::he_uniform(1.4142135f, mode);
  if (c.name == "he_normal") return nn::init::he_normal(1.4142135f, mode);
  if (c.name == "trunc_normal") {
    return nn::init::trunc_normal(static_cast<float>(option(c, "mean")), static_cast<float>(option(c, "std")),
                                  static_cast<float>(option(c, "low")), static_cast<float>(option(c, "high")));
  }
  if (c.name == "orthogonal") return nn::init::orthogonal(static_cast<float>(option(c, "gain")));
  ADD_FAILURE() << "unknown initializer " << c.name;
  return {};
}

TEST(InitReference, DrawsAreDistributedAsTorchsAre) {
  const auto cases = read_cases();
  ASSERT_GE(cases.size(), 9u);
  for (const InitCase& c : cases) {
    std::string trace = c.name;
    for (const auto& [k, v] : c.options) trace += " " + k + "=" + v;
    SCOPED_TRACE(trace);
    const Tensor w = Tensor::empty({c.rows, c.cols});
    axon::Generator generator(31);
    nn::initialize(w, initializer_of(c), /*fan_in=*/c.cols, /*fan_out=*/c.rows, generator);
    const std::vector<float> values = w.to_vector();
    const double n = static_cast<double>(values.size());
    double sum = 0, sum_squares = 0, low = values[0], high = values[0];
    for (const float v : values) {
      sum += v;
      low = std::min<double>(low, v);
      high = std::max<double>(high, v);
    }
    const double mean = sum / n;
    for (const float v : values) sum_squares += (v - mean) * (v - mean);
    const double stddev = std::sqrt(sum_squares / (n - 1));
    // Sampling error of a mean of 150000 values: 0.26% of a standard deviation; 5 of those.
    EXPECT_NEAR(mean, c.mean, 5.0 * c.stddev / std::sqrt(n)) << "mean";
    EXPECT_NEAR(stddev, c.stddev, 0.01 * c.stddev) << "standard deviation";
    if (c.name == "he_uniform") {  // uniform: the range reached is the bound
      EXPECT_NEAR(low, c.min, 0.005 * (c.max - c.min)) << "min";
      EXPECT_NEAR(high, c.max, 0.005 * (c.max - c.min)) << "max";
    }
    if (c.name == "trunc_normal") {  // inside the cut (a tail's extremes are too rare to compare)
      EXPECT_GE(low, static_cast<float>(option(c, "low")));
      EXPECT_LE(high, static_cast<float>(option(c, "high")));
    }
    if (c.name == "orthogonal") {  // the fewer of rows and columns orthonormal, times gain
      EXPECT_NEAR(c.singular_min, option(c, "gain"), 1e-9);  // (torch's, for the record)
      const bool by_rows = c.rows <= c.cols;
      const std::int64_t k = by_rows ? c.rows : c.cols, len = by_rows ? c.cols : c.rows;
      const double gain2 = option(c, "gain") * option(c, "gain");
      double worst = 0;
      for (std::int64_t i = 0; i < k; i += 7) {
        for (std::int64_t j = 0; j < k; j += 5) {
          double dot = 0;
          for (std::int64_t t = 0; t < len; ++t) {
            const auto at = [&](std::int64_t a, std::int64_t b) {
              return static_cast<double>(values[static_cast<std::size_t>(by_rows ? a * c.cols + b : b * c.cols + a)]);
            };
            dot += at(i, t) * at(j, t);
          }
          worst = std::max(worst, std::abs(dot - (i == j ? gain2 : 0.0)));
        }
      }
      EXPECT_LT(worst, 2e-6 * gain2) << "W W^T (or W^T W) is not gain^2 I";
    }
  }
}

TEST(InitReference, TruncNormalStaysInItsBoundsEvenFarInATail) {
  const Tensor w = Tensor::empty({20000});
  axon::Generator generator(5);
  nn::initialize(w, nn::init::trunc_normal(0.0f, 1.0f, 8.0f, 9.0f), 1, 1, generator);  // 8 sigma out
  double sum = 0;
  for (const float v : w.to_vector()) {
    ASSERT_GE(v, 8.0f);
    ASSERT_LE(v, 9.0f);
    sum += v;
  }
  // The mean of N(0,1) cut to [8, 9]: phi(8) / (Phi(9) - Phi(8)) ~ 8.1211 (the hazard at 8).
  EXPECT_NEAR(sum / 20000.0, 8.1211, 0.005);
  axon_test::expect_error<axon::ValueError>(
      [&] { nn::initialize(w, nn::init::trunc_normal(0.0f, 1.0f, 1.0f, 1.0f), 1, 1); }, {"trunc_normal", "low < high"});
  axon_test::expect_error<axon::ValueError>(
      [&] { nn::initialize(w, nn::init::trunc_normal(0.0f, 1.0f, 50.0f, 60.0f), 1, 1); }, {"holds no probability"});
  axon_test::expect_error<axon::ValueError>([&] { nn::initialize(w, nn::init::orthogonal(), 1, 1); },
                                            {"orthogonal", "2 or more dimensions"});
}

TEST(InitReference, TheSameSeedGivesTheSameWeightsAndSettingsRoundTrip) {
  for (const nn::Initializer& init :
       {nn::init::trunc_normal(0.1f, 0.5f, -0.3f, 0.9f), nn::init::orthogonal(0.5f),
        nn::init::he_uniform(1.0f, nn::FanMode::kFanOut)}) {
    SCOPED_TRACE(nn::initializer_name(init));
    nn::LayerConfig config;
    nn::set_initializer(config, "weight_init", init);
    const nn::Initializer back = nn::get_initializer(config, "weight_init");
    EXPECT_EQ(back.kind, init.kind);
    EXPECT_EQ(back.mode, init.mode);
    EXPECT_EQ(back.low, init.low);
    EXPECT_EQ(back.high, init.high);
    EXPECT_EQ(back.gain, init.gain);
    axon::Generator g1(9), g2(9);
    nn::Dense a(30, 20, nn::DenseOptions{.weight_init = init, .generator = &g1});
    nn::Dense b(30, 20, nn::DenseOptions{.weight_init = back, .generator = &g2});
    EXPECT_EQ(a.weight().value.to_vector(), b.weight().value.to_vector());
  }
  nn::LayerConfig bad;
  nn::set_initializer(bad, "weight_init", nn::init::he_normal());
  bad.set("weight_init_mode", "fan_avg");
  axon_test::expect_error<axon::ValueError>([&] { (void)nn::get_initializer(bad, "weight_init"); }, {"fan_avg"});
}

}  // namespace
