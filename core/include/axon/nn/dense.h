#pragma once
// Dense (fully connected): y = f(x W^T + b), x [batch, in], W [out, in] as PyTorch's nn.Linear
// stores it, b [out], f an optional fused activation (identity by default). As nn.Linear, it
// maps the last axis of an input of any rank: [batch, ..., in] -> [batch, ..., out].
#include <cstdint>

#include "axon/nn/init.h"
#include "axon/nn/layer.h"

namespace axon::nn {

struct DenseOptions {
  bool bias = true;
  Activation activation = Activation::kIdentity;  // fused into the layer's forward and backward
  ActivationParams activation_params = {};
  Initializer weight_init = init::linear_default();  // nn.Linear's, so a model starts as PyTorch's
  Initializer bias_init = init::linear_default();
  Device device = Device::cpu();
  Generator* generator = nullptr;  // default_generator() when null
};

class AXON_API Dense final : public Layer {
 public:
  Dense(std::int64_t in_features, std::int64_t out_features, DenseOptions options = {});
  Dense(std::int64_t in_features, std::int64_t out_features, Activation activation);

  // From its settings (config()): "in", "out", "bias", "activation", "alpha", initializers.
  static std::unique_ptr<Dense> from_config(const LayerConfig& config);

  std::string type() const override { return "Dense"; }
  LayerConfig config() const override;
  std::string settings() const override;
  std::optional<Shape> sample_input() const override { return Shape{in_}; }
  Shape output_shape(const Shape& input) const override;
  std::vector<Parameter*> parameters() override;
  void reset_parameters(Generator& generator) override;
  void reserve(const Shape& input, Device device) override;
  void forward(const Tensor& x, const Tensor& y, const StepContext& context) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& grad_y, const Tensor& grad_x) override;
  int index_span() const override { return activation_ == Activation::kIdentity ? 1 : 2; }

  std::int64_t in_features() const { return in_; }
  std::int64_t out_features() const { return out_; }
  bool has_bias() const { return has_bias_; }
  Activation activation() const { return activation_; }
  const Parameter& weight() const { return weight_; }
  const Parameter& bias() const { return bias_; }  // undefined value without a bias

  // For Sequential: runs a following activation layer inside this one (one pass instead of
  // two). Only while the layer has no activation of its own; returns whether it took it.
  bool fuse_activation(Activation activation, ActivationParams params);
  void unfuse_activation();

 private:
  std::int64_t in_;
  std::int64_t out_;
  bool has_bias_;
  Activation activation_;        // as constructed
  ActivationParams activation_params_;
  Activation run_activation_;    // what forward runs: activation_, or one fused by Sequential
  ActivationParams run_params_;
  Initializer weight_init_;
  Initializer bias_init_;
  Parameter weight_;  // [out, in]
  Parameter bias_;    // [out]
  // Buffers, for up to capacity_ rows: pre = x W^T + b (kept for the backward of f), the zero
  // bias and its unused gradient when the layer has none.
  std::int64_t capacity_ = 0;
  Tensor pre_;
  Tensor zero_bias_;
  Tensor scratch_bias_grad_;
};

}  // namespace axon::nn
