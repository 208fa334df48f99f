#pragma once
// What the fuzz targets do with one input file, shared with the replay test
// (tests/fuzz/replay_test.cpp) that runs every seed and every past finding in the ordinary
// suite. Each reader may throw only axon::Error; anything else escapes: a crash for the fuzzer,
// a failure for the test.
#include <filesystem>

#include "axon/axon.h"
#include "axon/train/trainer.h"

namespace axon_fuzz {

template <typename F>
void allow_axon_errors(F&& read) {
  try {
    read();
  } catch (const axon::Error&) {
  }
}

// IDX, plain or gzip, read as float32 and as int32.
inline void read_idx_every_way(const std::filesystem::path& path) {
  for (const axon::DType as : {axon::DType::kFloat32, axon::DType::kInt32}) {
    allow_axon_errors([&] { (void)axon::data::read_idx(path, as); });
  }
}

// CSV with a "label" column, every other column a feature, labels as class indices and
// one-hot; then two named feature columns with ';' as the delimiter.
inline void read_csv_every_way(const std::filesystem::path& path) {
  const axon::data::CsvOptions options[] = {
      {.label_column = "label"},
      {.label_column = "label", .one_hot = true},
      {.label_column = "label", .feature_columns = {"a", "b"}, .delimiter = ';'},
  };
  for (const axon::data::CsvOptions& o : options) {
    allow_axon_errors([&] { (void)axon::data::read_csv(path, o); });
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
};

// A safetensors file through every reader that takes one: the plain reader, load_model (the
// layer list in the metadata), load_weights into a fixed model, and load_checkpoint.
inline void read_safetensors_every_way(const std::filesystem::path& path, SafetensorsTarget& target) {
  allow_axon_errors([&] { (void)axon::io::load_safetensors(path); });
  allow_axon_errors([&] { (void)axon::nn::load_model(path); });
  allow_axon_errors([&] { axon::nn::load_weights(target.model, path); });
  allow_axon_errors([&] { target.trainer.load_checkpoint(path); });
}

}  // namespace axon_fuzz
