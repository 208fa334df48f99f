#pragma once
// LayerNorm as torch.nn.LayerNorm: each sample normalised over its last axes (normalized_shape)
// by its own mean and biased variance, then weight (ones) and bias (zeros) of normalized_shape
// when elementwise_affine. The same in training and evaluation; PyTorch's names and shapes.
#include <cstdint>
#include <vector>

#include "axon/nn/layer.h"

namespace axon::nn {

struct LayerNormOptions {
  double eps = 1e-5;
  bool elementwise_affine = true;
  bool bias = true;  // with elementwise_affine (torch's bias=)
  Device device = Device::cpu();
};

class AXON_API LayerNorm final : public Layer {
 public:
  // ValueError for an empty shape, sizes below 1, more than 2^24 values, a negative eps.
  explicit LayerNorm(std::vector<std::int64_t> normalized_shape, LayerNormOptions options = {});
  explicit LayerNorm(std::int64_t normalized_size, LayerNormOptions options = {})
      : LayerNorm(std::vector<std::int64_t>{normalized_size}, options) {}

  std::string type() const override { return "LayerNorm"; }
  LayerConfig config() const override;  // "normalized_shape", "eps", "elementwise_affine", "bias"
  std::string settings() const override;
  Shape output_shape(const Shape& input) const override;  // the input's; its last axes must be the shape
  std::vector<Parameter*> parameters() override;
  void reset_parameters(Generator& generator) override;  // weight 1, bias 0
  void reserve(const Shape& input, Device device) override;
  void forward(const Tensor& x, const Tensor& y, const StepContext& context) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& grad_y, const Tensor& grad_x) override;

 private:
  std::vector<std::int64_t> shape_;
  std::int64_t size_ = 1;
  LayerNormOptions options_;
  Parameter weight_, bias_;
  std::int64_t capacity_ = 0;     // rows of the statistics' buffers
  Tensor save_mean_, save_invstd_;  // per row of the last forward
};

}  // namespace axon::nn
