#pragma once
// Sequential: a chain of layers, trained as one model.
//
//   axon::nn::Sequential model;
//   model.add(axon::nn::Dense(784, 256)).add(axon::nn::ReLU()).add(axon::nn::Dense(256, 10));
//   model.to(axon::best_device());
//   const axon::Tensor& logits = model.forward(x);      // keeps what backward needs
//   model.backward(grad_logits);                         // parameters' gradients, in the arena
//
// Parameters are named as a PyTorch nn.Sequential's state_dict ("0.weight", "0.bias",
// "2.weight": every layer, weightless ones too, takes its index) and live in one ParamArena.
// Activations and gradients between layers are buffers planned for the largest batch seen;
// smaller batches use views of them, so a steady step allocates nothing. A Dense followed by an
// activation layer runs both in one fused op.
//
// Threads: forward, backward and the training path are for one thread at a time (a second
// thread entering while one runs gets a ValueError, never wrong numbers); predict may be called
// from several threads at once (they take turns).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "axon/export.h"
#include "axon/nn/layer.h"
#include "axon/nn/parameter.h"

namespace axon::nn {

class AXON_API Sequential {
 public:
  Sequential();
  Sequential(const Sequential&) = delete;
  Sequential& operator=(const Sequential&) = delete;
  // Movable (to return one from a function); an optimizer or trainer built over a model keeps
  // a reference to its arena: build them after the model has its final place.
  Sequential(Sequential&&) = default;
  Sequential& operator=(Sequential&&) = default;

  // Appends a layer (moved in); returns the model, so calls chain.
  template <class L>
    requires std::is_base_of_v<Layer, std::remove_cvref_t<L>>
  Sequential& add(L&& layer) {
    return add(std::unique_ptr<Layer>(std::make_unique<std::remove_cvref_t<L>>(std::forward<L>(layer))));
  }
  Sequential& add(std::unique_ptr<Layer> layer);

  std::size_t size() const { return layers_.size(); }
  Layer& layer(std::size_t i) const;

  // ---- parameters ----
  // The arena of every parameter (built on first use, rebuilt after add()).
  ParamArena& parameters();
  std::int64_t parameter_count();
  // Every layer's buffers with their full names ("1.running_mean"), on the model's device.
  const std::vector<NamedBuffer>& buffers();
  void zero_grad();
  // Draws every layer's initial values again from `generator`.
  void reset_parameters(Generator& generator = default_generator());

  // ---- where and how it runs ----
  // Moves parameters, gradients and optimizer state to `device` (one copy per flat tensor);
  // layer buffers follow on the next forward.
  Sequential& to(Device device);
  Device device();
  void train(bool on = true) { training_ = on; }
  void eval() { training_ = false; }
  bool training() const { return training_; }
  // Dropout's random numbers (default_generator() unless set).
  void set_generator(Generator* generator) { generator_ = generator; }
  Generator* generator() const { return generator_; }

  // ---- the passes ----
  // The output for a batch x ([batch, ...] on the model's device). The returned tensor is a
  // buffer of the model, valid until the next forward; passing it back in (forward(forward(x)))
  // is refused: its memory is overwritten during the pass (clone() it first).
  const Tensor& forward(const Tensor& x);
  // Given dL/d(output) of the last training forward, writes every parameter's gradient. When
  // want_input_grad, also computes dL/dx and returns it (else an undefined tensor).
  // grad_output may be overwritten.
  Tensor backward(const Tensor& grad_output, bool want_input_grad = false);
  // forward in evaluation mode on a copy of x on the model's device; the result is a new tensor
  // on that device. Safe from several threads at once.
  Tensor predict(const Tensor& x);

  // The output shape for an input shape; ShapeError naming the layer that does not fit.
  Shape output_shape(const Shape& input) const;
  // The per-sample input shape (no batch axis): the one the model last ran on, else the one its
  // first layer fixes (a Dense's [in]), else nothing.
  std::optional<Shape> sample_input() const;
  // A table as Keras prints it: index, layer, output shape, parameters; then the totals.
  std::string summary(const Shape& input);

 private:
  void build_arena();
  void plan(const Shape& input, Device device);

  std::vector<std::unique_ptr<Layer>> layers_;
  ParamArena arena_;
  std::vector<NamedBuffer> buffers_;  // made with the arena
  bool arena_built_ = false;
  bool training_ = true;
  Generator* generator_ = nullptr;

  // The plan: which layers run (an activation fused into the Dense before it does not), and
  // the buffers between them, for up to capacity_ rows of input_ (the per-row shape).
  struct Step {
    Layer* layer;
    std::size_t input;   // index into activations_ (0: the model's input)
    std::size_t output;  // index into activations_
  };
  std::vector<Step> steps_;
  std::vector<Shape> shapes_;        // per activation buffer, for capacity_ rows
  std::vector<Tensor> activations_;  // [0] unused: the input is the caller's x
  std::vector<Tensor> gradients_;    // dL/d(activation i), same shapes
  std::int64_t capacity_ = 0;
  Shape row_shape_;                  // input shape without the batch axis
  Device plan_device_ = Device::cpu();
  bool planned_ = false;
  // The last forward: its input and its batch size, for backward.
  Tensor last_input_;
  std::int64_t last_rows_ = 0;
  bool last_training_ = false;
  Tensor output_view_;
  // predict's turns, and the guard against two threads in forward/backward (behind a pointer:
  // the model stays movable).
  struct Concurrency;
  std::shared_ptr<Concurrency> concurrency_;
};

}  // namespace axon::nn
