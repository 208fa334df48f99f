// Pooling: the checks that turn a tensor and settings into a Pool2dGeometry, then the backend's
// kernels (the formulas of core/src/kernels/pool_math.h on both backends).
#include <string>

#include "axon/backend.h"
#include "axon/ops.h"
#include "core/src/check.h"
#include "core/src/dispatch.h"

namespace axon {

namespace {

using detail::OpName;

constexpr std::int64_t kMaxSetting = std::int64_t{1} << 24;

std::string settings_text(const Pool2dOptions& o) {
  return "kernel (" + std::to_string(o.kernel_h) + ", " + std::to_string(o.kernel_w) + "), stride (" +
         std::to_string(o.stride_h) + ", " + std::to_string(o.stride_w) + "), padding (" + std::to_string(o.pad_h) +
         ", " + std::to_string(o.pad_w) + "), dilation (" + std::to_string(o.dilation_h) + ", " +
         std::to_string(o.dilation_w) + ")" + (o.ceil_mode ? ", ceil_mode" : "");
}

// torch's pooling_output_shape: floor (or ceil) of the windows that fit, a last window that
// would start in the right padding dropped.
std::int64_t output_size(std::int64_t in, std::int64_t kernel, std::int64_t stride, std::int64_t pad,
                         std::int64_t dilation, bool ceil_mode) {
  const std::int64_t span = in + 2 * pad - dilation * (kernel - 1) - 1 + (ceil_mode ? stride - 1 : 0);
  if (span < 0) return 0;  // (floor division of a negative span: no window)
  std::int64_t out = span / stride + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

Pool2dGeometry geometry_of(const OpName& op, const Shape& x, const Pool2dOptions& o, bool max) {
  const auto in_range = [](std::int64_t v, std::int64_t low) { return v >= low && v <= kMaxSetting; };
  if (!in_range(o.kernel_h, 1) || !in_range(o.kernel_w, 1) || !in_range(o.stride_h, 1) || !in_range(o.stride_w, 1) ||
      !in_range(o.dilation_h, 1) || !in_range(o.dilation_w, 1) || !in_range(o.pad_h, 0) || !in_range(o.pad_w, 0)) {
    throw ValueError(detail::prefix(op) + "kernels, strides and dilations must be in [1, 2^24] and paddings in [0, 2^24], got " +
                     settings_text(o));
  }
  if (!max && (o.dilation_h != 1 || o.dilation_w != 1)) {
    throw ValueError(detail::prefix(op) + "average pooling has no dilation, got " + settings_text(o));
  }
  if (o.pad_h > o.kernel_h / 2 || o.pad_w > o.kernel_w / 2) {
    throw ValueError(detail::prefix(op) + "padding must be at most half the kernel (as torch), got " + settings_text(o));
  }
  if (x.rank() != 4) {
    throw ShapeError(detail::prefix(op) + "x must be [batch, channels, height, width], got " + x.str());
  }
  Pool2dGeometry g;
  g.options = o;
  g.planes = x[0] * x[1];
  g.height = x[2];
  g.width = x[3];
  g.out_height = output_size(g.height, o.kernel_h, o.stride_h, o.pad_h, o.dilation_h, o.ceil_mode);
  g.out_width = output_size(g.width, o.kernel_w, o.stride_w, o.pad_w, o.dilation_w, o.ceil_mode);
  if (g.height < 1 || g.width < 1 || g.out_height < 1 || g.out_width < 1) {
    throw ShapeError(detail::prefix(op) + "x " + x.str() + " is too small for " + settings_text(o) +
                     " (the output would have no rows or columns)");
  }
  if (g.height * g.width > std::int64_t{1} << 31) {  // the indices are int32
    throw ShapeError(detail::prefix(op) + "planes of more than 2^31 elements are not supported, got " + x.str());
  }
  return g;
}

Shape output_of(const Shape& x, const Pool2dGeometry& g) { return Shape{x[0], x[1], g.out_height, g.out_width}; }

}  // namespace

Shape max_pool2d_output_shape(const Shape& x, const Pool2dOptions& options) {
  return output_of(x, geometry_of("max_pool2d", x, options, true));
}

Shape avg_pool2d_output_shape(const Shape& x, const Pool2dOptions& options) {
  return output_of(x, geometry_of("avg_pool2d", x, options, false));
}

void max_pool2d_out(const Tensor& x, const Tensor& y, const Tensor& indices, const Pool2dOptions& options) {
  constexpr const char* kOp = "max_pool2d";
  const Device device = detail::check_same_device(kOp, {{"x", &x}, {"y", &y}, {"indices", &indices}});
  detail::check_dtype(kOp, {{"x", &x}, {"y", &y}}, DType::kFloat32);
  detail::check_dtype(kOp, {"indices", &indices}, DType::kInt32);
  const Pool2dGeometry g = geometry_of(kOp, x.shape(), options, true);
  detail::check_shape(kOp, {"y", &y}, output_of(x.shape(), g), {{"x", &x}});
  detail::check_shape(kOp, {"indices", &indices}, output_of(x.shape(), g), {{"x", &x}});
  detail::check_disjoint(kOp, {"y", &y}, {{"x", &x}, {"indices", &indices}});
  detail::check_disjoint(kOp, {"indices", &indices}, {{"x", &x}});
  if (g.planes == 0) return;
  detail::op_backend(device).max_pool2d(g, x, y, indices);
}

Tensor max_pool2d(const Tensor& x, const Pool2dOptions& options) {
  detail::check_same_device("max_pool2d", {{"x", &x}});
  const Shape shape = max_pool2d_output_shape(x.shape(), options);
  Tensor y = Tensor::empty(shape, x.device());
  const Tensor indices = Tensor::empty(shape, x.device(), DType::kInt32);
  max_pool2d_out(x, y, indices, options);
  return y;
}

void max_pool2d_backward_out(const Tensor& grad_y, const Tensor& indices, const Tensor& grad_x,
                             const Pool2dOptions& options) {
  constexpr const char* kOp = "max_pool2d_backward";
  const Device device =
      detail::check_same_device(kOp, {{"grad_y", &grad_y}, {"indices", &indices}, {"grad_x", &grad_x}});
  detail::check_dtype(kOp, {{"grad_y", &grad_y}, {"grad_x", &grad_x}}, DType::kFloat32);
  detail::check_dtype(kOp, {"indices", &indices}, DType::kInt32);
  const Pool2dGeometry g = geometry_of(kOp, grad_x.shape(), options, true);
  detail::check_shape(kOp, {"grad_y", &grad_y}, output_of(grad_x.shape(), g), {{"grad_x", &grad_x}});
  detail::check_shape(kOp, {"indices", &indices}, output_of(grad_x.shape(), g), {{"grad_x", &grad_x}});
  detail::check_disjoint(kOp, {"grad_x", &grad_x}, {{"grad_y", &grad_y}, {"indices", &indices}});
  if (g.planes == 0) return;
  detail::op_backend(device).max_pool2d_backward(g, grad_y, indices, grad_x);
}

void avg_pool2d_out(const Tensor& x, const Tensor& y, const Pool2dOptions& options) {
  constexpr const char* kOp = "avg_pool2d";
  const Device device = detail::check_same_device(kOp, {{"x", &x}, {"y", &y}});
  detail::check_dtype(kOp, {{"x", &x}, {"y", &y}}, DType::kFloat32);
  const Pool2dGeometry g = geometry_of(kOp, x.shape(), options, false);
  detail::check_shape(kOp, {"y", &y}, output_of(x.shape(), g), {{"x", &x}});
  detail::check_disjoint(kOp, {"y", &y}, {{"x", &x}});
  if (g.planes == 0) return;
  detail::op_backend(device).avg_pool2d(g, x, y);
}

Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& options) {
  detail::check_same_device("avg_pool2d", {{"x", &x}});
  Tensor y = Tensor::empty(avg_pool2d_output_shape(x.shape(), options), x.device());
  avg_pool2d_out(x, y, options);
  return y;
}

void avg_pool2d_backward_out(const Tensor& grad_y, const Tensor& grad_x, const Pool2dOptions& options) {
  constexpr const char* kOp = "avg_pool2d_backward";
  const Device device = detail::check_same_device(kOp, {{"grad_y", &grad_y}, {"grad_x", &grad_x}});
  detail::check_dtype(kOp, {{"grad_y", &grad_y}, {"grad_x", &grad_x}}, DType::kFloat32);
  const Pool2dGeometry g = geometry_of(kOp, grad_x.shape(), options, false);
  detail::check_shape(kOp, {"grad_y", &grad_y}, output_of(grad_x.shape(), g), {{"grad_x", &grad_x}});
  detail::check_disjoint(kOp, {"grad_x", &grad_x}, {{"grad_y", &grad_y}});
  if (g.planes == 0) return;
  detail::op_backend(device).avg_pool2d_backward(g, grad_y, grad_x);
}

}  // namespace axon
