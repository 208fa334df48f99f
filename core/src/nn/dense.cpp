// Dense: y = f(x W^T + b). The forward and the backward, as the article tells it: multiply
// matrices, apply the non-linearity; then run the error backwards through both.
#include "axon/nn/dense.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "axon/error.h"
#include "axon/nn/layers.h"
#include "axon/nn/registry.h"
#include "axon/ops.h"

namespace axon::nn {

namespace {
// Sizes a model file may give: enough for any real layer, small enough that in * out fits.
constexpr std::int64_t kMaxFeatures = std::int64_t{1} << 31;

const bool kRegistered = [] {
  register_layer("Dense", [](const LayerConfig& c) { return Dense::from_config(c); },
                 [](const LayerConfig& c) {
                   const std::int64_t in = c.integer("in", 1, kMaxFeatures), out = c.integer("out", 1, kMaxFeatures);
                   return in * out + (c.boolean_or("bias", true) ? out : 0);
                 });
  return true;
}();

// x [..., features] as the matrix [rows, features].
Tensor as_matrix(const Tensor& x, std::int64_t features) { return x.reshape({x.numel() / features, features}); }
}  // namespace

Dense::Dense(std::int64_t in_features, std::int64_t out_features, DenseOptions options)
    : in_(in_features),
      out_(out_features),
      has_bias_(options.bias),
      activation_(options.activation),
      activation_params_(options.activation_params),
      run_activation_(options.activation),
      run_params_(options.activation_params),
      weight_init_(options.weight_init),
      bias_init_(options.bias_init) {
  if (in_ < 1 || out_ < 1) {
    throw ValueError("Dense: needs in_features >= 1 and out_features >= 1, got " + std::to_string(in_) + " -> " +
                     std::to_string(out_));
  }
  if (static_cast<int>(activation_) >= kActivationCount) {
    throw ValueError("Dense: activation " + std::to_string(static_cast<int>(activation_)) + " is not defined");
  }
  try {
    (void)resolve_activation_constants(activation_, activation_params_);
  } catch (const ValueError& e) {
    throw ValueError(std::string("Dense: ") + e.what());
  }
  weight_ = {"weight", Tensor::empty({out_, in_}, options.device), Tensor::zeros({out_, in_}, options.device)};
  if (has_bias_) bias_ = {"bias", Tensor::empty({out_}, options.device), Tensor::zeros({out_}, options.device)};
  reset_parameters(options.generator != nullptr ? *options.generator : default_generator());
}

Dense::Dense(std::int64_t in_features, std::int64_t out_features, Activation activation)
    : Dense(in_features, out_features, DenseOptions{.activation = activation}) {}

LayerConfig Dense::config() const {
  LayerConfig config;
  config.set("in", in_).set("out", out_).set("bias", has_bias_).set("activation", std::string(activation_name(activation_)));
  set_activation_params(config, activation_, activation_params_);
  set_initializer(config, "weight_init", weight_init_);
  set_initializer(config, "bias_init", bias_init_);
  return config;
}

std::unique_ptr<Dense> Dense::from_config(const LayerConfig& config) {
  DenseOptions options;
  options.bias = config.boolean_or("bias", true);
  options.activation = activation_named(config.text_or("activation", "identity"));
  options.activation_params = get_activation_params(config, options.activation);
  options.weight_init = get_initializer(config, "weight_init");
  options.bias_init = get_initializer(config, "bias_init");
  return std::make_unique<Dense>(config.integer("in", 1, kMaxFeatures), config.integer("out", 1, kMaxFeatures), options);
}

std::string Dense::settings() const {
  std::string text = std::to_string(in_) + " -> " + std::to_string(out_);
  if (!has_bias_) text += ", no bias";
  if (activation_ != Activation::kIdentity) text += ", " + std::string(activation_name(activation_));
  return text;
}

Shape Dense::output_shape(const Shape& input) const {
  if (input.rank() < 2 || input[input.rank() - 1] != in_) {
    throw ShapeError("Dense(" + settings() + "): input must be [batch, ..., " + std::to_string(in_) + "], got " +
                     input.str());
  }
  std::array<std::int64_t, Shape::kMaxRank> dims{};
  std::copy(input.dims().begin(), input.dims().end(), dims.begin());
  dims[static_cast<std::size_t>(input.rank() - 1)] = out_;
  return Shape(std::span<const std::int64_t>(dims.data(), static_cast<std::size_t>(input.rank())));
}

std::vector<Parameter*> Dense::parameters() {
  if (has_bias_) return {&weight_, &bias_};
  return {&weight_};
}

void Dense::reset_parameters(Generator& generator) {
  // nn.Linear draws the weight first, then the bias, both from fan_in = in_features.
  initialize(weight_.value, weight_init_, in_, out_, generator);
  if (has_bias_) initialize(bias_.value, bias_init_, in_, out_, generator);
}

bool Dense::fuse_activation(Activation activation, ActivationParams params) {
  if (activation_ != Activation::kIdentity) return false;
  run_activation_ = activation;
  run_params_ = params;
  return true;
}

void Dense::unfuse_activation() {
  run_activation_ = activation_;
  run_params_ = activation_params_;
}

void Dense::reserve(const Shape& input, Device device) {
  (void)output_shape(input);
  const std::int64_t rows = input.numel() / in_;  // rows of the matrix the input is
  if (rows > capacity_ || pre_.device() != device || !pre_.defined()) {
    // The buffer first, the capacity after: a failed allocation leaves both as they were.
    const std::int64_t capacity = std::max<std::int64_t>(rows, 1);
    pre_ = Tensor::empty({capacity, out_}, device);
    capacity_ = capacity;
  }
  if (!has_bias_ && (!zero_bias_.defined() || zero_bias_.device() != device || !scratch_bias_grad_.defined() ||
                     scratch_bias_grad_.device() != device)) {
    Tensor zeros = Tensor::zeros({out_}, device);
    scratch_bias_grad_ = Tensor::empty({out_}, device);
    zero_bias_ = std::move(zeros);
  }
}

void Dense::forward(const Tensor& x, const Tensor& y, const StepContext& context) {
  const Tensor& b = has_bias_ ? bias_.value : zero_bias_;
  // pre = x W^T + b, y = f(pre): one fused op (on CUDA the bias rides in the GEMM). pre is kept
  // only when the backward will need it: in training, for an activation other than identity.
  const bool keep_pre = context.training && run_activation_ != Activation::kIdentity;
  const Tensor x2 = as_matrix(x, in_);
  const Tensor pre = keep_pre ? pre_.rows(0, x2.dim(0)) : Tensor();
  linear_out(run_activation_, x2, weight_.value, b, pre, as_matrix(y, out_), run_params_);
}

void Dense::backward(const Tensor& x_in, const Tensor& y_in, const Tensor& grad_y_in, const Tensor& grad_x_in) {
  // As matrices [rows, features] whatever the rank.
  const Tensor x = as_matrix(x_in, in_), y = as_matrix(y_in, out_), grad_y = as_matrix(grad_y_in, out_);
  const Tensor grad_x = grad_x_in.defined() ? as_matrix(grad_x_in, in_) : Tensor();
  const std::int64_t rows = x.dim(0);
  Tensor& grad_b = has_bias_ ? bias_.grad : scratch_bias_grad_;
  // dL/dpre = dL/dy * f'(pre), written over grad_y; dL/db = its column sums.
  if (run_activation_ == Activation::kIdentity) {
    bias_grad_out(grad_y, grad_b);
  } else {
    activation_backward_bias_grad_out(run_activation_, pre_.rows(0, rows), y, grad_y, grad_y, grad_b, run_params_);
  }
  const Tensor& grad_pre = grad_y;
  // dL/dW = dL/dpre^T x   ([out, batch] @ [batch, in])
  gemm(grad_pre, x, weight_.grad, 1.0f, 0.0f, /*transpose_a=*/true, /*transpose_b=*/false);
  // dL/dx = dL/dpre W     ([batch, out] @ [out, in]), when the layer below wants it
  if (grad_x.defined()) gemm(grad_pre, weight_.value, grad_x);
}

}  // namespace axon::nn
