#pragma once
// The built-in callbacks: what fit makes from its options (FitOptions), usable on their own as
// well. Each is one small class (train/callbacks.cpp), as Keras keeps one callback per file.
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "axon/export.h"
#include "axon/train/trainer.h"

namespace axon::train {

// The progress bar on a terminal (redrawn at most four times a second: each redraw reads the
// loss sum, a device synchronization), or one line per epoch; Display::kQuiet shows nothing.
class AXON_API ProgressDisplay final : public Callback {
 public:
  explicit ProgressDisplay(Display display = Display::kAuto);
  void on_batch_end(Trainer& trainer, std::int64_t step) override;
  void on_epoch_end(Trainer& trainer, const EpochMetrics& metrics) override;

 private:
  bool bar_ = false, lines_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
};

// The per-epoch metrics as a CSV file, rewritten atomically after every epoch (a crash keeps
// the rows so far). A resumed fit keeps the rows of the epochs before it.
class AXON_API CsvLogger final : public Callback {
 public:
  explicit CsvLogger(std::filesystem::path path);
  void on_train_begin(Trainer& trainer) override;
  void on_epoch_end(Trainer& trainer, const EpochMetrics& metrics) override;

 private:
  std::filesystem::path path_;
  std::vector<std::string> rows_;
};

// A checkpoint every `every` epochs into folder/checkpoint-EPOCH.safetensors, keeping the
// newest `keep`. every >= 1 and keep >= 1, else ValueError.
class AXON_API CheckpointSaver final : public Callback {
 public:
  CheckpointSaver(std::filesystem::path folder, std::int64_t every = 1, std::int64_t keep = 3);
  void on_epoch_end(Trainer& trainer, const EpochMetrics& metrics) override;

 private:
  std::filesystem::path folder_;
  std::int64_t every_, keep_;
};

// Stops when the monitored validation metric has not improved for `patience` epochs, and puts
// back the best epoch's weights (restore_best) when it stops. Its state (best score, epochs
// without improvement, the best weights) goes into checkpoints, so a resumed run stops where a
// straight one would.
class AXON_API EarlyStopper final : public Callback {
 public:
  explicit EarlyStopper(EarlyStopping rule);
  void on_epoch_end(Trainer& trainer, const EpochMetrics& metrics) override;
  void on_train_end(Trainer& trainer, const History& history) override;
  std::optional<std::int64_t> best_epoch() const { return best_epoch_; }

  std::string state_key() const override { return "early_stopping"; }
  void save_state(SavedState& state) const override;
  void load_state(const SavedState& state) override;

 private:
  EarlyStopping rule_;
  std::optional<double> best_score_;
  std::optional<std::int64_t> best_epoch_;
  std::int64_t bad_epochs_ = 0;
  Tensor best_values_;  // the arena's values at the best epoch (restore_best)
};

// The stopping rules on the training loss and the wall clock.
class AXON_API StoppingRules final : public Callback {
 public:
  StoppingRules(std::optional<double> target_loss, std::optional<double> time_limit_seconds);
  void on_train_begin(Trainer& trainer) override;
  void on_epoch_end(Trainer& trainer, const EpochMetrics& metrics) override;

 private:
  std::optional<double> target_loss_, time_limit_seconds_;
  std::chrono::steady_clock::time_point start_{};
};

}  // namespace axon::train
