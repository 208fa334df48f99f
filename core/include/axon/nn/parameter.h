#pragma once
// Parameters and the flat arena that holds a model's parameters, gradients and optimizer state.
//
// A layer owns its Parameters (a name, a value, a gradient). On its own a layer's parameters are
// separate tensors; inside a model they become views of one ParamArena: every value is a segment
// of one flat `values` tensor, every gradient the same segment of `grads`, and an optimizer's
// state (momentum, exp_avg, ...) are more flat tensors of the same length ("slots"). So an
// optimizer step is one fused op over the whole model, and a device move is one copy per flat
// tensor. Segments start on 16-float (64-byte) boundaries; the padding between them stays zero.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "axon/export.h"
#include "axon/tensor.h"

namespace axon::nn {

struct Parameter {
  std::string name;  // within its layer: "weight", "bias"
  Tensor value;
  Tensor grad;       // same shape and device as value
};

// A parameter seen from its model: its full state_dict name ("0.weight") and where it lives.
struct NamedParameter {
  std::string name;
  Parameter* parameter = nullptr;
};

// State a layer keeps that is not trained (BatchNorm's running statistics, as torch's
// buffers): saved and loaded with the parameters under the same kind of name ("1.running_mean"),
// kept in checkpoints, moved with the model, never seen by an optimizer.
struct Buffer {
  std::string name;  // within its layer
  Tensor value;
};

struct NamedBuffer {
  std::string name;  // within its model
  Buffer* buffer = nullptr;
};

class AXON_API ParamArena {
 public:
  ParamArena() = default;
  ParamArena(const ParamArena&) = delete;
  ParamArena& operator=(const ParamArena&) = delete;
  ParamArena(ParamArena&&) = default;
  ParamArena& operator=(ParamArena&&) = default;

  // Gathers the parameters into flat tensors on their (common) device and rebinds each
  // Parameter's value and grad to views of them. Values are kept; gradients start at zero.
  // Throws DeviceError when the parameters are on different devices.
  void bind(std::vector<NamedParameter> parameters);

  // Moves values, gradients and every slot to `device` (one copy each) and rebinds the views.
  void to(Device device);
  Device device() const { return device_; }

  const Tensor& values() const { return values_; }  // [size()]
  const Tensor& grads() const { return grads_; }    // [size()]
  std::int64_t size() const { return size_; }       // elements, padding included
  std::int64_t parameter_count() const;             // elements of the parameters themselves
  const std::vector<NamedParameter>& parameters() const { return parameters_; }
  // Where parameter i's values start in values() (each segment padded to 16 floats).
  std::int64_t offset(std::size_t i) const { return offsets_.at(i); }
  // A number that changes whenever bind() lays the parameters out anew or to() moves them (0
  // before the first bind): an optimizer remakes its views and slots when it changes.
  std::uint64_t layout() const { return layout_; }

  // An optimizer's state: a flat tensor like values(), zero-filled when first asked for.
  // Slots move with the arena (the handle returned views the slot until the next bind() or to()).
  Tensor slot(std::string_view name);
  bool has_slot(std::string_view name) const;
  // Every slot's name and tensor, in creation order (for checkpoints and tests).
  const std::vector<std::pair<std::string, Tensor>>& slots() const { return slots_; }

  void zero_grad();

 private:
  void rebind();
  void new_layout();

  std::vector<NamedParameter> parameters_;
  std::vector<std::int64_t> offsets_;
  std::int64_t size_ = 0;
  Device device_ = Device::cpu();
  Tensor values_;
  Tensor grads_;
  std::vector<std::pair<std::string, Tensor>> slots_;
  std::uint64_t layout_ = 0;
};

}  // namespace axon::nn
