// Conv2d: the forward is one convolution op; the backward two (the weights' and bias's
// gradients from x and grad_y, the input's from grad_y and W), as Dense's is two products.
#include "axon/nn/conv.h"

#include <string>

#include "axon/error.h"
#include "axon/nn/registry.h"
#include "axon/ops.h"

namespace axon::nn {

namespace {
// What a model file may ask for: far beyond real networks, small enough that the parameter
// count (out * in * kh * kw < 2^60) cannot overflow before load_model compares it with the file.
constexpr std::int64_t kMaxChannels = std::int64_t{1} << 20;
constexpr std::int64_t kMaxKernel = std::int64_t{1} << 10;
constexpr std::int64_t kMaxStep = std::int64_t{1} << 24;  // strides, dilations, paddings (the ops' bound)

std::int64_t groups_of(const LayerConfig& c) { return c.has("groups") ? c.integer("groups", 1, kMaxChannels) : 1; }

std::int64_t parameter_count(const LayerConfig& c) {
  const std::int64_t in = c.integer("in_channels", 1, kMaxChannels), out = c.integer("out_channels", 1, kMaxChannels);
  const auto kernel = c.integer_pair("kernel_size", {0, 0}, 1, kMaxKernel);
  if (kernel[0] == 0) throw ValueError("layer setting 'kernel_size' is missing");
  const std::int64_t groups = groups_of(c);
  if (in % groups != 0) throw ValueError("layer setting 'groups' must divide in_channels");
  return out * (in / groups) * kernel[0] * kernel[1] + (c.boolean_or("bias", true) ? out : 0);
}

const bool kRegistered = [] {
  register_layer("Conv2d", [](const LayerConfig& c) { return Conv2d::from_config(c); }, parameter_count);
  return true;
}();

std::string pair_text(const std::array<std::int64_t, 2>& v) {
  return "(" + std::to_string(v[0]) + ", " + std::to_string(v[1]) + ")";
}
}  // namespace

Conv2d::Conv2d(std::int64_t in_channels, std::int64_t out_channels, std::array<std::int64_t, 2> kernel_size,
               ConvOptions options)
    : in_(in_channels), out_(out_channels), kernel_(kernel_size), options_(std::move(options)) {
  const auto bad = [&](const std::string& what) {
    throw ValueError("Conv2d(" + std::to_string(in_) + ", " + std::to_string(out_) + ", kernel " + pair_text(kernel_) +
                     "): " + what);
  };
  if (in_ < 1 || in_ > kMaxChannels || out_ < 1 || out_ > kMaxChannels) bad("channel counts must be in [1, 2^20]");
  if (kernel_[0] < 1 || kernel_[1] < 1 || kernel_[0] > kMaxKernel || kernel_[1] > kMaxKernel) {
    bad("kernel sizes must be in [1, 1024]");
  }
  const ConvOptions& o = options_;
  for (const std::int64_t v : {o.stride[0], o.stride[1], o.dilation[0], o.dilation[1]}) {
    if (v < 1 || v > kMaxStep) bad("strides and dilations must be in [1, 2^24], got stride " + pair_text(o.stride) +
                                   ", dilation " + pair_text(o.dilation));
  }
  if (o.padding[0] < 0 || o.padding[1] < 0 || o.padding[0] > kMaxStep || o.padding[1] > kMaxStep) {
    bad("padding must be in [0, 2^24], got " + pair_text(o.padding));
  }
  if (o.groups < 1 || in_ % o.groups != 0 || out_ % o.groups != 0) {
    bad("groups (" + std::to_string(o.groups) + ") must divide both channel counts");
  }
  if (o.padding_mode == Padding::kSame && (o.stride[0] != 1 || o.stride[1] != 1)) {
    bad("padding \"same\" needs stride 1 (as torch), got " + pair_text(o.stride));
  }
  const Device device = o.device;
  const Shape w_shape{out_, in_ / o.groups, kernel_[0], kernel_[1]};
  weight_ = {"weight", Tensor::empty(w_shape, device), Tensor::zeros(w_shape, device)};
  if (o.bias) bias_ = {"bias", Tensor::empty({out_}, device), Tensor::zeros({out_}, device)};
  reset_parameters(o.generator != nullptr ? *o.generator : default_generator());
}

Conv2dOptions Conv2d::op_options() const {
  const ConvOptions& o = options_;
  Conv2dOptions op{.stride_h = o.stride[0], .stride_w = o.stride[1], .dilation_h = o.dilation[0],
                   .dilation_w = o.dilation[1], .groups = o.groups};
  if (o.padding_mode == Padding::kExplicit) {
    op.pad_top = op.pad_bottom = o.padding[0];
    op.pad_left = op.pad_right = o.padding[1];
  } else if (o.padding_mode == Padding::kSame) {
    // torch: total = dilation * (kernel - 1), the smaller half first.
    const std::int64_t total_h = o.dilation[0] * (kernel_[0] - 1), total_w = o.dilation[1] * (kernel_[1] - 1);
    op.pad_top = total_h / 2;
    op.pad_bottom = total_h - op.pad_top;
    op.pad_left = total_w / 2;
    op.pad_right = total_w - op.pad_left;
  }
  return op;
}

LayerConfig Conv2d::config() const {
  LayerConfig c;
  c.set("in_channels", in_).set("out_channels", out_).set("kernel_size", std::vector<std::int64_t>{kernel_[0], kernel_[1]});
  c.set("stride", std::vector<std::int64_t>{options_.stride[0], options_.stride[1]});
  switch (options_.padding_mode) {
    case Padding::kExplicit: c.set("padding", std::vector<std::int64_t>{options_.padding[0], options_.padding[1]}); break;
    case Padding::kSame: c.set("padding", "same"); break;
    case Padding::kValid: c.set("padding", "valid"); break;
  }
  c.set("dilation", std::vector<std::int64_t>{options_.dilation[0], options_.dilation[1]});
  c.set("groups", options_.groups).set("bias", options_.bias);
  set_initializer(c, "weight_init", options_.weight_init);
  set_initializer(c, "bias_init", options_.bias_init);
  return c;
}

std::unique_ptr<Conv2d> Conv2d::from_config(const LayerConfig& c) {
  ConvOptions o;
  o.stride = c.integer_pair("stride", {1, 1}, 1, kMaxStep);
  o.dilation = c.integer_pair("dilation", {1, 1}, 1, kMaxStep);
  const auto* padding = c.has("padding") ? &c.values().find("padding")->second : nullptr;
  if (padding != nullptr && std::holds_alternative<std::string>(*padding)) {
    const std::string& mode = std::get<std::string>(*padding);
    if (mode != "same" && mode != "valid") {
      throw ValueError("layer setting 'padding' must be two integers, \"same\" or \"valid\", got \"" + mode + "\"");
    }
    o.padding_mode = mode == "same" ? Padding::kSame : Padding::kValid;
  } else {
    o.padding = c.integer_pair("padding", {0, 0}, 0, kMaxStep);
  }
  o.groups = groups_of(c);
  o.bias = c.boolean_or("bias", true);
  o.weight_init = get_initializer(c, "weight_init");
  o.bias_init = get_initializer(c, "bias_init");
  const auto kernel = c.integer_pair("kernel_size", {0, 0}, 1, kMaxKernel);
  if (kernel[0] == 0) throw ValueError("layer setting 'kernel_size' is missing");
  return std::make_unique<Conv2d>(c.integer("in_channels", 1, kMaxChannels), c.integer("out_channels", 1, kMaxChannels),
                                  kernel, o);
}

std::string Conv2d::settings() const {
  std::string text = std::to_string(in_) + " -> " + std::to_string(out_) + ", kernel " + pair_text(kernel_);
  if (options_.stride != std::array<std::int64_t, 2>{1, 1}) text += ", stride " + pair_text(options_.stride);
  if (options_.padding_mode == Padding::kSame) text += ", padding same";
  if (options_.padding_mode == Padding::kExplicit && options_.padding != std::array<std::int64_t, 2>{0, 0}) {
    text += ", padding " + pair_text(options_.padding);
  }
  if (options_.dilation != std::array<std::int64_t, 2>{1, 1}) text += ", dilation " + pair_text(options_.dilation);
  if (options_.groups != 1) text += ", groups " + std::to_string(options_.groups);
  if (!options_.bias) text += ", no bias";
  return text;
}

Shape Conv2d::output_shape(const Shape& input) const {
  if (input.rank() != 4 || input[1] != in_) {
    throw ShapeError("Conv2d(" + settings() + "): input must be [batch, " + std::to_string(in_) +
                     ", height, width], got " + input.str());
  }
  try {
    return conv2d_output_shape(input, weight_.value.shape(), op_options());
  } catch (const ShapeError& e) {
    throw ShapeError("Conv2d(" + settings() + "): input " + input.str() + " does not fit: " + e.what());
  }
}

std::vector<Parameter*> Conv2d::parameters() {
  if (options_.bias) return {&weight_, &bias_};
  return {&weight_};
}

void Conv2d::reset_parameters(Generator& generator) {
  // torch's fans of a convolution weight: in / groups and out, times the kernel's area.
  const std::int64_t area = kernel_[0] * kernel_[1];
  const std::int64_t fan_in = in_ / options_.groups * area, fan_out = out_ * area;
  initialize(weight_.value, options_.weight_init, fan_in, fan_out, generator);
  if (options_.bias) initialize(bias_.value, options_.bias_init, fan_in, fan_out, generator);
}

void Conv2d::forward(const Tensor& x, const Tensor& y, const StepContext&) {
  conv2d_out(x, weight_.value, options_.bias ? bias_.value : Tensor(), y, op_options());
}

void Conv2d::backward(const Tensor& x, const Tensor&, const Tensor& grad_y, const Tensor& grad_x) {
  const Conv2dOptions op = op_options();
  conv2d_backward_weights_out(x, grad_y, weight_.grad, options_.bias ? bias_.grad : Tensor(), op);
  if (grad_x.defined()) conv2d_backward_data_out(grad_y, weight_.value, grad_x, op);
}

}  // namespace axon::nn
