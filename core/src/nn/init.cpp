#include "axon/nn/init.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "axon/error.h"
#include "axon/nn/layer_config.h"
#include "axon/ops.h"

namespace axon::nn {

namespace {
float inverse_sqrt(std::int64_t fan, const char* what) {
  if (fan < 1) throw ValueError(std::string("nn::initialize: ") + what + " needs fan >= 1, got " + std::to_string(fan));
  return static_cast<float>(1.0 / std::sqrt(static_cast<double>(fan)));
}

// The standard normal's CDF and its lower tail from the upper one, both via erfc (accurate in
// the tails, where 1 + erf would cancel).
double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::numbers::sqrt2); }

// The standard normal's quantile for p in (0, 1): Acklam's rational approximation (relative
// error 1.2e-9), then one Halley step on the CDF, which brings it to double precision.
double normal_quantile(double p) {
  constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                          1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                          6.680131188771972e+01,  -1.328068155288572e+01};
  constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                          -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                          3.754408661907416e+00};
  constexpr double kLow = 0.02425;
  double x = 0.0;
  if (p < kLow) {
    const double q = std::sqrt(-2.0 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
  } else if (p <= 1.0 - kLow) {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
  } else {
    const double q = std::sqrt(-2.0 * std::log1p(-p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
  }
  const double e = normal_cdf(x) - p;
  const double u = e * std::sqrt(2.0 * std::numbers::pi) * std::exp(0.5 * x * x);
  return x - u / (1.0 + 0.5 * x * u);
}

// trunc_normal by the inverse CDF: one uniform number per value. Bounds both above the mean
// are mirrored below it, where the CDF's values are small and exact.
void fill_trunc_normal(const Tensor& tensor, const Initializer& init, Generator& generator) {
  const double mean = init.a, stddev = init.b;
  if (!(stddev > 0.0) || !(init.low < init.high) || !std::isfinite(stddev) || !std::isfinite(mean)) {
    throw ValueError("nn::initialize: trunc_normal needs a finite stddev > 0 and low < high, got stddev " +
                     std::to_string(init.b) + ", [" + std::to_string(init.low) + ", " + std::to_string(init.high) + "]");
  }
  double alpha = (init.low - mean) / stddev, beta = (init.high - mean) / stddev;
  const bool mirrored = alpha > 0.0;
  if (mirrored) {  // draw from [-beta, -alpha] and negate
    const double mirrored_low = -beta, mirrored_high = -alpha;
    alpha = mirrored_low;
    beta = mirrored_high;
  }
  const double from = normal_cdf(alpha), to = normal_cdf(beta);
  if (!(to > from)) {
    throw ValueError("nn::initialize: trunc_normal's [" + std::to_string(init.low) + ", " + std::to_string(init.high) +
                     "] holds no probability in double precision (" + std::to_string(std::min(alpha, beta)) +
                     " standard deviations out)");
  }
  const Tensor uniform = Tensor::empty(tensor.shape());
  fill_uniform(uniform, 0.0f, 1.0f, generator);
  std::vector<float> values = uniform.to_vector();
  for (float& v : values) {
    const double p = from + static_cast<double>(v) * (to - from);
    double z = p <= 0.0 ? alpha : (p >= 1.0 ? beta : normal_quantile(p));
    z = std::clamp(z, alpha, beta);
    if (mirrored) z = -z;
    v = static_cast<float>(std::clamp(mean + stddev * z, static_cast<double>(init.low), static_cast<double>(init.high)));
  }
  tensor.copy_from(Tensor::from_vector(tensor.shape(), std::span<const float>(values)));
}

// orthogonal: Q of the thin QR (Householder, in double) of a normal [m, n] matrix, m >= n
// (the transpose when the weight is wider than tall), its columns' signs those of R's
// diagonal, as torch does: the Q whose R has a positive diagonal, unique for a full-rank draw.
void fill_orthogonal(const Tensor& tensor, float gain, Generator& generator) {
  if (tensor.rank() < 2) {
    throw ValueError("nn::initialize: orthogonal needs a tensor of 2 or more dimensions, got " + tensor.describe());
  }
  const std::int64_t rows = tensor.dim(0), cols = tensor.numel() / std::max<std::int64_t>(rows, 1);
  if (rows == 0 || cols == 0) return;
  const Tensor draw = Tensor::empty({rows, cols});
  fill_normal(draw, 0.0f, 1.0f, generator);
  const std::vector<float> drawn = draw.to_vector();
  const bool transposed = rows < cols;
  const auto m = static_cast<std::size_t>(transposed ? cols : rows), n = static_cast<std::size_t>(transposed ? rows : cols);
  std::vector<double> a(m * n);  // column-major: a[i + j * m]
  for (std::size_t r = 0; r < static_cast<std::size_t>(rows); ++r) {
    for (std::size_t c = 0; c < static_cast<std::size_t>(cols); ++c) {
      const double v = drawn[r * static_cast<std::size_t>(cols) + c];
      if (transposed) a[c + r * m] = v; else a[r + c * m] = v;
    }
  }
  std::vector<double> reflectors(m * n, 0.0), diagonal(n, 0.0);
  for (std::size_t k = 0; k < n; ++k) {
    double norm = 0.0;
    for (std::size_t i = k; i < m; ++i) norm += a[i + k * m] * a[i + k * m];
    norm = std::sqrt(norm);
    const double alpha = a[k + k * m] > 0.0 ? -norm : norm;
    double* v = &reflectors[k * m];
    for (std::size_t i = k; i < m; ++i) v[i] = a[i + k * m];
    v[k] -= alpha;
    double v_norm = 0.0;
    for (std::size_t i = k; i < m; ++i) v_norm += v[i] * v[i];
    v_norm = std::sqrt(v_norm);
    diagonal[k] = alpha;
    if (v_norm == 0.0) continue;  // the column is already zero below the diagonal
    for (std::size_t i = k; i < m; ++i) v[i] /= v_norm;
    for (std::size_t j = k; j < n; ++j) {  // A[k:, k:] -= 2 v (v^T A[k:, k:])
      double dot = 0.0;
      for (std::size_t i = k; i < m; ++i) dot += v[i] * a[i + j * m];
      for (std::size_t i = k; i < m; ++i) a[i + j * m] -= 2.0 * dot * v[i];
    }
  }
  std::vector<double> q(m * n, 0.0);  // the first n columns of the identity, reflected back
  for (std::size_t j = 0; j < n; ++j) q[j + j * m] = 1.0;
  for (std::size_t k = n; k-- > 0;) {
    const double* v = &reflectors[k * m];
    for (std::size_t j = 0; j < n; ++j) {
      double dot = 0.0;
      for (std::size_t i = k; i < m; ++i) dot += v[i] * q[i + j * m];
      for (std::size_t i = k; i < m; ++i) q[i + j * m] -= 2.0 * dot * v[i];
    }
  }
  std::vector<float> values(static_cast<std::size_t>(rows * cols));
  for (std::size_t r = 0; r < static_cast<std::size_t>(rows); ++r) {
    for (std::size_t c = 0; c < static_cast<std::size_t>(cols); ++c) {
      const std::size_t i = transposed ? c : r, j = transposed ? r : c;
      const double sign = diagonal[j] < 0.0 ? -1.0 : 1.0;
      values[r * static_cast<std::size_t>(cols) + c] = static_cast<float>(gain * sign * q[i + j * m]);
    }
  }
  tensor.copy_from(Tensor::from_vector(tensor.shape(), std::span<const float>(values)));
}
}  // namespace

void initialize(const Tensor& tensor, const Initializer& init, std::int64_t fan_in, std::int64_t fan_out,
                Generator& generator) {
  switch (init.kind) {
    case InitKind::kLinearDefault: {
      const float bound = inverse_sqrt(fan_in, "linear_default");
      fill_uniform(tensor, -bound, bound, generator);
      return;
    }
    case InitKind::kZeros: fill(tensor, 0.0f); return;
    case InitKind::kConstant: fill(tensor, init.a); return;
    case InitKind::kUniform: fill_uniform(tensor, init.a, init.b, generator); return;
    case InitKind::kNormal: fill_normal(tensor, init.a, init.b, generator); return;
    case InitKind::kGlorotUniform: {
      const float bound = init.gain * std::sqrt(6.0f / static_cast<float>(fan_in + fan_out));
      fill_uniform(tensor, -bound, bound, generator);
      return;
    }
    case InitKind::kGlorotNormal:
      fill_normal(tensor, 0.0f, init.gain * std::sqrt(2.0f / static_cast<float>(fan_in + fan_out)), generator);
      return;
    case InitKind::kHeUniform: {
      const std::int64_t fan = init.mode == FanMode::kFanOut ? fan_out : fan_in;
      const float bound = init.gain * std::sqrt(3.0f) * inverse_sqrt(fan, "he_uniform");
      fill_uniform(tensor, -bound, bound, generator);
      return;
    }
    case InitKind::kHeNormal: {
      const std::int64_t fan = init.mode == FanMode::kFanOut ? fan_out : fan_in;
      fill_normal(tensor, 0.0f, init.gain * inverse_sqrt(fan, "he_normal"), generator);
      return;
    }
    case InitKind::kLecunUniform: {
      const float bound = std::sqrt(3.0f) * inverse_sqrt(fan_in, "lecun_uniform");
      fill_uniform(tensor, -bound, bound, generator);
      return;
    }
    case InitKind::kLecunNormal: fill_normal(tensor, 0.0f, inverse_sqrt(fan_in, "lecun_normal"), generator); return;
    case InitKind::kTruncNormal: fill_trunc_normal(tensor, init, generator); return;
    case InitKind::kOrthogonal: fill_orthogonal(tensor, init.gain, generator); return;
  }
  throw ValueError("nn::initialize: initializer kind " + std::to_string(static_cast<int>(init.kind)) +
                   " is not one of the defined kinds");
}

std::string initializer_name(const Initializer& init) {
  switch (init.kind) {
    case InitKind::kLinearDefault: return "linear_default";
    case InitKind::kZeros: return "zeros";
    case InitKind::kConstant: return "constant";
    case InitKind::kUniform: return "uniform";
    case InitKind::kNormal: return "normal";
    case InitKind::kGlorotUniform: return "glorot_uniform";
    case InitKind::kGlorotNormal: return "glorot_normal";
    case InitKind::kHeUniform: return "he_uniform";
    case InitKind::kHeNormal: return "he_normal";
    case InitKind::kLecunUniform: return "lecun_uniform";
    case InitKind::kLecunNormal: return "lecun_normal";
    case InitKind::kTruncNormal: return "trunc_normal";
    case InitKind::kOrthogonal: return "orthogonal";
  }
  return "unknown";
}

void set_initializer(LayerConfig& config, const std::string& key, const Initializer& initializer) {
  if (initializer.kind == InitKind::kLinearDefault) return;
  config.set(key, initializer_name(initializer));
  config.set(key + "_a", initializer.a).set(key + "_b", initializer.b).set(key + "_gain", initializer.gain);
  if (initializer.mode == FanMode::kFanOut) config.set(key + "_mode", "fan_out");
  if (initializer.kind == InitKind::kTruncNormal) config.set(key + "_low", initializer.low).set(key + "_high", initializer.high);
}

Initializer get_initializer(const LayerConfig& config, const std::string& key) {
  if (!config.has(key)) return init::linear_default();
  const std::string& name = config.text(key);
  for (int k = 0; k <= static_cast<int>(InitKind::kOrthogonal); ++k) {
    Initializer initializer{static_cast<InitKind>(k)};
    if (initializer_name(initializer) != name) continue;
    initializer.a = static_cast<float>(config.number_or(key + "_a", 0.0));
    initializer.b = static_cast<float>(config.number_or(key + "_b", 0.0));
    initializer.gain = static_cast<float>(config.number_or(key + "_gain", 1.0));
    initializer.low = static_cast<float>(config.number_or(key + "_low", -2.0));
    initializer.high = static_cast<float>(config.number_or(key + "_high", 2.0));
    if (!std::isfinite(initializer.a) || !std::isfinite(initializer.b) || !std::isfinite(initializer.gain) ||
        !std::isfinite(initializer.low) || !std::isfinite(initializer.high)) {
      throw ValueError("layer setting '" + key + "': the initializer's numbers must be finite");
    }
    const std::string mode = config.text_or(key + "_mode", "fan_in");
    if (mode != "fan_in" && mode != "fan_out") {
      throw ValueError("layer setting '" + key + "_mode' must be \"fan_in\" or \"fan_out\", got \"" + mode + "\"");
    }
    initializer.mode = mode == "fan_out" ? FanMode::kFanOut : FanMode::kFanIn;
    return initializer;
  }
  throw ValueError("layer setting '" + key + "': unknown initializer '" + name + "'");
}

}  // namespace axon::nn
