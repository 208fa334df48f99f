#pragma once
// BatchNorm1d / BatchNorm2d as torch.nn's: per channel (axis 1), normalise by the batch's mean
// and (biased) variance in training, by the running statistics in evaluation; weight (ones) and
// bias (zeros) when affine; buffers running_mean (zeros), running_var (ones) and
// num_batches_tracked, updated in every training forward with `momentum` (or, momentum unset,
// as a cumulative average: 1 / num_batches_tracked). PyTorch's names and shapes, so state_dicts
// move both ways (num_batches_tracked is int32 here, int64 in torch: loading converts).
#include <cstdint>
#include <optional>

#include "axon/nn/layer.h"

namespace axon::nn {

struct BatchNormOptions {
  double eps = 1e-5;
  std::optional<double> momentum = 0.1;  // unset: the cumulative average
  bool affine = true;
  bool track_running_stats = true;  // false: batch statistics in evaluation too, no buffers
  Device device = Device::cpu();
};

class AXON_API BatchNorm final : public Layer {
 public:
  // spatial_dims 1 (BatchNorm1d: [N, C] or [N, C, L]) or 2 (BatchNorm2d: [N, C, H, W]).
  // ValueError for num_features < 1, a negative eps, a momentum outside [0, 1].
  BatchNorm(int spatial_dims, std::int64_t num_features, BatchNormOptions options = {});

  std::string type() const override { return dims_ == 1 ? "BatchNorm1d" : "BatchNorm2d"; }
  // "num_features", "eps", "momentum" (absent: the cumulative average), "affine",
  // "track_running_stats": torch's argument names.
  LayerConfig config() const override;
  std::string settings() const override;
  Shape output_shape(const Shape& input) const override;
  std::vector<Parameter*> parameters() override;
  std::vector<Buffer*> buffers() override;
  void reset_parameters(Generator& generator) override;  // weight 1, bias 0, running statistics reset
  void on_buffers_loaded() override;
  void reserve(const Shape& input, Device device) override;
  void forward(const Tensor& x, const Tensor& y, const StepContext& context) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& grad_y, const Tensor& grad_x) override;

  std::int64_t num_features() const { return features_; }
  const Parameter& weight() const { return weight_; }
  const Parameter& bias() const { return bias_; }
  const Buffer& running_mean() const { return running_mean_; }
  const Buffer& running_var() const { return running_var_; }
  std::int64_t num_batches_tracked() const { return tracked_; }

 private:
  int dims_;
  std::int64_t features_;
  BatchNormOptions options_;
  Parameter weight_, bias_;
  Buffer running_mean_, running_var_, batches_;  // batches_: num_batches_tracked, int32 []
  std::int64_t tracked_ = 0;                     // batches_'s value, kept on the host
  Tensor save_mean_, save_invstd_;               // the last training forward's statistics [C]
};

inline BatchNorm BatchNorm1d(std::int64_t num_features, BatchNormOptions options = {}) {
  return BatchNorm(1, num_features, options);
}
inline BatchNorm BatchNorm2d(std::int64_t num_features, BatchNormOptions options = {}) {
  return BatchNorm(2, num_features, options);
}

}  // namespace axon::nn
