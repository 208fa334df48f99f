#pragma once
// Conv2d: y = x (*) W + b over NCHW images, as torch.nn.Conv2d: W [out, in / groups, kh, kw],
// b [out], torch's default init (U(+-1/sqrt(fan_in)), fan_in = in / groups * kh * kw), so
// state_dicts move both ways. Forward and backward are the convolution ops (ops.h: oneDNN on the
// CPU, cuDNN on CUDA). Zero padding only (torch's padding_mode "zeros").
#include <array>
#include <cstdint>

#include "axon/nn/init.h"
#include "axon/nn/layer.h"

namespace axon::nn {

enum class Padding : std::uint8_t {
  kExplicit,  // ConvOptions::padding rows and columns on each side
  kSame,      // the output as large as the input (stride 1): torch's padding="same", the odd
              // extra row or column of an even kernel at the end
  kValid,     // none: torch's padding="valid"
};

struct ConvOptions {
  std::array<std::int64_t, 2> stride{1, 1};
  std::array<std::int64_t, 2> padding{0, 0};  // with Padding::kExplicit
  Padding padding_mode = Padding::kExplicit;
  std::array<std::int64_t, 2> dilation{1, 1};
  std::int64_t groups = 1;
  bool bias = true;
  Initializer weight_init = init::linear_default();  // torch's kaiming_uniform_(a = sqrt(5))
  Initializer bias_init = init::linear_default();
  Device device = Device::cpu();
  Generator* generator = nullptr;  // default_generator() when null
};

class AXON_API Conv2d final : public Layer {
 public:
  // ValueError for sizes below 1, groups that do not divide both channel counts, "same" with a
  // stride, or settings past the bounds a model file may give (channels 2^20, kernel 2^10).
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, std::array<std::int64_t, 2> kernel_size,
         ConvOptions options = {});
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size, ConvOptions options = {})
      : Conv2d(in_channels, out_channels, {kernel_size, kernel_size}, options) {}

  std::string type() const override { return "Conv2d"; }
  // "in_channels", "out_channels", "kernel_size", "stride", "padding" ([h, w], or "same" /
  // "valid"), "dilation", "groups", "bias", initializers: torch's argument names.
  LayerConfig config() const override;
  static std::unique_ptr<Conv2d> from_config(const LayerConfig& config);
  std::string settings() const override;
  Shape output_shape(const Shape& input) const override;  // [N, in, H, W] -> [N, out, OH, OW]
  std::vector<Parameter*> parameters() override;
  void reset_parameters(Generator& generator) override;
  void forward(const Tensor& x, const Tensor& y, const StepContext& context) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& grad_y, const Tensor& grad_x) override;

  std::int64_t in_channels() const { return in_; }
  std::int64_t out_channels() const { return out_; }
  const Parameter& weight() const { return weight_; }
  const Parameter& bias() const { return bias_; }  // undefined value without a bias
  // The settings the convolution ops run with ("same" and "valid" resolved to per-side padding).
  Conv2dOptions op_options() const;

 private:
  std::int64_t in_, out_;
  std::array<std::int64_t, 2> kernel_;
  ConvOptions options_;
  Parameter weight_;  // [out, in / groups, kh, kw]
  Parameter bias_;    // [out]
};

}  // namespace axon::nn
