#pragma once
// Trainer: fit a model to a dataset with a few lines, watch it learn, move it between devices
// while it trains.
//
//   axon::train::Trainer trainer(model, optimizer, axon::nn::CrossEntropyLoss());
//   trainer.set_device(axon::best_device());
//   auto history = trainer.fit(train, &validation, {.epochs = 10, .batch_size = 128});
//
// Each step gathers a batch on the device from the epoch's permutation, runs forward, loss,
// backward and the optimizer; the loss is summed on the device and read only when shown (a
// progress bar redrawn a few times a second on a terminal, one line per epoch otherwise).
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "axon/data/dataset.h"
#include "axon/export.h"
#include "axon/nn/loss.h"
#include "axon/nn/sequential.h"
#include "axon/optim/optimizer.h"
#include "axon/optim/schedule.h"

namespace axon::train {

// What happens when a step's loss is NaN or infinite.
enum class NanPolicy : std::uint8_t {
  kThrow,     // ValueError naming the epoch and step (the default)
  kSkip,      // drop that batch's update and go on
  kRollback,  // restore the weights and optimizer state of the end of the last good epoch, go on
};

struct EarlyStopping {
  bool monitor_accuracy = false;  // else the validation loss
  std::int64_t patience = 5;      // stop after this many epochs without improvement (as Keras)
  double min_delta = 0.0;
  bool restore_best = true;       // put back the weights of the best epoch
};

enum class Display : std::uint8_t { kAuto, kProgressBar, kEpochLines, kQuiet };

struct FitOptions {
  std::int64_t epochs = 10;            // the most epochs (also a stopping rule)
  std::int64_t batch_size = 32;
  bool shuffle = true;
  std::uint64_t seed = 0;              // the shuffle order of every epoch, and dropout's masks
  std::optional<double> target_loss;   // stop when an epoch's mean training loss is <= this
  std::optional<double> time_limit_seconds;  // stop after the epoch that passes it
  std::optional<EarlyStopping> early_stopping;  // needs a validation set
  std::optional<float> clip_grad_norm;
  NanPolicy nan_policy = NanPolicy::kThrow;
  Display display = Display::kAuto;
  std::filesystem::path csv_log;       // per-epoch metrics, when not empty
  std::int64_t evaluate_batch_size = 1024;
  // Continue a run (after load_checkpoint): train from the trainer's epoch up to `epochs` in
  // all, with the shuffle order and dropout stream where they were; else start at epoch 0.
  bool resume = false;
  // Checkpoints: every `checkpoint_every` epochs into checkpoint_dir/checkpoint-EPOCH.safetensors,
  // keeping the newest `keep_checkpoints`.
  std::filesystem::path checkpoint_dir;
  std::int64_t checkpoint_every = 1;
  std::int64_t keep_checkpoints = 3;
};

struct EpochMetrics {
  std::int64_t epoch = 0;  // from 1
  double loss = 0;         // mean training loss over the epoch's samples
  std::optional<double> val_loss;
  std::optional<double> val_accuracy;
  double seconds = 0;
  double samples_per_second = 0;
  double lr = 0;
  std::int64_t skipped_batches = 0;    // by the NaN guard
};

struct History {
  std::vector<EpochMetrics> epochs;
  std::string stop_reason;  // "max epochs", "target loss", "time limit", "early stopping", "callback"
  double train_seconds = 0;
  std::int64_t samples = 0;  // training samples processed
  std::optional<std::int64_t> best_epoch;  // early stopping's
};

struct Evaluation {
  double loss = 0;
  std::optional<double> accuracy;
  std::int64_t samples = 0;
};

class Trainer;

// Hooks at the boundaries of training. Called on the training thread; a hook may call
// trainer.set_device() or trainer.request_stop().
class AXON_API Callback {
 public:
  virtual ~Callback() = default;
  virtual void on_train_begin(Trainer&) {}
  virtual void on_epoch_begin(Trainer&, std::int64_t /*epoch*/) {}
  virtual void on_batch_begin(Trainer&, std::int64_t /*step*/) {}
  virtual void on_batch_end(Trainer&, std::int64_t /*step*/) {}
  virtual void on_epoch_end(Trainer&, const EpochMetrics&) {}
  virtual void on_train_end(Trainer&, const History&) {}
};

class AXON_API Trainer {
 public:
  // The model and optimizer must outlive the trainer.
  Trainer(nn::Sequential& model, optim::Optimizer& optimizer, nn::Loss loss);

