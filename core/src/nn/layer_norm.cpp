// LayerNorm: forward and backward are one op each; the rows' statistics are kept for the
// backward in two buffers sized by reserve().
#include "axon/nn/layer_norm.h"

#include <cmath>
#include <cstdio>
#include <string>

#include "axon/error.h"
#include "axon/nn/registry.h"
#include "axon/ops.h"

namespace axon::nn {

namespace {
constexpr std::int64_t kMaxValues = std::int64_t{1} << 24;

std::int64_t product_of(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (const std::int64_t d : shape) {
    if (d < 1 || d > kMaxValues || n * d > kMaxValues) return -1;
    n *= d;
  }
  return shape.empty() ? -1 : n;
}

const bool kRegistered = [] {
  register_layer(
      "LayerNorm",
      [](const LayerConfig& c) {
        return std::make_unique<LayerNorm>(c.integers("normalized_shape"),
                                           LayerNormOptions{.eps = c.number_or("eps", 1e-5),
                                                            .elementwise_affine = c.boolean_or("elementwise_affine", true),
                                                            .bias = c.boolean_or("bias", true)});
      },
      [](const LayerConfig& c) {
        const std::int64_t n = product_of(c.integers("normalized_shape"));
        if (n < 0) throw ValueError("layer setting 'normalized_shape' must be sizes >= 1 of at most 2^24 values");
        if (!c.boolean_or("elementwise_affine", true)) return std::int64_t{0};
        return c.boolean_or("bias", true) ? 2 * n : n;
      });
  return true;
}();

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}
}  // namespace

LayerNorm::LayerNorm(std::vector<std::int64_t> normalized_shape, LayerNormOptions options)
    : shape_(std::move(normalized_shape)), options_(options) {
  size_ = product_of(shape_);
  if (size_ < 0 || static_cast<int>(shape_.size()) >= Shape::kMaxRank) {
    throw ValueError("LayerNorm: normalized_shape must be 1 to 7 sizes >= 1 of at most 2^24 values, got " +
                     shape_text(shape_));
  }
  if (!(options.eps >= 0.0) || !std::isfinite(options.eps)) {
    throw ValueError("LayerNorm: eps must be finite and >= 0, got " + std::to_string(options.eps));
  }
  const Shape shape{std::span<const std::int64_t>(shape_)};
  if (options.elementwise_affine) {
    weight_ = {"weight", Tensor::empty(shape, options.device), Tensor::zeros(shape, options.device)};
    if (options.bias) bias_ = {"bias", Tensor::empty(shape, options.device), Tensor::zeros(shape, options.device)};
  }
  Generator unused(0);
  reset_parameters(unused);
}

LayerConfig LayerNorm::config() const {
  return LayerConfig()
      .set("normalized_shape", shape_)
      .set("eps", options_.eps)
      .set("elementwise_affine", options_.elementwise_affine)
      .set("bias", options_.bias);
}

std::string LayerNorm::settings() const {
  char eps[32];
  std::snprintf(eps, sizeof(eps), "%g", options_.eps);
  std::string text = shape_text(shape_) + ", eps=" + eps;
  if (!options_.elementwise_affine) text += ", no affine";
  else if (!options_.bias) text += ", no bias";
  return text;
}

Shape LayerNorm::output_shape(const Shape& input) const {
  const int n = static_cast<int>(shape_.size());
  bool fits = input.rank() > n;
  for (int i = 0; fits && i < n; ++i) fits = input[input.rank() - n + i] == shape_[static_cast<std::size_t>(i)];
  if (!fits) {
    throw ShapeError("LayerNorm(" + settings() + "): input must be [batch, ..., " +
                     shape_text(shape_).substr(1, shape_text(shape_).size() - 2) + "], got " + input.str());
  }
  return input;
}

std::vector<Parameter*> LayerNorm::parameters() {
  if (!options_.elementwise_affine) return {};
  if (!options_.bias) return {&weight_};
  return {&weight_, &bias_};
}

void LayerNorm::reset_parameters(Generator&) {
  if (!options_.elementwise_affine) return;
  fill(weight_.value, 1.0f);
  if (options_.bias) fill(bias_.value, 0.0f);
}

void LayerNorm::reserve(const Shape& input, Device device) {
  const std::int64_t rows = output_shape(input).numel() / size_;
  if (rows > capacity_ || !save_mean_.defined() || save_mean_.device() != device) {
    const std::int64_t capacity = std::max<std::int64_t>(rows, 1);
    Tensor mean = Tensor::empty({capacity}, device);
    save_invstd_ = Tensor::empty({capacity}, device);
    save_mean_ = std::move(mean);
    capacity_ = capacity;
  }
}

void LayerNorm::forward(const Tensor& x, const Tensor& y, const StepContext&) {
  const std::int64_t rows = x.numel() / size_;
  const bool affine = options_.elementwise_affine;
  layer_norm_out(x, size_, affine ? weight_.value : Tensor(), affine && options_.bias ? bias_.value : Tensor(), y,
                 save_mean_.rows(0, rows), save_invstd_.rows(0, rows), static_cast<float>(options_.eps));
}

void LayerNorm::backward(const Tensor& x, const Tensor&, const Tensor& grad_y, const Tensor& grad_x) {
  const std::int64_t rows = x.numel() / size_;
  const bool affine = options_.elementwise_affine;
  layer_norm_backward_out(x, size_, grad_y, affine ? weight_.value : Tensor(), save_mean_.rows(0, rows),
                          save_invstd_.rows(0, rows), grad_x, affine ? weight_.grad : Tensor(),
                          affine && options_.bias ? bias_.grad : Tensor());
}

}  // namespace axon::nn
