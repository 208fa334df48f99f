// The layers without weights.
#include "axon/nn/layers.h"

#include <cmath>
#include <cstdio>

#include "axon/error.h"
#include "axon/nn/registry.h"
#include "axon/ops.h"

namespace axon::nn {

namespace {
// Every layer of this file in the registry: an activation layer per kind under its PyTorch name.
const bool kRegistered = [] {
  for (int k = 0; k < kActivationCount; ++k) {
    const auto kind = static_cast<Activation>(k);
    register_layer(ActivationLayer(kind).type(), [kind](const LayerConfig& c) {
      return std::make_unique<ActivationLayer>(kind, ActivationParams{static_cast<float>(c.number_or("alpha", std::nan("")))});
    });
  }
  register_layer("Dropout", [](const LayerConfig& c) {
    const double p = c.number("p");
    if (!(p >= 0.0 && p < 1.0)) throw ValueError("layer setting 'p' must be in [0, 1), got " + std::to_string(p));
    return std::make_unique<Dropout>(static_cast<float>(p));
  });
  register_layer("Softmax", [](const LayerConfig&) { return std::make_unique<Softmax>(); });
  register_layer("LogSoftmax", [](const LayerConfig&) { return std::make_unique<LogSoftmax>(); });
  register_layer("Flatten", [](const LayerConfig&) { return std::make_unique<Flatten>(); });
  return true;
}();
}  // namespace

// ---- activations ----

ActivationLayer::ActivationLayer(Activation kind, ActivationParams params) : kind_(kind), params_(params) {
  if (static_cast<int>(kind) >= kActivationCount) {
    throw ValueError("ActivationLayer: activation " + std::to_string(static_cast<int>(kind)) + " is not defined");
  }
  if (!std::isnan(params.alpha) && !std::isfinite(params.alpha)) {
    throw ValueError("ActivationLayer: alpha must be finite (or NaN for the default)");
  }
}

std::string ActivationLayer::type() const {
  switch (kind_) {
    case Activation::kIdentity: return "Identity";
    case Activation::kSigmoid: return "Sigmoid";
    case Activation::kTanh: return "Tanh";
    case Activation::kRelu: return "ReLU";
    case Activation::kLeakyRelu: return "LeakyReLU";
    case Activation::kElu: return "ELU";
    case Activation::kSelu: return "SELU";
    case Activation::kGelu: return "GELU";
    case Activation::kSilu: return "SiLU";
    case Activation::kSoftplus: return "Softplus";
    case Activation::kSoftsign: return "Softsign";
    case Activation::kHardSigmoid: return "Hardsigmoid";
  }
  return "Activation";
}

LayerConfig ActivationLayer::config() const {
  LayerConfig config;
  if (!std::isnan(params_.alpha)) config.set("alpha", params_.alpha);
  return config;
}

std::string ActivationLayer::settings() const {
  if (std::isnan(params_.alpha)) return {};
  char text[32];
  std::snprintf(text, sizeof(text), "alpha=%g", static_cast<double>(params_.alpha));
  return text;
}

void ActivationLayer::forward(const Tensor& x, const Tensor& y, const StepContext&) {
  activation_out(kind_, x, y, params_);
}

void ActivationLayer::backward(const Tensor& x, const Tensor& y, const Tensor& grad_y, const Tensor& grad_x) {
  if (grad_x.defined()) activation_backward_out(kind_, x, y, grad_y, grad_x, params_);
}

// ---- dropout ----

Dropout::Dropout(float p) : p_(p) {
  if (!(p >= 0.0f && p < 1.0f)) throw ValueError("Dropout: p must be in [0, 1), got " + std::to_string(p));
}

LayerConfig Dropout::config() const { return LayerConfig().set("p", p_); }

std::string Dropout::settings() const {
  char text[32];
  std::snprintf(text, sizeof(text), "p=%g", static_cast<double>(p_));
  return text;
}

void Dropout::reserve(const Shape& input, Device device) {
  const std::int64_t n = input.numel();
  if (n > capacity_ || !mask_.defined() || mask_.device() != device) {
    // The buffer first, the capacity after: a failed allocation leaves both as they were.
    const std::int64_t capacity = std::max<std::int64_t>(n, 1);
    mask_ = Tensor::empty({capacity}, device);
    capacity_ = capacity;
  }
}

void Dropout::forward(const Tensor& x, const Tensor& y, const StepContext& context) {
  if (!context.training || p_ == 0.0f) {  // evaluation: the identity
    if (!y.same_memory(x)) y.copy_from(x);
    return;
  }
  Generator& generator = context.generator != nullptr ? *context.generator : default_generator();
  dropout_out(x, p_, y, mask_.rows(0, x.numel()).reshape(x.shape()), generator);
}

void Dropout::backward(const Tensor& x, const Tensor&, const Tensor& grad_y, const Tensor& grad_x) {
  if (!grad_x.defined()) return;
  if (p_ == 0.0f) {
    grad_x.copy_from(grad_y);
    return;
  }
  binary_out(BinaryOp::kMul, grad_y, mask_.rows(0, x.numel()).reshape(x.shape()), grad_x);
}

// ---- softmax ----

namespace {
Shape at_least_1d(const char* layer, const Shape& input) {
  if (input.rank() < 1) throw ShapeError(std::string(layer) + ": needs an input of rank >= 1, got " + input.str());
  return input;
}
}  // namespace

Shape Softmax::output_shape(const Shape& input) const { return at_least_1d("Softmax", input); }

void Softmax::forward(const Tensor& x, const Tensor& y, const StepContext&) { softmax_out(x, y); }

void Softmax::backward(const Tensor&, const Tensor& y, const Tensor& grad_y, const Tensor& grad_x) {
  if (grad_x.defined()) softmax_backward_out(y, grad_y, grad_x);
}

Shape LogSoftmax::output_shape(const Shape& input) const { return at_least_1d("LogSoftmax", input); }

void LogSoftmax::forward(const Tensor& x, const Tensor& y, const StepContext&) { log_softmax_out(x, y); }

void LogSoftmax::backward(const Tensor&, const Tensor& y, const Tensor& grad_y, const Tensor& grad_x) {
  if (grad_x.defined()) log_softmax_backward_out(y, grad_y, grad_x);
}

// ---- flatten ----

Shape Flatten::output_shape(const Shape& input) const {
  if (input.rank() < 1) throw ShapeError("Flatten: needs an input with a batch axis, got " + input.str());
  std::int64_t features = 1;
  for (int axis = 1; axis < input.rank(); ++axis) features *= input[axis];
  return Shape{input[0], features};
}

void Flatten::forward(const Tensor& x, const Tensor& y, const StepContext&) {
  y.copy_from(x.reshape(y.shape()));
}

void Flatten::backward(const Tensor& x, const Tensor&, const Tensor& grad_y, const Tensor& grad_x) {
  if (grad_x.defined()) grad_x.copy_from(grad_y.reshape(x.shape()));
}

}  // namespace axon::nn
