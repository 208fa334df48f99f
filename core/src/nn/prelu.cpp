// PReLU: the forward and backward are one op each (ops.h: prelu_out, prelu_backward_out); the
// backward also gives the slopes' gradient, summed over the batch and the channel's positions.
#include "axon/nn/prelu.h"

#include <cmath>
#include <cstdio>

#include "axon/error.h"
#include "axon/nn/registry.h"
#include "axon/ops.h"

namespace axon::nn {

namespace {
// A channel count a model file may give: far beyond any real layer, small enough to allocate.
constexpr std::int64_t kMaxChannels = std::int64_t{1} << 24;

const bool kRegistered = [] {
  register_layer(
      "PReLU",
      [](const LayerConfig& c) {
        return std::make_unique<PReLU>(c.integer("num_parameters", 1, kMaxChannels),
                                       static_cast<float>(c.number_or("init", 0.25)));
      },
      [](const LayerConfig& c) { return c.integer("num_parameters", 1, kMaxChannels); });
  return true;
}();
}  // namespace

PReLU::PReLU(std::int64_t num_parameters, float init, Device device) : num_parameters_(num_parameters), init_(init) {
  if (num_parameters < 1 || num_parameters > kMaxChannels) {
    throw ValueError("PReLU: num_parameters must be in [1, " + std::to_string(kMaxChannels) + "], got " +
                     std::to_string(num_parameters));
  }
  if (!std::isfinite(init)) throw ValueError("PReLU: init must be finite, got " + std::to_string(init));
  weight_ = {"weight", Tensor::empty({num_parameters}, device), Tensor::zeros({num_parameters}, device)};
  fill(weight_.value, init_);
}

LayerConfig PReLU::config() const { return LayerConfig().set("num_parameters", num_parameters_).set("init", init_); }

std::string PReLU::settings() const {
  char text[64];
  std::snprintf(text, sizeof(text), "num_parameters=%lld, init=%g", static_cast<long long>(num_parameters_),
                static_cast<double>(init_));
  return text;
}

Shape PReLU::output_shape(const Shape& input) const {
  if (num_parameters_ > 1 && (input.rank() < 2 || input[1] != num_parameters_)) {
    throw ShapeError("PReLU(" + settings() + "): input must be [batch, " + std::to_string(num_parameters_) +
                     ", ...], got " + input.str());
  }
  return input;
}

void PReLU::reset_parameters(Generator&) { fill(weight_.value, init_); }

void PReLU::forward(const Tensor& x, const Tensor& y, const StepContext&) { prelu_out(x, weight_.value, y); }

void PReLU::backward(const Tensor& x, const Tensor&, const Tensor& grad_y, const Tensor& grad_x) {
  prelu_backward_out(x, weight_.value, grad_y, grad_x, weight_.grad);
}

}  // namespace axon::nn
