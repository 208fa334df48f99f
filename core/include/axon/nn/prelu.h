#pragma once
// PReLU: y = x > 0 ? x : a * x with a learned slope a, as torch.nn.PReLU: one slope shared by
// every element (num_parameters = 1), or one per channel, the input's axis 1 ([N, C],
// [N, C, L], [N, C, H, W]). The slopes start at `init` (0.25) and are the parameter "weight"
// [num_parameters], so state_dicts move both ways. Weight decay applies to them as to any
// parameter: put them in a group without it, as PyTorch's docs advise.
#include <cstdint>

#include "axon/nn/layer.h"

namespace axon::nn {

class AXON_API PReLU final : public Layer {
 public:
  // num_parameters >= 1 and a finite init, else ValueError.
  explicit PReLU(std::int64_t num_parameters = 1, float init = 0.25f, Device device = Device::cpu());

  std::string type() const override { return "PReLU"; }
  LayerConfig config() const override;  // "num_parameters", "init"
  std::string settings() const override;
  Shape output_shape(const Shape& input) const override;  // the input's; ShapeError without the channels
  std::vector<Parameter*> parameters() override { return {&weight_}; }
  void reset_parameters(Generator& generator) override;  // every slope = init (draws nothing)
  void forward(const Tensor& x, const Tensor& y, const StepContext& context) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& grad_y, const Tensor& grad_x) override;

  std::int64_t num_parameters() const { return num_parameters_; }
  float init() const { return init_; }
  const Parameter& weight() const { return weight_; }

 private:
  std::int64_t num_parameters_;
  float init_;
  Parameter weight_;  // [num_parameters]
};

}  // namespace axon::nn
