// Trainer::save_checkpoint / load_checkpoint: one safetensors file holding everything a run needs
// to go on exactly. Each owner writes its own part, and the file keeps them under prefixes:
//   model.<name>                  the parameters (as save_weights names them)
//   optimizer.<slot>, metadata optimizer.<key>    the optimizer's save_state (it knows its names)
//   callback.<key>.<name>, metadata callback.<key>.<value>   stateful callbacks of the running fit
//   rollback.values, rollback.<slot>              the NaN rollback's state, when taken mid-epoch
// and in the metadata the schedule's epoch and state, the epoch, the batch within it and its
// partial sums, the seed and the dropout generator's position. Format 2; format 1 (before the
// optimizer owned its state) still loads.
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <string_view>

#include "axon/dist/communicator.h"
#include "axon/error.h"
#include "axon/io/safetensors.h"
#include "axon/ops.h"
#include "axon/train/trainer.h"
#include "core/src/limits.h"
#include "core/src/nn/buffer_check.h"
#include "core/src/train/rank_seed.h"
#include "core/src/train/snapshot.h"

namespace axon::train {

namespace {

[[noreturn]] void bad_checkpoint(const std::filesystem::path& path, const std::string& what) {
  throw FormatError("checkpoint " + path.string() + ": " + what);
}

const std::string& metadata_text(const io::Safetensors& file, const std::string& key) {
  const auto it = file.metadata.find(key);
  if (it == file.metadata.end()) bad_checkpoint(file.path, "no '" + key + "' in its metadata");
  return it->second;
}

// A whole number in [0, 2^53] written by std::to_string (core/src/limits.h says why 2^53).
std::int64_t metadata_count(const io::Safetensors& file, const std::string& key) {
  const std::string& text = metadata_text(file, key);
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 0 || value > detail::kMaxRestoredCount) {
    bad_checkpoint(file.path, "'" + key + "' is not a whole number in [0, 2^53]: '" + text + "'");
  }
  return value;
}

std::int64_t metadata_count_or(const io::Safetensors& file, const std::string& key, std::int64_t fallback) {
  return file.metadata.count(key) ? metadata_count(file, key) : fallback;
}

std::uint64_t metadata_unsigned(const io::Safetensors& file, const std::string& key) {
  const std::string& text = metadata_text(file, key);
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    bad_checkpoint(file.path, "'" + key + "' is not an unsigned 64-bit number: '" + text + "'");
  }
  return value;
}

double metadata_number(const io::Safetensors& file, const std::string& key) {
  const std::string& text = metadata_text(file, key);
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || !std::isfinite(value) || value < 0) {
    bad_checkpoint(file.path, "'" + key + "' is not a finite number >= 0: '" + text + "'");
  }
  return value;
}

std::string exact(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.17g", value);
  return text;
}

// The tensors and metadata under `prefix` ("optimizer.") of a file, without the prefix.
SavedState part_of(const io::Safetensors& file, const std::string& prefix) {
  SavedState state;
  for (const io::NamedTensor& t : file.tensors) {
    if (t.name.starts_with(prefix)) state.tensors.emplace_back(t.name.substr(prefix.size()), t.tensor);
  }
  for (const auto& [key, value] : file.metadata) {
    if (key.starts_with(prefix)) state.values[key.substr(prefix.size())] = value;
  }
  return state;
}

void add_part(const SavedState& state, const std::string& prefix, std::vector<io::NamedTensor>& tensors,
              std::map<std::string, std::string>& metadata) {
  for (const auto& [name, tensor] : state.tensors) tensors.push_back({prefix + name, tensor});
  for (const auto& [key, value] : state.values) metadata[prefix + key] = value;
}

}  // namespace

