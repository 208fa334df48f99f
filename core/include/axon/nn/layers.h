#pragma once
// The layers without weights: one per activation, Dropout, Softmax, LogSoftmax, Flatten.
#include <cstdint>

#include "axon/nn/layer.h"

namespace axon::nn {

// An activation's constants in a layer's settings, under PyTorch's names
// (activation_constant_names: "alpha", "min_val"/"max_val", "beta"/"threshold"), those set only.
AXON_API void set_activation_params(LayerConfig& config, Activation kind, ActivationParams params);
// ... and read back (unset: NaN, the default). ValueError naming what does not fit.
AXON_API ActivationParams get_activation_params(const LayerConfig& config, Activation kind);

// y = f(x) elementwise. Inside a Sequential, an activation right after a Dense without one is
// fused into it (same results, one pass fewer).
class AXON_API ActivationLayer final : public Layer {
 public:
  // ValueError for constants the kind refuses (resolve_activation_constants).
  explicit ActivationLayer(Activation kind, ActivationParams params = {});
  // PyTorch's class name: "ReLU", "Sigmoid", "GELU" (both forms), "Hardtanh", ...
  std::string type() const override;
  LayerConfig config() const override;  // the constants set; "approximate": "tanh" for kGeluTanh
  std::string settings() const override;
  Shape output_shape(const Shape& input) const override { return input; }
  void forward(const Tensor& x, const Tensor& y, const StepContext& context) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& grad_y, const Tensor& grad_x) override;
  Activation kind() const { return kind_; }
  ActivationParams params() const { return params_; }

 private:
  Activation kind_;
  ActivationParams params_;
};

inline ActivationLayer Identity() { return ActivationLayer(Activation::kIdentity); }
inline ActivationLayer Sigmoid() { return ActivationLayer(Activation::kSigmoid); }
inline ActivationLayer Tanh() { return ActivationLayer(Activation::kTanh); }
inline ActivationLayer ReLU() { return ActivationLayer(Activation::kRelu); }
inline ActivationLayer LeakyReLU(float slope = 0.01f) { return ActivationLayer(Activation::kLeakyRelu, {slope}); }
inline ActivationLayer ELU(float alpha = 1.0f) { return ActivationLayer(Activation::kElu, {alpha}); }
inline ActivationLayer SELU() { return ActivationLayer(Activation::kSelu); }
inline ActivationLayer GELU() { return ActivationLayer(Activation::kGelu); }
inline ActivationLayer SiLU() { return ActivationLayer(Activation::kSilu); }
// GELU(true): the tanh approximation (torch's GELU(approximate='tanh')).
inline ActivationLayer GELU(bool tanh_approximation) {
  return ActivationLayer(tanh_approximation ? Activation::kGeluTanh : Activation::kGelu);
}
inline ActivationLayer Softplus(float beta = 1.0f, float threshold = 20.0f) {
  return ActivationLayer(Activation::kSoftplus, {beta, threshold});
}
inline ActivationLayer Softsign() { return ActivationLayer(Activation::kSoftsign); }
inline ActivationLayer Hardsigmoid() { return ActivationLayer(Activation::kHardSigmoid); }
inline ActivationLayer ReLU6() { return ActivationLayer(Activation::kRelu6); }
inline ActivationLayer Hardtanh(float min_val = -1.0f, float max_val = 1.0f) {
  return ActivationLayer(Activation::kHardtanh, {min_val, max_val});
}
inline ActivationLayer Hardswish() { return ActivationLayer(Activation::kHardswish); }
inline ActivationLayer Mish() { return ActivationLayer(Activation::kMish); }
inline ActivationLayer LogSigmoid() { return ActivationLayer(Activation::kLogSigmoid); }

// Inverted dropout: in training, each element is zeroed with probability p and the others are
// scaled by 1 / (1 - p); in evaluation, the identity. The mask comes from Philox through the
// context's generator, so the same seed drops the same elements on every backend.
class AXON_API Dropout final : public Layer {
 public:
  explicit Dropout(float p = 0.5f);  // 0 <= p < 1, else ValueError
  std::string type() const override { return "Dropout"; }
  LayerConfig config() const override;  // "p"
  std::string settings() const override;
  Shape output_shape(const Shape& input) const override { return input; }
  void reserve(const Shape& input, Device device) override;
  void forward(const Tensor& x, const Tensor& y, const StepContext& context) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& grad_y, const Tensor& grad_x) override;
  float p() const { return p_; }

 private:
  float p_;
  std::int64_t capacity_ = 0;  // elements
  Tensor mask_;                // 0 or 1 / (1 - p), per element of the last training forward
};

// Row-wise softmax / log-softmax over the last axis.
class AXON_API Softmax final : public Layer {
 public:
  std::string type() const override { return "Softmax"; }
  Shape output_shape(const Shape& input) const override;
  void forward(const Tensor& x, const Tensor& y, const StepContext& context) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& grad_y, const Tensor& grad_x) override;
};

class AXON_API LogSoftmax final : public Layer {
 public:
  std::string type() const override { return "LogSoftmax"; }
  Shape output_shape(const Shape& input) const override;
  void forward(const Tensor& x, const Tensor& y, const StepContext& context) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& grad_y, const Tensor& grad_x) override;
};

// [batch, d1, d2, ...] -> [batch, d1 * d2 * ...] (the values are copied in order).
class AXON_API Flatten final : public Layer {
 public:
  std::string type() const override { return "Flatten"; }
  Shape output_shape(const Shape& input) const override;
  void forward(const Tensor& x, const Tensor& y, const StepContext& context) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& grad_y, const Tensor& grad_x) override;
};

}  // namespace axon::nn
