// Dense: y = f(x W^T + b). The forward and the backward, as the article tells it: multiply
// matrices, apply the non-linearity; then run the error backwards through both.
#include "axon/nn/dense.h"

#include "axon/error.h"
#include "axon/ops.h"

namespace axon::nn {

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
  weight_ = {"weight", Tensor::empty({out_, in_}, options.device), Tensor::zeros({out_, in_}, options.device)};
  if (has_bias_) bias_ = {"bias", Tensor::empty({out_}, options.device), Tensor::zeros({out_}, options.device)};
  reset_parameters(options.generator != nullptr ? *options.generator : default_generator());
}

Dense::Dense(std::int64_t in_features, std::int64_t out_features, Activation activation)
    : Dense(in_features, out_features, DenseOptions{.activation = activation}) {}

std::string Dense::settings() const {
  std::string text = std::to_string(in_) + " -> " + std::to_string(out_);
  if (!has_bias_) text += ", no bias";
  if (activation_ != Activation::kIdentity) text += ", " + std::string(activation_name(activation_));
  return text;
}

Shape Dense::output_shape(const Shape& input) const {
  if (input.rank() != 2 || input[1] != in_) {
    throw ShapeError("Dense(" + settings() + "): input must be [batch, " + std::to_string(in_) + "], got " +
                     input.str());
  }
  return Shape{input[0], out_};
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
  if (input[0] > capacity_ || pre_.device() != device || !pre_.defined()) {
    // The buffer first, the capacity after: a failed allocation leaves both as they were.
    const std::int64_t capacity = std::max<std::int64_t>(input[0], 1);
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
  const Tensor pre = keep_pre ? pre_.rows(0, x.dim(0)) : Tensor();
  linear_out(run_activation_, x, weight_.value, b, pre, y, run_params_);
}

void Dense::backward(const Tensor& x, const Tensor& y, const Tensor& grad_y, const Tensor& grad_x) {
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
