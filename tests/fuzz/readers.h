#pragma once
// What the fuzz targets do with one input file, shared with the replay test
// (tests/fuzz/replay_test.cpp) that runs every seed and every past finding in the ordinary
// suite. Each reader may throw only an axon::Error that names the file, and a failed load must
// leave the model and trainer as they were. Anything else escapes or aborts: a crash for the
// fuzzer, a failure for the test.
#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "axon/axon.h"
#include "axon/train/trainer.h"

namespace axon_fuzz {

[[noreturn]] inline void broken_promise(const std::string& what) {
  std::fprintf(stderr, "axon fuzz: broken promise: %s\n", what.c_str());
  std::abort();
}

// Runs read(); an axon::Error must name `path`. Returns whether it threw.
template <typename F>
bool allow_axon_errors(const std::filesystem::path& path, F&& read) {
  try {
    read();
    return false;
  } catch (const axon::Error& e) {
    if (std::string_view(e.what()).find(path.string()) == std::string_view::npos) {
      broken_promise(std::string("an error that does not name the file: ") + e.what());
    }
    return true;
  }
}

// IDX, plain or gzip, read as float32 and as int32, and with a small output limit (the bound a
// gzip stream's declared size meets).
inline void read_idx_every_way(const std::filesystem::path& path) {
  for (const axon::DType as : {axon::DType::kFloat32, axon::DType::kInt32}) {
    allow_axon_errors(path, [&] { (void)axon::data::read_idx(path, as); });
  }
  allow_axon_errors(path, [&] { (void)axon::data::read_idx(path, {.max_bytes = 4096}); });
}

// ONNX, by load_onnx (the reader and the graph-to-layers builder), then as one tensor file
// (read_onnx_tensor: the same reader's tensor part).
inline void read_onnx_every_way(const std::filesystem::path& path) {
  allow_axon_errors(path, [&] { (void)axon::io::load_onnx(path); });
  allow_axon_errors(path, [&] { (void)axon::io::read_onnx_tensor(path); });
}

// CSV with a "label" column, every other column a feature, labels as class indices and
// one-hot; then two named feature columns with ';' as the delimiter; then small bounds on the
// line length and the one-hot labels (so short inputs reach them).
inline void read_csv_every_way(const std::filesystem::path& path) {
  const axon::data::CsvOptions options[] = {
      {.label_column = "label"},
      {.label_column = "label", .one_hot = true},
      {.label_column = "label", .feature_columns = {"a", "b"}, .delimiter = ';'},
      {.label_column = "label", .one_hot = true, .max_line_bytes = 32, .max_one_hot_bytes = 64},
  };
  for (const axon::data::CsvOptions& o : options) {
    allow_axon_errors(path, [&] { (void)axon::data::read_csv(path, o); });
  }
}

// The model the safetensors seed corpus was saved from (tests/fuzz/make_corpus.cpp), with an
// Adam trainer for checkpoints.
struct SafetensorsTarget {
  axon::nn::Sequential model = [] {
    axon::nn::Sequential m;
    m.add(axon::nn::Dense(4, 3)).add(axon::nn::ReLU()).add(axon::nn::Dense(3, 2));
    return m;
  }();
  axon::optim::Adam optimizer{model.parameters()};
  axon::optim::ReduceLROnPlateau schedule{optimizer};
  axon::train::Trainer trainer{model, optimizer, axon::nn::CrossEntropyLoss()};
  SafetensorsTarget() { trainer.set_schedule(&schedule); }

  // Everything a load may change, to compare after a failed one.
  // (bit patterns: a loaded NaN is unchanged when it is the same NaN)
  struct State {
    std::vector<std::uint32_t> values;
    std::map<std::string, std::vector<std::uint32_t>> slots;
    std::vector<double> group_lrs;
    std::int64_t optimizer_steps, epoch, step;
    std::string schedule;
    bool operator==(const State&) const = default;
  };
  State state() {
    const auto bits = [](const axon::Tensor& t) {
      std::vector<std::uint32_t> out;
      for (const float v : t.to_vector()) out.push_back(std::bit_cast<std::uint32_t>(v));
      return out;
    };
    State s{bits(model.parameters().values()), {}, {}, optimizer.steps(), trainer.epoch(), trainer.step(),
            schedule.state()};
    for (std::size_t g = 0; g < optimizer.group_count(); ++g) s.group_lrs.push_back(optimizer.group_lr(g));
    for (const auto& [name, slot] : model.parameters().slots()) s.slots[name] = bits(slot);
    return s;
  }
};

// A safetensors file through every reader that takes one: the plain reader, load_model (the
// layer list in the metadata), load_weights into a fixed model, and load_checkpoint.
inline void read_safetensors_every_way(const std::filesystem::path& path, SafetensorsTarget& target) {
  allow_axon_errors(path, [&] { (void)axon::io::load_safetensors(path); });
  allow_axon_errors(path, [&] { (void)axon::nn::load_model(path); });
  const SafetensorsTarget::State before = target.state();
  if (allow_axon_errors(path, [&] { axon::nn::load_weights(target.model, path); }) && !(target.state() == before)) {
    broken_promise("a failed load_weights changed the model");
  }
  const SafetensorsTarget::State between = target.state();
  if (allow_axon_errors(path, [&] { target.trainer.load_checkpoint(path); }) && !(target.state() == between)) {
    broken_promise("a failed load_checkpoint changed the trainer");
  }
}

}  // namespace axon_fuzz