  History fit(const data::Dataset& train, const data::Dataset* validation = nullptr, FitOptions options = {},
              std::vector<Callback*> callbacks = {});
  Evaluation evaluate(const data::Dataset& data, std::int64_t batch_size = 1024);
  // The model's outputs for x (any device), in evaluation mode, on the trainer's device.
  Tensor predict(const Tensor& x, std::int64_t batch_size = 1024);

  // Moves the model, its optimizer state and the datasets being trained on; training goes on
  // from the same step. Allowed between any two steps, from a callback too.
  void set_device(Device device);
  Device device() const { return device_; }
  // A schedule stepped once per epoch (or per batch) by fit.
  void set_schedule(optim::Schedule* schedule, bool per_batch = false);
  void request_stop() { stop_requested_ = true; }

  // Everything a run needs to go on exactly: the parameters, the optimizer's state, step count
  // and learning rate, the schedule's epoch, the epoch and step, and the dropout generator's
  // position — one safetensors file, written atomically. Resuming from it (FitOptions::resume)
  // gives the same weights and losses as a run that never stopped, bit for bit on the CPU at a
  // fixed thread count. load_checkpoint needs the same architecture and optimizer kind, and
  // throws FormatError naming the file otherwise.
  void save_checkpoint(const std::filesystem::path& path);
  void load_checkpoint(const std::filesystem::path& path);

  // One training step on a batch, as fit takes it (Keras' train_on_batch): forward, loss,
  // backward, clipping and the update, with the last fit's options (defaults before any). x and
  // targets on the trainer's device. Returns false when the NaN guard dropped the batch (kSkip;
  // kRollback skips too, there is no epoch-start state to roll back to). The loss is checked
  // before the update on every device (on CUDA that reads it: one synchronization). Called from
  // a callback during fit, its loss counts in that epoch's mean but its rows do not.
  bool train_on_batch(const Tensor& x, const Tensor& targets);

  std::int64_t epoch() const { return epoch_; }  // epochs finished
  std::int64_t step() const { return step_; }    // optimizer steps taken
  nn::Sequential& model() { return model_; }
  optim::Optimizer& optimizer() { return optimizer_; }

 private:
  // One step; false when the NaN guard dropped the batch (kSkip, kRollback).
  // check_loss_now: read the loss before the update even on CUDA with kThrow.
  bool train_step(const Tensor& x, const Tensor& targets, std::int64_t rows, bool check_loss_now = false);
  void place_data();
  void show_progress(std::int64_t done, std::int64_t total, bool final_line, const EpochMetrics* metrics);
  double read_loss_sum();

  nn::Sequential& model_;
  optim::Optimizer& optimizer_;
  nn::Loss loss_;
  Device device_;
  optim::Schedule* schedule_ = nullptr;
  bool schedule_per_batch_ = false;
  bool stop_requested_ = false;
  std::int64_t epoch_ = 0;
  std::int64_t step_ = 0;
  Generator generator_;
  std::uint64_t seed_ = 0;  // of the current run (the checkpoint's, after load_checkpoint)

  // The datasets of the current fit, on device_ (moved by set_device).
  const data::Dataset* train_source_ = nullptr;
  const data::Dataset* validation_source_ = nullptr;
  data::Dataset train_;
  data::Dataset validation_;
  // Per-step buffers on device_: the batch's indices, features and targets; loss and accuracy sums.
  Tensor batch_indices_, batch_x_, batch_y_, loss_sum_, clip_norm_;
  std::int64_t batch_capacity_ = 0;
  FitOptions options_;
  std::chrono::steady_clock::time_point epoch_start_, last_draw_;
  std::int64_t samples_in_epoch_ = 0;
  bool progress_bar_ = false;
};

}  // namespace axon::train

namespace axon::train {

// k-fold cross-validation (the article recommends it): for each fold, a fresh model and
// optimizer from `make` are trained on the other folds and evaluated on this one. Returns each
// fold's evaluation and the mean and standard deviation of loss and accuracy.
struct CrossValidation {
  std::vector<Evaluation> folds;
  double mean_loss = 0, std_loss = 0;
  std::optional<double> mean_accuracy, std_accuracy;
};

// What cross_validate needs per fold: a new model (on the device to train on), an optimizer
// over its parameters, and the loss.
struct FoldSetup {
  std::unique_ptr<nn::Sequential> model;
  std::unique_ptr<optim::Optimizer> optimizer;
  nn::Loss loss = nn::MSELoss();
};

AXON_API CrossValidation cross_validate(const data::Dataset& data, int k, const std::function<FoldSetup()>& make,
                                        FitOptions options = {});

}  // namespace axon::train
