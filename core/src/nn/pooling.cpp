// The pooling layers: each forward and backward is one pooling op.
#include "axon/nn/pooling.h"

#include <string>

#include "axon/error.h"
#include "axon/nn/registry.h"
#include "axon/ops.h"

namespace axon::nn {

namespace {
constexpr std::int64_t kMaxKernel = std::int64_t{1} << 10;
constexpr std::int64_t kMaxStep = std::int64_t{1} << 24;

std::vector<std::int64_t> list(std::int64_t a, std::int64_t b) { return {a, b}; }

std::string pair_text(std::int64_t a, std::int64_t b) { return "(" + std::to_string(a) + ", " + std::to_string(b) + ")"; }

// The settings every pooling layer checks when built, naming the layer.
void check_settings(const std::string& layer, const Pool2dOptions& o) {
  const auto bad = [&](const std::string& what) { throw ValueError(layer + ": " + what); };
  if (o.kernel_h < 1 || o.kernel_w < 1 || o.kernel_h > kMaxKernel || o.kernel_w > kMaxKernel) {
    bad("kernel sizes must be in [1, 1024], got " + pair_text(o.kernel_h, o.kernel_w));
  }
  for (const std::int64_t v : {o.stride_h, o.stride_w, o.dilation_h, o.dilation_w}) {
    if (v < 1 || v > kMaxStep) bad("strides and dilations must be in [1, 2^24]");
  }
  if (o.pad_h < 0 || o.pad_w < 0 || o.pad_h > o.kernel_h / 2 || o.pad_w > o.kernel_w / 2) {
    bad("padding must be in [0, kernel / 2] (as torch), got " + pair_text(o.pad_h, o.pad_w));
  }
}

Pool2dOptions pool_options(std::array<std::int64_t, 2> kernel, std::array<std::int64_t, 2> stride,
                           std::array<std::int64_t, 2> padding) {
  Pool2dOptions o;
  o.kernel_h = kernel[0];
  o.kernel_w = kernel[1];
  o.stride_h = stride[0] == 0 ? kernel[0] : stride[0];
  o.stride_w = stride[1] == 0 ? kernel[1] : stride[1];
  o.pad_h = padding[0];
  o.pad_w = padding[1];
  return o;
}

const bool kRegistered = [] {
  register_layer("MaxPool2d", [](const LayerConfig& c) {
    const auto kernel = c.integer_pair("kernel_size", {0, 0}, 1, kMaxKernel);
    if (kernel[0] == 0) throw ValueError("layer setting 'kernel_size' is missing");
    return std::make_unique<MaxPool2d>(kernel, MaxPoolOptions{.stride = c.integer_pair("stride", kernel, 1, kMaxStep),
                                                              .padding = c.integer_pair("padding", {0, 0}, 0, kMaxStep),
                                                              .dilation = c.integer_pair("dilation", {1, 1}, 1, kMaxStep),
                                                              .ceil_mode = c.boolean_or("ceil_mode", false)});
  });
  register_layer("AvgPool2d", [](const LayerConfig& c) {
    const auto kernel = c.integer_pair("kernel_size", {0, 0}, 1, kMaxKernel);
    if (kernel[0] == 0) throw ValueError("layer setting 'kernel_size' is missing");
    return std::make_unique<AvgPool2d>(
        kernel, AvgPoolOptions{.stride = c.integer_pair("stride", kernel, 1, kMaxStep),
                               .padding = c.integer_pair("padding", {0, 0}, 0, kMaxStep),
                               .ceil_mode = c.boolean_or("ceil_mode", false),
                               .count_include_pad = c.boolean_or("count_include_pad", true)});
  });
  register_layer("AdaptiveAvgPool2d", [](const LayerConfig& c) {
    return std::make_unique<AdaptiveAvgPool2d>(c.integer_pair("output_size", {1, 1}, 1, kMaxStep));
  });
  return true;
}();

// The layer's name and settings before a ShapeError from the ops.
template <class Compute>
Shape named_shape(const std::string& layer, const Shape& input, const Compute& compute) {
  try {
    return compute();
  } catch (const ShapeError& e) {
    throw ShapeError(layer + ": input " + input.str() + " does not fit: " + e.what());
  }
}
}  // namespace

// ---- MaxPool2d ----

MaxPool2d::MaxPool2d(std::array<std::int64_t, 2> kernel_size, MaxPoolOptions options)
    : options_(pool_options(kernel_size, options.stride, options.padding)) {
  options_.dilation_h = options.dilation[0];
  options_.dilation_w = options.dilation[1];
  options_.ceil_mode = options.ceil_mode;
  check_settings("MaxPool2d", options_);
}

LayerConfig MaxPool2d::config() const {
  const Pool2dOptions& o = options_;
  return LayerConfig()
      .set("kernel_size", list(o.kernel_h, o.kernel_w))
      .set("stride", list(o.stride_h, o.stride_w))
      .set("padding", list(o.pad_h, o.pad_w))
      .set("dilation", list(o.dilation_h, o.dilation_w))
      .set("ceil_mode", o.ceil_mode);
}

std::string MaxPool2d::settings() const {
  const Pool2dOptions& o = options_;
  std::string text = "kernel " + pair_text(o.kernel_h, o.kernel_w);
  if (o.stride_h != o.kernel_h || o.stride_w != o.kernel_w) text += ", stride " + pair_text(o.stride_h, o.stride_w);
  if (o.pad_h != 0 || o.pad_w != 0) text += ", padding " + pair_text(o.pad_h, o.pad_w);
  if (o.dilation_h != 1 || o.dilation_w != 1) text += ", dilation " + pair_text(o.dilation_h, o.dilation_w);
  if (o.ceil_mode) text += ", ceil_mode";
  return text;
}

Shape MaxPool2d::output_shape(const Shape& input) const {
  return named_shape("MaxPool2d(" + settings() + ")", input, [&] { return max_pool2d_output_shape(input, options_); });
}

void MaxPool2d::reserve(const Shape& input, Device device) {
  const std::int64_t n = output_shape(input).numel();
  if (n > capacity_ || !indices_.defined() || indices_.device() != device) {
    const std::int64_t capacity = std::max<std::int64_t>(n, 1);
    indices_ = Tensor::empty({capacity}, device, DType::kInt32);
    capacity_ = capacity;
  }
}

void MaxPool2d::forward(const Tensor& x, const Tensor& y, const StepContext&) {
  max_pool2d_out(x, y, indices_.rows(0, y.numel()).reshape(y.shape()), options_);
}

void MaxPool2d::backward(const Tensor&, const Tensor& y, const Tensor& grad_y, const Tensor& grad_x) {
  if (grad_x.defined()) max_pool2d_backward_out(grad_y, indices_.rows(0, y.numel()).reshape(y.shape()), grad_x, options_);
}

// ---- AvgPool2d ----

AvgPool2d::AvgPool2d(std::array<std::int64_t, 2> kernel_size, AvgPoolOptions options)
    : options_(pool_options(kernel_size, options.stride, options.padding)) {
  options_.ceil_mode = options.ceil_mode;
  options_.count_include_pad = options.count_include_pad;
  check_settings("AvgPool2d", options_);
}

LayerConfig AvgPool2d::config() const {
  const Pool2dOptions& o = options_;
  return LayerConfig()
      .set("kernel_size", list(o.kernel_h, o.kernel_w))
      .set("stride", list(o.stride_h, o.stride_w))
      .set("padding", list(o.pad_h, o.pad_w))
      .set("ceil_mode", o.ceil_mode)
      .set("count_include_pad", o.count_include_pad);
}

std::string AvgPool2d::settings() const {
  const Pool2dOptions& o = options_;
  std::string text = "kernel " + pair_text(o.kernel_h, o.kernel_w);
  if (o.stride_h != o.kernel_h || o.stride_w != o.kernel_w) text += ", stride " + pair_text(o.stride_h, o.stride_w);
  if (o.pad_h != 0 || o.pad_w != 0) text += ", padding " + pair_text(o.pad_h, o.pad_w);
  if (o.ceil_mode) text += ", ceil_mode";
  if (!o.count_include_pad) text += ", padding not counted";
  return text;
}

Shape AvgPool2d::output_shape(const Shape& input) const {
  return named_shape("AvgPool2d(" + settings() + ")", input, [&] { return avg_pool2d_output_shape(input, options_); });
}

void AvgPool2d::forward(const Tensor& x, const Tensor& y, const StepContext&) { avg_pool2d_out(x, y, options_); }

void AvgPool2d::backward(const Tensor&, const Tensor&, const Tensor& grad_y, const Tensor& grad_x) {
  if (grad_x.defined()) avg_pool2d_backward_out(grad_y, grad_x, options_);
}

// ---- AdaptiveAvgPool2d ----

AdaptiveAvgPool2d::AdaptiveAvgPool2d(std::array<std::int64_t, 2> output_size) : output_size_(output_size) {
  if (output_size[0] < 1 || output_size[1] < 1 || output_size[0] > kMaxStep || output_size[1] > kMaxStep) {
    throw ValueError("AdaptiveAvgPool2d: output_size must be in [1, 2^24], got " +
                     pair_text(output_size[0], output_size[1]));
  }
}

LayerConfig AdaptiveAvgPool2d::config() const {
  return LayerConfig().set("output_size", list(output_size_[0], output_size_[1]));
}

std::string AdaptiveAvgPool2d::settings() const { return "output " + pair_text(output_size_[0], output_size_[1]); }

Pool2dOptions AdaptiveAvgPool2d::options_for(const Shape& input) const {
  if (input.rank() != 4) {
    throw ShapeError("AdaptiveAvgPool2d(" + settings() + "): input must be [batch, channels, height, width], got " +
                     input.str());
  }
  if (input[2] % output_size_[0] != 0 || input[3] % output_size_[1] != 0) {
    throw ShapeError("AdaptiveAvgPool2d(" + settings() + "): the input's height and width " +
                     pair_text(input[2], input[3]) +
                     " must be multiples of the output size (uneven windows are not supported)");
  }
  return pool_options({input[2] / output_size_[0], input[3] / output_size_[1]}, {0, 0}, {0, 0});
}

Shape AdaptiveAvgPool2d::output_shape(const Shape& input) const {
  const Pool2dOptions o = options_for(input);
  return named_shape("AdaptiveAvgPool2d(" + settings() + ")", input, [&] { return avg_pool2d_output_shape(input, o); });
}

void AdaptiveAvgPool2d::forward(const Tensor& x, const Tensor& y, const StepContext&) {
  avg_pool2d_out(x, y, options_for(x.shape()));
}

void AdaptiveAvgPool2d::backward(const Tensor& x, const Tensor&, const Tensor& grad_y, const Tensor& grad_x) {
  if (grad_x.defined()) avg_pool2d_backward_out(grad_y, grad_x, options_for(x.shape()));
}

}  // namespace axon::nn
