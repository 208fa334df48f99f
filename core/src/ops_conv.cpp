// Convolution: the checks that turn tensors and settings into one Conv2dGeometry, then the
// backend's convolution (oneDNN on the CPU, cuDNN on CUDA).
#include <string>

#include "axon/backend.h"
#include "axon/ops.h"
#include "core/src/check.h"
#include "core/src/dispatch.h"

namespace axon {

namespace {

using detail::OpName;

// Far beyond any real network, small enough that no size sum or product below overflows.
constexpr std::int64_t kMaxSetting = std::int64_t{1} << 24;

std::string settings_text(const Conv2dOptions& o) {
  return "stride (" + std::to_string(o.stride_h) + ", " + std::to_string(o.stride_w) + "), padding (top " +
         std::to_string(o.pad_top) + ", left " + std::to_string(o.pad_left) + ", bottom " +
         std::to_string(o.pad_bottom) + ", right " + std::to_string(o.pad_right) + "), dilation (" +
         std::to_string(o.dilation_h) + ", " + std::to_string(o.dilation_w) + "), groups " +
         std::to_string(o.groups);
}

void check_options(const OpName& op, const Conv2dOptions& o) {
  const auto in_range = [](std::int64_t v, std::int64_t low) { return v >= low && v <= kMaxSetting; };
  if (!in_range(o.stride_h, 1) || !in_range(o.stride_w, 1) || !in_range(o.dilation_h, 1) ||
      !in_range(o.dilation_w, 1) || !in_range(o.groups, 1) || !in_range(o.pad_top, 0) || !in_range(o.pad_left, 0) ||
      !in_range(o.pad_bottom, 0) || !in_range(o.pad_right, 0)) {
    throw ValueError(detail::prefix(op) + "strides, dilations and groups must be in [1, 2^24] and paddings in [0, 2^24], got " +
                     settings_text(o));
  }
}

// The geometry of x [N, C, H, W] with weight [O, C / groups, KH, KW], or ShapeError.
Conv2dGeometry geometry_of(const OpName& op, const Shape& x, const Shape& weight, const Conv2dOptions& o) {
  check_options(op, o);
  const auto refuse = [&](const std::string& what) {
    throw ShapeError(detail::prefix(op) + what + " (x " + x.str() + ", weight " + weight.str() + ", " +
                     settings_text(o) + ")");
  };
  if (x.rank() != 4) refuse("x must be [batch, channels, height, width]");
  if (weight.rank() != 4) refuse("weight must be [out_channels, in_channels / groups, kernel_h, kernel_w]");
  Conv2dGeometry g;
  g.batch = x[0];
  g.in_channels = x[1];
  g.height = x[2];
  g.width = x[3];
  g.out_channels = weight[0];
  g.kernel_h = weight[2];
  g.kernel_w = weight[3];
  g.stride_h = o.stride_h;
  g.stride_w = o.stride_w;
  g.pad_top = o.pad_top;
  g.pad_left = o.pad_left;
  g.pad_bottom = o.pad_bottom;
  g.pad_right = o.pad_right;
  g.dilation_h = o.dilation_h;
  g.dilation_w = o.dilation_w;
  g.groups = o.groups;
  if (g.in_channels < 1 || g.height < 1 || g.width < 1) refuse("x needs at least one channel, row and column");
  if (g.out_channels < 1 || g.kernel_h < 1 || g.kernel_w < 1) refuse("weight needs at least one filter, row and column");
  if (g.in_channels % g.groups != 0 || g.out_channels % g.groups != 0) {
    refuse("groups must divide both channel counts");
  }
  if (weight[1] * g.groups != g.in_channels) refuse("weight's axis 1 must be in_channels / groups");
  // The dilated kernel must fit in the padded input (torch: "kernel size can't be greater than
  // actual input size"). Every term is below 2^24 * 2^24: no overflow.
  if (g.dilation_h * (g.kernel_h - 1) + 1 > g.height + g.pad_top + g.pad_bottom ||
      g.dilation_w * (g.kernel_w - 1) + 1 > g.width + g.pad_left + g.pad_right) {
    refuse("the dilated kernel is larger than the padded input");
  }
  return g;
}

Shape output_of(const Conv2dGeometry& g) { return Shape{g.batch, g.out_channels, g.out_height(), g.out_width()}; }

void check_bias(const OpName& op, const Tensor& bias, std::int64_t out_channels, std::initializer_list<detail::Arg> context) {
  if (!bias.defined()) return;
  detail::check_dtype(op, {"bias", &bias}, DType::kFloat32);
  detail::check_shape(op, {"bias", &bias}, Shape{out_channels}, context);
}

}  // namespace

Shape conv2d_output_shape(const Shape& x, const Shape& weight, const Conv2dOptions& options) {
  return output_of(geometry_of("conv2d", x, weight, options));
}

void conv2d_out(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& y, const Conv2dOptions& options) {
  constexpr const char* kOp = "conv2d";
  const Device device = detail::check_same_device(kOp, {{"x", &x}, {"weight", &weight}, {"y", &y}});
  detail::check_same_device_where_defined(kOp, {"x", &x}, {{"bias", &bias}});
  detail::check_dtype(kOp, {{"x", &x}, {"weight", &weight}, {"y", &y}}, DType::kFloat32);
  const Conv2dGeometry g = geometry_of(kOp, x.shape(), weight.shape(), options);
  check_bias(kOp, bias, g.out_channels, {{"weight", &weight}});
  detail::check_shape(kOp, {"y", &y}, output_of(g), {{"x", &x}, {"weight", &weight}});
  detail::check_disjoint(kOp, {"y", &y}, {{"x", &x}, {"weight", &weight}});
  if (bias.defined()) detail::check_disjoint(kOp, {"y", &y}, {{"bias", &bias}});
  if (g.batch == 0) return;
  detail::op_backend(device).conv2d(g, x, weight, bias, y);
}

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& options) {
  detail::check_same_device("conv2d", {{"x", &x}, {"weight", &weight}});
  Tensor y = Tensor::empty(conv2d_output_shape(x.shape(), weight.shape(), options), x.device());
  conv2d_out(x, weight, bias, y, options);
  return y;
}