void Trainer::save_checkpoint(const std::filesystem::path& path) {
  // Distributed: every rank calls this; the epoch's partial sums so far are every rank's, and
  // rank 0 writes them (a resumed run gives them back to rank 0 alone).
  double loss_sum = batch_ > 0 ? read_loss_sum() : 0.0;
  std::int64_t samples = samples_in_epoch_;
  if (comm_ != nullptr) {
    double sums[2] = {loss_sum, static_cast<double>(samples)};
    comm_->all_reduce(std::span<double>(sums, 2), dist::Reduction::kSum);
    loss_sum = sums[0];
    samples = static_cast<std::int64_t>(sums[1]);
    if (comm_->rank() != 0) {
      comm_->barrier();  // returns once the file is there
      return;
    }
  }
  nn::ParamArena& arena = model_.parameters();
  std::vector<io::NamedTensor> tensors;
  for (const nn::NamedParameter& p : arena.parameters()) tensors.push_back({"model." + p.name, p.parameter->value});
  for (const nn::NamedBuffer& b : model_.buffers()) tensors.push_back({"model." + b.name, b.buffer->value});
  std::map<std::string, std::string> metadata{
      {"format", "axon-checkpoint"},
      {"format_version", "2"},
      {"optimizer", optimizer_.name()},
      {"schedule_epoch", std::to_string(schedule_ != nullptr ? schedule_->last_epoch() : 0)},
      {"schedule_state", schedule_ != nullptr ? schedule_->state() : std::string()},  // "" without one
      {"epoch", std::to_string(epoch_)},
      {"step", std::to_string(step_)},
      {"seed", std::to_string(seed_)},
      {"generator_seed", std::to_string(generator_seed_)},  // rank 0's (each rank derives its own)
      {"generator_offset", std::to_string(generator_.offset())},
      {"world_size", std::to_string(world_size())}};
  add_part(optimizer_.save_state(), "optimizer.", tensors, metadata);
  // Mid-epoch: where in the epoch, and what it summed so far.
  if (batch_ > 0) {
    metadata["epoch_batch"] = std::to_string(batch_);
    metadata["epoch_samples"] = std::to_string(samples);
    metadata["epoch_skipped"] = std::to_string(skipped_in_epoch_);
    metadata["epoch_loss_sum"] = exact(loss_sum);
    metadata["epoch_seconds"] = exact(epoch_seconds());
    if (last_good_) {
      SavedState rollback;
      rollback.tensors.emplace_back("values", last_good_->values);
      for (const auto& [name, slot] : last_good_->slots) rollback.tensors.emplace_back(name, slot);
      rollback.values["steps"] = std::to_string(last_good_->optimizer_steps);
      add_part(rollback, "rollback.", tensors, metadata);
      const auto& buffers = model_.buffers();
      for (std::size_t i = 0; i < last_good_->buffers.size() && i < buffers.size(); ++i) {
        tensors.push_back({"rollback_buffers." + buffers[i].name, last_good_->buffers[i]});
      }
    }
  }
  // The running fit's callbacks; after a fit, the built-in ones it made (early stopping).
  std::vector<Callback*> stateful = callbacks_;
  if (!fitting_) {
    for (const auto& c : own_callbacks_) stateful.push_back(c.get());
  }
  for (Callback* c : stateful) {
    const std::string key = c->state_key();
    if (key.empty()) continue;
    SavedState state;
    c->save_state(state);
    add_part(state, "callback." + key + ".", tensors, metadata);
  }
  io::save_safetensors(path, tensors, metadata);
  if (comm_ != nullptr) comm_->barrier();
}

