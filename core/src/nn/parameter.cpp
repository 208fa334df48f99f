#include "axon/nn/parameter.h"

#include <atomic>

#include "axon/error.h"
#include "axon/ops.h"

namespace axon::nn {

namespace {
// Segments start on 16-float (64-byte) boundaries, so each parameter view is as aligned as
// the flat tensor (the vectorised paths of both backends apply to every one).
constexpr std::int64_t kAlignElements = 16;
std::int64_t round_up(std::int64_t n) { return (n + kAlignElements - 1) / kAlignElements * kAlignElements; }
}  // namespace

void ParamArena::bind(std::vector<NamedParameter> parameters) {
  Device device = Device::cpu();
  bool first = true;
  std::int64_t size = 0;
  std::vector<std::int64_t> offsets;
  for (const NamedParameter& named : parameters) {
    const Tensor& value = named.parameter->value;
    if (!value.defined() || value.dtype() != DType::kFloat32) {
      throw ValueError("ParamArena: parameter " + named.name + " must be a defined float32 tensor, got " +
                       value.describe());
    }
    if (first) {
      device = value.device();
      first = false;
    } else if (value.device() != device) {
      throw DeviceError("ParamArena: parameter " + named.name + " is on " + value.device().str() +
                        ", the others on " + device.str() + "; move the model with to() first");
    }
    offsets.push_back(size);
    size += round_up(value.numel());
  }
  Tensor values = Tensor::zeros({size}, device);
  Tensor grads = Tensor::zeros({size}, device);
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    const Tensor& value = parameters[i].parameter->value;
    values.rows(offsets[i], offsets[i] + value.numel()).reshape(value.shape()).copy_from(value);
  }
  parameters_ = std::move(parameters);
  offsets_ = std::move(offsets);
  size_ = size;
  device_ = device;
  values_ = std::move(values);
  grads_ = std::move(grads);
  slots_.clear();
  new_layout();
  rebind();
}

void ParamArena::new_layout() {
  static std::atomic<std::uint64_t> layouts{0};
  layout_ = ++layouts;  // unique across arenas, so no two layouts ever look the same
}

void ParamArena::rebind() {
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    Parameter& p = *parameters_[i].parameter;
    const Shape shape = p.value.shape();
    const std::int64_t begin = offsets_[i];
    const std::int64_t end = begin + shape.numel();
    p.value = values_.rows(begin, end).reshape(shape);
    p.grad = grads_.rows(begin, end).reshape(shape);
  }
}

void ParamArena::to(Device device) {
  if (!values_.defined() || device == device_) {
    device_ = values_.defined() ? device_ : device;
    return;
  }
  Tensor values = values_.to(device);
  Tensor grads = grads_.to(device);
  std::vector<std::pair<std::string, Tensor>> slots;
  for (const auto& [name, tensor] : slots_) slots.emplace_back(name, tensor.to(device));
  values_ = std::move(values);
  grads_ = std::move(grads);
  slots_ = std::move(slots);
  device_ = device;
  new_layout();  // the same places in new memory: views of the old must be remade
  rebind();
}

std::int64_t ParamArena::parameter_count() const {
  std::int64_t count = 0;
  for (const NamedParameter& named : parameters_) count += named.parameter->value.numel();
  return count;
}

Tensor ParamArena::slot(std::string_view name) {
  for (const auto& [slot_name, tensor] : slots_) {
    if (slot_name == name) return tensor;
  }
  if (!values_.defined()) throw ValueError("ParamArena::slot: the arena holds no parameters yet");
  slots_.emplace_back(std::string(name), Tensor::zeros({size_}, device_));
  return slots_.back().second;
}

bool ParamArena::has_slot(std::string_view name) const {
  for (const auto& entry : slots_) {
    if (entry.first == name) return true;
  }
  return false;
}

void ParamArena::zero_grad() {
  if (grads_.defined()) fill(grads_, 0.0f);
}

}  // namespace axon::nn