void conv2d_backward_data_out(const Tensor& grad_y, const Tensor& weight, const Tensor& grad_x,
                              const Conv2dOptions& options) {
  constexpr const char* kOp = "conv2d_backward_data";
  const Device device =
      detail::check_same_device(kOp, {{"grad_y", &grad_y}, {"weight", &weight}, {"grad_x", &grad_x}});
  detail::check_dtype(kOp, {{"grad_y", &grad_y}, {"weight", &weight}, {"grad_x", &grad_x}}, DType::kFloat32);
  // grad_x's shape says which input the output came from (with a stride, several heights give
  // one output height: torch's output_padding).
  const Conv2dGeometry g = geometry_of(kOp, grad_x.shape(), weight.shape(), options);
  detail::check_shape(kOp, {"grad_y", &grad_y}, output_of(g), {{"grad_x", &grad_x}, {"weight", &weight}});
  detail::check_disjoint(kOp, {"grad_x", &grad_x}, {{"grad_y", &grad_y}, {"weight", &weight}});
  if (g.batch == 0) return;
  detail::op_backend(device).conv2d_backward_data(g, grad_y, weight, grad_x);
}

void conv2d_backward_weights_out(const Tensor& x, const Tensor& grad_y, const Tensor& grad_weight,
                                 const Tensor& grad_bias, const Conv2dOptions& options) {
  constexpr const char* kOp = "conv2d_backward_weights";
  const Device device = detail::check_same_device(kOp, {{"x", &x}, {"grad_y", &grad_y}, {"grad_weight", &grad_weight}});
  detail::check_same_device_where_defined(kOp, {"x", &x}, {{"grad_bias", &grad_bias}});
  detail::check_dtype(kOp, {{"x", &x}, {"grad_y", &grad_y}, {"grad_weight", &grad_weight}}, DType::kFloat32);
  const Conv2dGeometry g = geometry_of(kOp, x.shape(), grad_weight.shape(), options);
  check_bias(kOp, grad_bias, g.out_channels, {{"grad_weight", &grad_weight}});
  detail::check_shape(kOp, {"grad_y", &grad_y}, output_of(g), {{"x", &x}, {"grad_weight", &grad_weight}});
  detail::check_disjoint(kOp, {"grad_weight", &grad_weight}, {{"x", &x}, {"grad_y", &grad_y}});
  if (grad_bias.defined()) {
    detail::check_disjoint(kOp, {"grad_bias", &grad_bias}, {{"x", &x}, {"grad_y", &grad_y}, {"grad_weight", &grad_weight}});
  }
  if (g.batch == 0) {
    fill(grad_weight, 0.0f);
    if (grad_bias.defined()) fill(grad_bias, 0.0f);
    return;
  }
  detail::op_backend(device).conv2d_backward_weights(g, x, grad_y, grad_weight, grad_bias);
}

}  // namespace axon