void Trainer::load_checkpoint(const std::filesystem::path& path) {
  const io::Safetensors file = io::load_safetensors(path, device_);
  const auto format = file.metadata.find("format");
  if (format == file.metadata.end() || format->second != "axon-checkpoint") {
    bad_checkpoint(path, "not an axon checkpoint (metadata format is not 'axon-checkpoint')");
  }
  const std::string& version = metadata_text(file, "format_version");
  if (version != "1" && version != "2") bad_checkpoint(path, "format version '" + version + "' is not 1 or 2");
  if (const std::string& written_for = metadata_text(file, "optimizer"); written_for != optimizer_.name()) {
    bad_checkpoint(path, "was written for optimizer " + written_for + ", this trainer has " + optimizer_.name());
  }
  nn::ParamArena& arena = model_.parameters();

  // Check everything before changing anything. The parameters: as strict as load_weights.
  // The buffers (BatchNorm's running statistics) likewise.
  std::vector<std::pair<std::string_view, Tensor>> targets;
  for (const nn::NamedParameter& p : arena.parameters()) targets.emplace_back(p.name, p.parameter->value);
  for (const nn::NamedBuffer& b : model_.buffers()) targets.emplace_back(b.name, b.buffer->value);
  std::vector<std::pair<Tensor, const Tensor*>> copies;
  std::set<std::string_view> known;
  for (const auto& [target_name, target] : targets) {
    known.insert(target_name);
    const std::string name = "model." + std::string(target_name);
    const Tensor* source = nullptr;
    for (const io::NamedTensor& t : file.tensors) {
      if (t.name == name) source = &t.tensor;
    }
    if (source == nullptr) bad_checkpoint(path, "has no parameter " + std::string(target_name));
    if (source->shape() != target.shape() || source->dtype() != target.dtype()) {
      bad_checkpoint(path, "parameter " + std::string(target_name) + " is " + source->describe() + ", the model's " +
                               target.describe());
    }
    copies.emplace_back(target, source);
  }
  for (const io::NamedTensor& t : file.tensors) {
    if (t.name.starts_with("model.") && !known.count(std::string_view(t.name).substr(6))) {
      bad_checkpoint(path, "holds parameter " + t.name.substr(6) + ", which the model does not have");
    }
  }
  // The optimizer's state, checked by the optimizer (format 1 kept its steps and rate apart).
  SavedState optimizer_state = part_of(file, "optimizer.");
  if (version == "1") {
    optimizer_state.values = {{"steps", metadata_text(file, "optimizer_steps")}, {"lr", metadata_text(file, "lr")}};
  }
  const bool fresh_v1 = version == "1" && optimizer_state.tensors.empty() && optimizer_state.values["steps"] == "0";
  try {
    if (!fresh_v1) optimizer_.check_state(optimizer_state);
  } catch (const ValueError& e) {
    bad_checkpoint(path, std::string("optimizer: ") + e.what());
  }
  const std::int64_t epoch = metadata_count(file, "epoch");
  const std::int64_t step = metadata_count(file, "step");
  const std::int64_t schedule_epoch = metadata_count(file, "schedule_epoch");
  const std::uint64_t seed = metadata_unsigned(file, "seed");
  const std::uint64_t generator_seed = metadata_unsigned(file, "generator_seed");
  const std::uint64_t generator_offset = metadata_unsigned(file, "generator_offset");
  const std::int64_t world_size = metadata_count_or(file, "world_size", 1);  // (not in older files)
  if (world_size < 1) bad_checkpoint(path, "world_size " + std::to_string(world_size) + " is not >= 1");
  const std::int64_t epoch_batch = metadata_count_or(file, "epoch_batch", 0);
  const std::int64_t epoch_samples = metadata_count_or(file, "epoch_samples", 0);
  const std::int64_t epoch_skipped = metadata_count_or(file, "epoch_skipped", 0);
  const double epoch_loss_sum = epoch_batch > 0 ? metadata_number(file, "epoch_loss_sum") : 0.0;
  const double epoch_seconds = epoch_batch > 0 ? metadata_number(file, "epoch_seconds") : 0.0;
  // Older checkpoints have no schedule state: the schedule's counters start afresh.
  const auto schedule_state = file.metadata.find("schedule_state");
  if (schedule_ != nullptr) {
    try {
      if (schedule_state != file.metadata.end()) schedule_->check_state(schedule_state->second);
      schedule_->check_epoch(schedule_epoch);  // rates the optimizer takes
    } catch (const ValueError& e) {
      bad_checkpoint(path, std::string("schedule: ") + e.what());
    }
  }
  // The rollback state of a mid-epoch checkpoint: the arena's values and slots.
  std::unique_ptr<Snapshot> rollback;
  if (const SavedState saved = part_of(file, "rollback."); !saved.tensors.empty()) {
    rollback = std::make_unique<Snapshot>();
    for (const auto& [name, tensor] : saved.tensors) {
      if (tensor.shape() != arena.values().shape() || tensor.dtype() != DType::kFloat32) {
        bad_checkpoint(path, "rollback state " + name + " is " + tensor.describe() + ", the arena " +
                                 arena.values().describe());
      }
      if (name == "values") {
        rollback->values = tensor;
      } else {
        rollback->slots.emplace_back(name, tensor);
      }
    }
    if (!rollback->values.defined()) bad_checkpoint(path, "rollback state without values");
    const auto steps = saved.values.find("steps");
    if (steps == saved.values.end()) bad_checkpoint(path, "rollback state without steps");
    rollback->optimizer_steps = metadata_count(file, "rollback.steps");
    for (const nn::NamedBuffer& b : model_.buffers()) {  // the buffers' rollback values, strictly
      const std::string name = "rollback_buffers." + b.name;
      const io::NamedTensor* found = nullptr;
      for (const io::NamedTensor& t : file.tensors) {
        if (t.name == name) found = &t;
      }
      if (found == nullptr) bad_checkpoint(path, "rollback state without buffer " + b.name);
      if (found->tensor.shape() != b.buffer->value.shape() || found->tensor.dtype() != b.buffer->value.dtype()) {
        bad_checkpoint(path, "rollback buffer " + b.name + " is " + found->tensor.describe() + ", the model's " +
                                 b.buffer->value.describe());
      }
      rollback->buffers.push_back(found->tensor);
    }
  }
  // The callbacks' state, kept for a resumed fit to give back by key.
  std::map<std::string, SavedState> callback_state;
  for (const io::NamedTensor& t : file.tensors) {
    if (!t.name.starts_with("callback.")) continue;
    const std::size_t dot = t.name.find('.', 9);
    if (dot == std::string::npos) bad_checkpoint(path, "bad callback tensor name " + t.name);
    callback_state[t.name.substr(9, dot - 9)].tensors.emplace_back(t.name.substr(dot + 1), t.tensor);
  }
  for (const auto& [key, value] : file.metadata) {
    if (!key.starts_with("callback.")) continue;
    const std::size_t dot = key.find('.', 9);
    if (dot == std::string::npos) bad_checkpoint(path, "bad callback state key " + key);
    callback_state[key.substr(9, dot - 9)].values[key.substr(dot + 1)] = value;
  }

  // The buffers' values (and those a NaN rollback would restore) as their layers accept them.
  {
    const std::size_t parameter_count = arena.parameters().size();
    std::vector<const Tensor*> buffer_values;
    for (std::size_t i = parameter_count; i < copies.size(); ++i) buffer_values.push_back(copies[i].second);
    nn::detail::check_buffer_values(model_, buffer_values, "checkpoint " + path.string());
    if (rollback && !rollback->buffers.empty()) {
      std::vector<const Tensor*> rollback_values;
      for (const Tensor& t : rollback->buffers) rollback_values.push_back(&t);
      nn::detail::check_buffer_values(model_, rollback_values, "checkpoint " + path.string() + " (its rollback buffers)");
    }
  }

  // Everything checked: now change the trainer.
  for (const auto& [target, source] : copies) target.copy_from(*source);
  for (std::size_t i = 0; i < model_.size(); ++i) model_.layer(i).on_buffers_loaded();
  if (schedule_ != nullptr) {
    schedule_->set_last_epoch(schedule_epoch);
    if (schedule_state != file.metadata.end()) schedule_->set_state(schedule_state->second);
  }
  // (after the schedule: set_last_epoch set its rates for that epoch; the file's rates stand)
  if (fresh_v1) {
    optimizer_.reset_state();
    optimizer_.set_steps(0);
    optimizer_.set_lr(metadata_number(file, "lr"));
  } else {
    optimizer_.load_state(optimizer_state);
  }
  epoch_ = epoch;
  step_ = step;
  seed_ = seed;
  generator_seed_ = generator_seed;
  generator_ = Generator(rank_seed(generator_seed, rank()), generator_offset);
  checkpoint_world_size_ = world_size;
  batch_ = epoch_batch;
  // Distributed, the partial sums are every rank's: rank 0 takes them, the others start at 0.
  const bool keeps_sums = rank() == 0;
  samples_in_epoch_ = keeps_sums ? epoch_samples : 0;
  skipped_in_epoch_ = epoch_skipped;
  seconds_in_epoch_before_ = epoch_seconds;
  if (!loss_sum_.defined() || loss_sum_.device() != device_) loss_sum_ = Tensor::zeros({1}, device_);
  fill(loss_sum_, keeps_sums ? static_cast<float>(epoch_loss_sum) : 0.0f);
  last_good_ = std::move(rollback);
  pending_callback_state_ = std::move(callback_state);
}

}  // namespace axon::train
