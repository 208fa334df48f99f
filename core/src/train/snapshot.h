#pragma once
// A copy of the arena's values and every optimizer slot: the NaN guard's rollback state (the
// end of the last good epoch), kept in checkpoints when one is taken mid-epoch.
#include <string>
#include <utility>
#include <vector>

#include "axon/nn/parameter.h"
#include "axon/optim/optimizer.h"
#include "axon/train/trainer.h"

namespace axon::train {

struct Trainer::Snapshot {
  Tensor values;
  std::vector<std::pair<std::string, Tensor>> slots;
  std::int64_t optimizer_steps = 0;  // Adam's bias corrections must match its moments

  void take(nn::ParamArena& arena, std::int64_t steps) {
    optimizer_steps = steps;
    values = arena.values().clone();
    slots.clear();
    for (const auto& [name, slot] : arena.slots()) slots.emplace_back(name, slot.clone());
  }
  // The weights, and with_state's slots and step count.
  void restore(nn::ParamArena& arena, optim::Optimizer* with_state) const {
    arena.values().copy_from(values.to(arena.device()));
    if (with_state == nullptr) return;
    with_state->set_steps(optimizer_steps);
    with_state->reset_state();  // a slot the snapshot lacks starts afresh, at its initial value
    for (const auto& [name, slot] : slots) arena.slot(name).copy_from(slot.to(arena.device()));
  }
};

}  // namespace axon::train
