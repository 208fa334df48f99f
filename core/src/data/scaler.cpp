#include "axon/data/scaler.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>
#include <string>

#include "axon/error.h"

namespace axon::data {
namespace {

// A defined float32 matrix; returns its host values (features are small next to a network's
// work, and statistics in double on the host are exact and the same on every device).
std::vector<float> checked_values(const char* what, const Tensor& features) {
  const std::string where = std::string("axon::data::Scaler::") + what + ": ";
  if (!features.defined()) throw ValueError(where + "the features tensor is undefined");
  if (features.dtype() != DType::kFloat32) {
    throw DTypeError(where + "needs float32 features, got " + features.describe());
  }
  if (features.rank() != 2) {
    throw ShapeError(where + "needs features of rank 2 [rows, cols], got " + features.describe());
  }
  return features.to_vector();
}

// 1 / spread, or 0 for a constant column: every value then maps to 0.
double inverse_or_zero(double spread) { return spread > 0.0 ? 1.0 / spread : 0.0; }

}  // namespace

Scaler::Scaler(Kind kind) : kind_(kind) {
  if (kind != Kind::kMinMax && kind != Kind::kStandard) {
    throw ValueError("axon::data::Scaler: unknown kind " + std::to_string(static_cast<int>(kind)));
  }
}

void Scaler::fit(const Tensor& features) {
  const std::vector<float> values = checked_values("fit", features);
  const auto rows = static_cast<std::size_t>(features.dim(0));
  const auto cols = static_cast<std::size_t>(features.dim(1));
  if (rows == 0 || cols == 0) throw ValueError("axon::data::Scaler::fit: no data to fit in " + features.describe());
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      throw ValueError("axon::data::Scaler::fit: value " + std::to_string(values[i]) + " at row " +
                       std::to_string(i / cols) + " column " + std::to_string(i % cols) + " is not finite");
    }
  }
  std::vector<double> offset(cols), scale(cols);
  for (std::size_t c = 0; c < cols; ++c) {
    const auto at = [&](std::size_t r) { return static_cast<double>(values[r * cols + c]); };
    if (kind_ == Kind::kMinMax) {
      double low = at(0), high = at(0);
      for (std::size_t r = 1; r < rows; ++r) {
        low = std::min(low, at(r));
        high = std::max(high, at(r));
      }
      offset[c] = low;
      scale[c] = inverse_or_zero(high - low);
    } else {
      // Two passes: the mean first, then squared deviations from it (no cancellation).
      double sum = 0.0;
      for (std::size_t r = 0; r < rows; ++r) sum += at(r);
      const double mean = sum / static_cast<double>(rows);
      double squares = 0.0;
      for (std::size_t r = 0; r < rows; ++r) squares += (at(r) - mean) * (at(r) - mean);
      offset[c] = mean;
      scale[c] = inverse_or_zero(std::sqrt(squares / static_cast<double>(rows)));
    }
  }
  offset_ = std::move(offset);  // only now: a fit that throws leaves the scaler as it was
  scale_ = std::move(scale);
}

Tensor Scaler::transform(const Tensor& features) const {
  if (!fitted()) throw ValueError("axon::data::Scaler::transform: call fit first");
  std::vector<float> values = checked_values("transform", features);
  const auto cols = static_cast<std::size_t>(features.dim(1));
  if (cols != offset_.size()) {
    throw ShapeError("axon::data::Scaler::transform: fitted on " + std::to_string(offset_.size()) +
                     " columns, got features " + features.describe());
  }
  for (std::size_t i = 0; i < values.size(); ++i) {
    const std::size_t c = i % cols;
    values[i] = static_cast<float>((static_cast<double>(values[i]) - offset_[c]) * scale_[c]);
  }
  return Tensor::from_vector(features.shape(), std::span<const float>(values), features.device());
}

Tensor Scaler::fit_transform(const Tensor& features) {
  fit(features);
  return transform(features);
}

}  // namespace axon::data
