#pragma once
// Layer: one transform of a network with an explicit forward and backward.
//
// A layer writes its output into a tensor it is given and keeps what its backward needs in
// buffers of its own, allocated by reserve() for a batch capacity and reused: a batch of fewer
// rows takes a view of the first rows, so a steady training step allocates nothing. Write your
// own layer by implementing this interface (tests/nn/custom_layer_test.cpp shows a residual
// block made of two Dense children); axon::nn::check_gradients verifies its backward against
// finite differences, and axon::nn::register_layer (nn/registry.h) lets load_model rebuild it.
//
// A layer describes itself: type() and config() are every argument its constructor needs, so a
// model file holds the layers as they were built. Inputs may have any rank: the first axis is
// the batch ([N, F], [N, C, H, W], [N, T, F]).
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "axon/export.h"
#include "axon/nn/layer_config.h"
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

  // "Dense", "ReLU", ...: the type shown by summaries, stored in model files, and the name the
  // registry builds it by.
  virtual std::string type() const = 0;
  // Every constructor argument, by name: what a model file stores beside type() and what the
  // registry's factory for type() reads back. A layer without settings returns none.
  virtual LayerConfig config() const { return {}; }
  // Its settings in a few words for summaries: "784 -> 256", "p=0.5".
  virtual std::string settings() const { return {}; }

  // The per-sample input shape the layer fixes, if it fixes one (Dense: [in]): load_model checks
  // that a model file's layers chain from the first one that does.
  virtual std::optional<Shape> sample_input() const { return std::nullopt; }

  // The output shape for an input shape (first axis: the batch). Throws ShapeError when the
  // input does not fit the layer.
  virtual Shape output_shape(const Shape& input) const = 0;

  // The parameters it owns itself, in a stable order, named within the layer ("weight").
  virtual std::vector<Parameter*> parameters() { return {}; }
  // Its buffers (state that is not trained: running statistics), in a stable order.
  virtual std::vector<Buffer*> buffers() { return {}; }
  // Called after a model file or checkpoint wrote the buffers' values (a layer that keeps a
  // host copy of one reads it again); by default, its children's.
  virtual void on_buffers_loaded() {
    for (const auto& [name, child] : children()) child->on_buffers_loaded();
  }
  // A composite's sublayers, by name, in a stable order: their parameters are the composite's
  // too, named "<child>.<parameter>" as in a PyTorch state_dict (see named_parameters).
  virtual std::vector<std::pair<std::string, Layer*>> children() { return {}; }
  // Draws fresh initial values for its parameters; by default, its children's.
  virtual void reset_parameters(Generator& generator) {
    for (const auto& [name, child] : children()) child->reset_parameters(generator);
  }

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

// Every parameter of `layer` with its name within the layer: its own first, then each child's
// as "<child>.<name>", recursively ("fc1.weight", "block.fc2.bias").
AXON_API std::vector<NamedParameter> named_parameters(Layer& layer);
// ... and its buffers, named the same way.
AXON_API std::vector<NamedBuffer> named_buffers(Layer& layer);

}  // namespace axon::nn
