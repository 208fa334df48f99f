#pragma once
// Layer: one transform of a network with an explicit forward and backward.
//
// A layer writes its output into a tensor it is given and keeps what its backward needs in
// buffers of its own, allocated by reserve() for a batch capacity and reused: a batch of fewer
// rows takes a view of the first rows, so a steady training step allocates nothing. Write your
// own layer by implementing this interface (tests/nn/custom_layer_test.cpp shows a residual
// block); axon::nn::check_gradients verifies its backward against finite differences.
#include <memory>
#include <string>
#include <vector>

#include "axon/export.h"
#include "axon/nn/parameter.h"
#include "axon/op_kinds.h"
#include "axon/random.h"
#include "axon/shape.h"
#include "axon/tensor.h"

namespace axon::nn {

// What a forward pass needs besides its input.
struct StepContext {
  bool training = true;                 // false: dropout is the identity, nothing kept for backward
  Generator* generator = nullptr;       // dropout's random numbers; default_generator() when null
};

class AXON_API Layer {
 public:
  virtual ~Layer() = default;

  // "Dense", "ReLU", ...: the type shown by summaries and stored in model files.
  virtual std::string type() const = 0;
  // Its settings in a few words for summaries: "784 -> 256", "p=0.5".
  virtual std::string settings() const { return {}; }

  // The output shape for an input shape (first axis: the batch). Throws ShapeError when the
  // input does not fit the layer.
  virtual Shape output_shape(const Shape& input) const = 0;

  // The parameters it owns, in a stable order; names are relative ("weight", "fc1.bias").
  virtual std::vector<Parameter*> parameters() { return {}; }
  // Draws fresh initial values for its parameters.
  virtual void reset_parameters(Generator& generator) { (void)generator; }

  // Makes forward ready for inputs of `input`'s shape with up to input[0] rows, on `device`:
  // allocates what forward keeps for backward. Called before the first forward, and again when
  // a batch is larger than any before or the device changed; never during a steady run.
  virtual void reserve(const Shape& input, Device device) {
    (void)input;
    (void)device;
  }

  // y = layer(x). y has output_shape(x.shape()) and is on x's device.
  virtual void forward(const Tensor& x, const Tensor& y, const StepContext& context) = 0;
  // Given grad_y = dL/dy for the last training forward (same x and y), writes the parameters'
  // gradients (overwriting them: gradients are per batch, not accumulated) and, when grad_x is
  // defined, dL/dx into it. grad_y may be overwritten: nothing reads it afterwards.
  virtual void backward(const Tensor& x, const Tensor& y, const Tensor& grad_y, const Tensor& grad_x) = 0;

  // How many indices the layer takes in a Sequential's parameter names: a Dense with a fused
  // activation is written in PyTorch as Linear then the activation, so it takes two and the
  // next layer's weights are named as PyTorch would ("0.weight", then "2.weight").
  virtual int index_span() const { return 1; }
};

}  // namespace axon::nn
