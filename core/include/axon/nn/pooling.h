#pragma once
// Pooling layers over NCHW images, as torch.nn's: MaxPool2d, AvgPool2d, AdaptiveAvgPool2d.
// The formulas are axon's own, the same on both backends (ops.h: max_pool2d_out, ...).
#include <array>
#include <cstdint>

#include "axon/nn/layer.h"

namespace axon::nn {

struct MaxPoolOptions {
  std::array<std::int64_t, 2> stride{0, 0};  // {0, 0}: the kernel size (torch's stride=None)
  std::array<std::int64_t, 2> padding{0, 0};
  std::array<std::int64_t, 2> dilation{1, 1};
  bool ceil_mode = false;
};

// Keeps each window's argmax from the forward (an int32 per output) for the backward, in a
// buffer sized by reserve().
class AXON_API MaxPool2d final : public Layer {
 public:
  // ValueError for sizes below 1, a padding above half the kernel, or past a model file's
  // bounds (kernel 2^10, strides, dilations and paddings 2^24).
  explicit MaxPool2d(std::array<std::int64_t, 2> kernel_size, MaxPoolOptions options = {});
  explicit MaxPool2d(std::int64_t kernel_size, MaxPoolOptions options = {})
      : MaxPool2d({kernel_size, kernel_size}, options) {}
  std::string type() const override { return "MaxPool2d"; }
  LayerConfig config() const override;  // "kernel_size", "stride", "padding", "dilation", "ceil_mode"
  std::string settings() const override;
  Shape output_shape(const Shape& input) const override;
  void reserve(const Shape& input, Device device) override;
  void forward(const Tensor& x, const Tensor& y, const StepContext& context) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& grad_y, const Tensor& grad_x) override;
  const Pool2dOptions& options() const { return options_; }

 private:
  Pool2dOptions options_;
  std::int64_t capacity_ = 0;  // elements of indices_
  Tensor indices_;
};

struct AvgPoolOptions {
  std::array<std::int64_t, 2> stride{0, 0};  // {0, 0}: the kernel size
  std::array<std::int64_t, 2> padding{0, 0};
  bool ceil_mode = false;
  bool count_include_pad = true;  // torch's default
};

class AXON_API AvgPool2d final : public Layer {
 public:
  explicit AvgPool2d(std::array<std::int64_t, 2> kernel_size, AvgPoolOptions options = {});
  explicit AvgPool2d(std::int64_t kernel_size, AvgPoolOptions options = {})
      : AvgPool2d({kernel_size, kernel_size}, options) {}
  std::string type() const override { return "AvgPool2d"; }
  LayerConfig config() const override;  // "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad"
  std::string settings() const override;
  Shape output_shape(const Shape& input) const override;
  void forward(const Tensor& x, const Tensor& y, const StepContext& context) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& grad_y, const Tensor& grad_x) override;
  const Pool2dOptions& options() const { return options_; }

 private:
  Pool2dOptions options_;
};

// The average over equal windows that tile the input into output_size cells: [N, C, H, W] ->
// [N, C, oh, ow]; {1, 1} is global average pooling. Where the output size does not divide the
// input's, torch's windows overlap unevenly: refused (ShapeError) rather than approximated.
class AXON_API AdaptiveAvgPool2d final : public Layer {
 public:
  explicit AdaptiveAvgPool2d(std::array<std::int64_t, 2> output_size = {1, 1});
  explicit AdaptiveAvgPool2d(std::int64_t output_size) : AdaptiveAvgPool2d({output_size, output_size}) {}
  std::string type() const override { return "AdaptiveAvgPool2d"; }
  LayerConfig config() const override;  // "output_size"
  std::string settings() const override;
  Shape output_shape(const Shape& input) const override;
  void forward(const Tensor& x, const Tensor& y, const StepContext& context) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& grad_y, const Tensor& grad_x) override;

 private:
  Pool2dOptions options_for(const Shape& input) const;  // ShapeError when the size does not divide
  std::array<std::int64_t, 2> output_size_;
};

}  // namespace axon::nn
