#pragma once
// Feature scaling: fitted on the training part only, then applied to any part, so that no
// statistic of the validation or test rows leaks into training.
#include <cstdint>
#include <vector>

#include "axon/export.h"
#include "axon/tensor.h"

namespace axon::data {

// Per-column x' = (x - offset) * scale, computed in double.
//   kMinMax:   offset = min, scale = 1 / (max - min): the training rows land in [0, 1].
//   kStandard: offset = mean, scale = 1 / std (population std, as scikit-learn's StandardScaler).
// A constant column gets scale 0, so it maps to 0 (no division by zero, no NaN).
class AXON_API Scaler {
 public:
  enum class Kind : std::uint8_t { kMinMax, kStandard };

  explicit Scaler(Kind kind = Kind::kStandard);  // ValueError for a kind out of range

  // Learns offset and scale from float32 [rows, cols] on any device. ValueError when it has no
  // rows or columns or holds a non-finite value; ShapeError unless rank 2; DTypeError unless
  // float32.
  void fit(const Tensor& features);
  // A new tensor on features' device. ValueError before fit; ShapeError when the column count
  // differs from the one fitted; DTypeError unless float32.
  Tensor transform(const Tensor& features) const;
  Tensor fit_transform(const Tensor& features);

  Kind kind() const { return kind_; }
  bool fitted() const { return !offset_.empty(); }
  const std::vector<double>& offset() const { return offset_; }  // one per column
  const std::vector<double>& scale() const { return scale_; }

 private:
  Kind kind_;
  std::vector<double> offset_;
  std::vector<double> scale_;
};

}  // namespace axon::data
