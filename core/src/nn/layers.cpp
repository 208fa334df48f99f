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
    if (kind == Activation::kGeluTanh) continue;  // a GELU with "approximate": "tanh"
    register_layer(ActivationLayer(kind).type(), [kind](const LayerConfig& c) {
      Activation chosen = kind;
      if (kind == Activation::kGelu) {
        const std::string approximate = c.text_or("approximate", "none");
        if (approximate != "none" && approximate != "tanh") {
          throw ValueError("layer setting 'approximate' must be \"none\" or \"tanh\", got \"" + approximate + "\"");
        }
        if (approximate == "tanh") chosen = Activation::kGeluTanh;
      }
      return std::make_unique<ActivationLayer>(chosen, get_activation_params(c, chosen));
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

void set_activation_params(LayerConfig& config, Activation kind, ActivationParams params) {
  const auto [alpha, beta] = activation_constant_names(kind);
  if (!alpha.empty() && !std::isnan(params.alpha)) config.set(std::string(alpha), params.alpha);
  if (!beta.empty() && !std::isnan(params.beta)) config.set(std::string(beta), params.beta);
}

ActivationParams get_activation_params(const LayerConfig& config, Activation kind) {
  const auto [alpha, beta] = activation_constant_names(kind);
  ActivationParams params;
  if (!alpha.empty()) params.alpha = static_cast<float>(config.number_or(alpha, std::nan("")));
  if (!beta.empty()) params.beta = static_cast<float>(config.number_or(beta, std::nan("")));
  (void)resolve_activation_constants(kind, params);  // ValueError naming the constant
  return params;
}

ActivationLayer::ActivationLayer(Activation kind, ActivationParams params) : kind_(kind), params_(params) {
  if (static_cast<int>(kind) >= kActivationCount) {
    throw ValueError("ActivationLayer: activation " + std::to_string(static_cast<int>(kind)) + " is not defined");
  }
  try {
    (void)resolve_activation_constants(kind, params);
  } catch (const ValueError& e) {
    throw ValueError(std::string("ActivationLayer: ") + e.what());
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
    case Activation::kRelu6: return "ReLU6";
    case Activation::kHardtanh: return "Hardtanh";
    case Activation::kHardswish: return "Hardswish";
    case Activation::kMish: return "Mish";
    case Activation::kLogSigmoid: return "LogSigmoid";
    case Activation::kGeluTanh: return "GELU";
  }
  return "Activation";
}

LayerConfig ActivationLayer::config() const {
  LayerConfig config;
  set_activation_params(config, kind_, params_);
  if (kind_ == Activation::kGeluTanh) config.set("approximate", "tanh");
  return config;
}

std::string ActivationLayer::settings() const {
  std::string text;
  const auto add = [&](std::string_view name, float value) {
    if (name.empty() || std::isnan(value)) return;
    char number[32];
    std::snprintf(number, sizeof(number), "%g", static_cast<double>(value));
    if (!text.empty()) text += ", ";
    text.append(name).append("=").append(number);
  };
  const auto [alpha, beta] = activation_constant_names(kind_);
  add(alpha, params_.alpha);
  add(beta, params_.beta);
  if (kind_ == Activation::kGeluTanh) text += text.empty() ? "approximate=tanh" : ", approximate=tanh";
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
