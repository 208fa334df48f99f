#pragma once
// A copy of the arena's values, every optimizer slot and the model's buffers: the NaN guard's
// rollback state (the end of the last good epoch), kept in checkpoints when one is taken
// mid-epoch.
#include <string>
#include <utility>
#include <vector>

#include "axon/nn/parameter.h"
#include "axon/nn/sequential.h"
#include "axon/optim/optimizer.h"
#include "axon/train/trainer.h"

namespace axon::train {

struct Trainer::Snapshot {
  Tensor values;
  std::vector<std::pair<std::string, Tensor>> slots;
  std::vector<Tensor> buffers;       // the model's buffers (BatchNorm's running statistics), in order
  std::int64_t optimizer_steps = 0;  // Adam's bias corrections must match its moments

  void take(nn::Sequential& model, std::int64_t steps) {
    nn::ParamArena& arena = model.parameters();
    optimizer_steps = steps;
    values = arena.values().clone();
    slots.clear();
    for (const auto& [name, slot] : arena.slots()) slots.emplace_back(name, slot.clone());
    buffers.clear();
    for (const nn::NamedBuffer& b : model.buffers()) buffers.push_back(b.buffer->value.clone());
  }
  // The weights and buffers, and with_state's slots and step count.
  void restore(nn::Sequential& model, optim::Optimizer* with_state) const {
    nn::ParamArena& arena = model.parameters();
    arena.values().copy_from(values.to(arena.device()));
    const auto& model_buffers = model.buffers();
    for (std::size_t i = 0; i < buffers.size() && i < model_buffers.size(); ++i) {
      model_buffers[i].buffer->value.copy_from(buffers[i]);
    }
    for (std::size_t i = 0; i < model.size(); ++i) model.layer(i).on_buffers_loaded();
    if (with_state == nullptr) return;
    with_state->set_steps(optimizer_steps);
    with_state->reset_state();  // a slot the snapshot lacks starts afresh, at its initial value
    for (const auto& [name, slot] : slots) arena.slot(name).copy_from(slot.to(arena.device()));
  }
};

}  // namespace axon::train
