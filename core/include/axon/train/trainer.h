#pragma once
// Trainer: fit a model to a dataset with a few lines, watch it learn, move it between devices
// while it trains.
//
//   axon::train::Trainer trainer(model, optimizer, axon::nn::CrossEntropyLoss());
//   trainer.set_device(axon::best_device());
//   auto history = trainer.fit(train, &validation, {.epochs = 10, .batch_size = 128});
//
// Each step gathers a batch on the device from the epoch's permutation, runs forward, loss,
// backward and the optimizer; the loss is summed on the device and read only when shown. fit is
// a short loop over callbacks (Keras's shape): the progress display, the CSV log, checkpoints,
// early stopping and the stopping rules are built-in callbacks (train/callbacks.h) that fit
// makes from its options, beside the program's own.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
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

namespace axon::dist {
class Communicator;  // axon/dist/communicator.h
}

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
  std::int64_t batch_size = 32;        // >= 1; larger than the data set: the whole set
  bool shuffle = true;
  std::uint64_t seed = 0;              // the shuffle order of every epoch, and dropout's masks
  std::optional<double> target_loss;   // stop when an epoch's mean training loss is <= this
  std::optional<double> time_limit_seconds;  // stop after the epoch that passes it
  std::optional<EarlyStopping> early_stopping;  // needs a validation set
  std::optional<float> clip_grad_norm;  // max_norm (torch.nn.utils.clip_grad_norm_), and:
  float clip_norm_type = 2.0f;          // its order (any p > 0, or infinity)
  bool clip_error_if_nonfinite = false;  // a NaN or infinite norm throws (reads it: a sync a step)
  NanPolicy nan_policy = NanPolicy::kThrow;
  Display display = Display::kAuto;
  std::filesystem::path csv_log;       // per-epoch metrics, when not empty
  std::int64_t evaluate_batch_size = 1024;
  // Continue a run (after load_checkpoint): train from where the checkpoint was taken (an epoch's
  // end, or mid-epoch) up to `epochs` in all, with the shuffle order, dropout stream, early
  // stopping and rollback state where they were; else start at epoch 0.
  bool resume = false;
  // Checkpoints: every `checkpoint_every` (>= 1) epochs into
  // checkpoint_dir/checkpoint-EPOCH.safetensors, keeping the newest `keep_checkpoints` (>= 1).
  std::filesystem::path checkpoint_dir;
  std::int64_t checkpoint_every = 1;
  std::int64_t keep_checkpoints = 3;
};

struct EpochMetrics {
  std::int64_t epoch = 0;  // from 1
  double loss = 0;         // mean training loss over the epoch's samples (NaN when every batch was skipped)
  std::optional<double> val_loss;
  std::optional<double> val_accuracy;
  double seconds = 0;
  double samples_per_second = 0;
  double lr = 0;
  std::int64_t skipped_batches = 0;    // by the NaN guard
};

enum class StopReason : std::uint8_t { kMaxEpochs, kTargetLoss, kTimeLimit, kEarlyStopping, kCallback };
AXON_API const char* stop_reason_name(StopReason reason);  // "max epochs", "target loss", ...

struct History {
  std::vector<EpochMetrics> epochs;
  StopReason stop_reason = StopReason::kMaxEpochs;
  double train_seconds = 0;
  std::int64_t samples = 0;  // training samples processed
  std::optional<std::int64_t> best_epoch;  // early stopping's
};

struct Evaluation {
  double loss = 0;
  std::optional<double> accuracy;
  std::int64_t samples = 0;
};

// A piece of state a checkpoint keeps for its owner, by name (tensors, and scalars as text).
using SavedState = optim::OptimizerState;

class Trainer;
class EarlyStopper;  // train/callbacks.h

// Hooks at the boundaries of training. Called on the training thread; a hook may call
// trainer.set_device(), trainer.request_stop() or trainer.save_checkpoint(). A callback with
// state worth resuming (early stopping's best score) names it with state_key(): checkpoints
// taken during a fit keep it, and a resumed fit gives it back to the callback of that key.
class AXON_API Callback {
 public:
  virtual ~Callback() = default;
  virtual void on_train_begin(Trainer&) {}
  virtual void on_epoch_begin(Trainer&, std::int64_t /*epoch*/) {}
  virtual void on_batch_begin(Trainer&, std::int64_t /*step*/) {}
  virtual void on_batch_end(Trainer&, std::int64_t /*step*/) {}
  // The metrics are final: the validation, the NaN guard's count and the schedule's step done.
  virtual void on_epoch_end(Trainer&, const EpochMetrics&) {}
  virtual void on_train_end(Trainer&, const History&) {}

  virtual std::string state_key() const { return {}; }
  virtual void save_state(SavedState& state) const { (void)state; }
  // Throws ValueError for state save_state could not have written, changing nothing.
  virtual void load_state(const SavedState& state) { (void)state; }
};

class AXON_API Trainer {
 public:
  // The model and optimizer must outlive the trainer. Not for two threads at once.
  Trainer(nn::Sequential& model, optim::Optimizer& optimizer, nn::Loss loss);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // Checks every option and the datasets before it changes anything. ValueError when called
  // from a callback of a running fit.
  History fit(const data::Dataset& train, const data::Dataset* validation = nullptr, FitOptions options = {},
              std::vector<Callback*> callbacks = {});
  // Distributed (distribute), a collective: each rank evaluates its contiguous part of the set
  // and the sums are reduced, so every rank returns the whole set's metrics.
  Evaluation evaluate(const data::Dataset& data, std::int64_t batch_size = 1024);
  // The model's outputs for x (any device), in evaluation mode, on the trainer's device.
  Tensor predict(const Tensor& x, std::int64_t batch_size = 1024);

  // Moves the model, its optimizer state and the datasets being trained on; training goes on
  // from the same step. Allowed between any two steps, from a callback too.
  void set_device(Device device);
  Device device() const { return device_; }
  // A schedule stepped once per epoch (with the epoch's monitored metric: the validation loss,
  // else the training loss) or once per batch, by fit.
  void set_schedule(optim::Schedule* schedule, bool per_batch = false);
  void request_stop(StopReason reason = StopReason::kCallback);

  // Data-parallel training over the ranks of `communicator` (axon::dist; nullptr: this process
  // alone). Every rank runs the same program: the same model, optimizer, data and options, and
  // calls fit (and evaluate, save_checkpoint) as the others do; fit checks that they agree.
  // - fit starts from rank 0's weights, buffers and optimizer state (broadcast);
  // - each epoch's permutation of (seed, epoch) is the same everywhere; rank r takes positions
  //   r, r + W, r + 2W, ... of it, the order padded to a multiple of W with its first positions
  //   (as torch's DistributedSampler without drop_last): every rank takes the same number of
  //   batches of batch_size rows (the batch size is per rank, as in DDP);
  // - after each backward one all-reduce averages the flat gradients, so every rank takes the
  //   same optimizer step and keeps bit-identical weights; the NaN guard's skip is agreed;
  // - the epoch's loss, samples and validation (each rank evaluates its part of the set) are
  //   reduced over the ranks; dropout draws from a stream of its own on each rank;
  // - only rank 0 shows progress, writes the CSV log and checkpoints (which record the world
  //   size: a resumed fit needs the same); every rank loads the checkpoint to resume;
  // - a stop asked for by a callback takes effect at the end of the epoch, on every rank;
  // - an error in fit on one rank is reported to the others, whose next collective throws
  //   dist::DistributedError naming that rank.
  // Not while a fit runs. The communicator must outlive the trainer's use of it.
  void distribute(dist::Communicator* communicator);
  dist::Communicator* communicator() const { return comm_; }
  int rank() const;        // 0 without a communicator
  int world_size() const;  // 1 without one

  // Everything a run needs to go on exactly (train/checkpoint.cpp): the parameters, the
  // optimizer's state (its own slots and scalars), the schedule's epoch and state, the epoch,
  // the batch within it and its partial sums when taken mid-epoch, the dropout generator's
  // position, and the state of the running fit's stateful callbacks (early stopping) and of its
  // NaN rollback — one safetensors file, written atomically. Resuming from it
  // (FitOptions::resume) gives the same weights and losses as a run that never stopped, bit for
  // bit on the CPU at a fixed thread count. load_checkpoint is as strict as load_weights (the
  // same parameters, nothing extra), needs the same optimizer kind, and throws FormatError naming
  // the file, changing nothing, otherwise.
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
  const FitOptions& options() const { return options_; }
  bool fitting() const { return fitting_; }

  // ---- the running epoch, for callbacks (the progress display) ----
  std::int64_t batches_in_epoch() const { return batches_; }
  std::int64_t batch_in_epoch() const { return batch_; }       // batches done in this epoch
  std::int64_t samples_in_epoch() const { return samples_in_epoch_; }
  double epoch_seconds() const;
  // The mean loss of this epoch's batches so far: reads the device's sum (a synchronization).
  double epoch_loss();

 private:
  struct Snapshot;
  friend struct CheckpointAccess;

  // One step; false when the NaN guard dropped the batch (kSkip, kRollback).
  // check_loss_now: read the loss before the update even on CUDA with kThrow.
  bool train_step(const Tensor& x, const Tensor& targets, std::int64_t rows, bool check_loss_now = false);
  void check_fit(const data::Dataset& train, const data::Dataset* validation, const FitOptions& options) const;
  void start_fit(const data::Dataset& train, const data::Dataset* validation, FitOptions options);
  History run_fit(const data::Dataset& train, const data::Dataset* validation, FitOptions options,
                  const std::vector<Callback*>& callbacks);
  // The built-in callbacks from the options around the program's; returns the early stopper.
  EarlyStopper* assemble_callbacks(const std::vector<Callback*>& callbacks);
  void place_data();
  void run_batch(std::int64_t b, EpochMetrics& metrics);
  EpochMetrics finish_epoch(EpochMetrics metrics);
  double read_loss_sum();
  // Data parallel (distribute): every rank's fit agrees; rank 0's state everywhere; the epoch's
  // sums over every rank; a stop requested on any rank.
  void agree_on_fit(const data::Dataset& train, const FitOptions& options) const;
  void broadcast_state();
  void reduce_epoch_sums();
  void agree_on_stop();
  std::vector<std::int32_t> epoch_order() const;

  nn::Sequential& model_;
  optim::Optimizer& optimizer_;
  nn::Loss loss_;
  Device device_;
  optim::Schedule* schedule_ = nullptr;
  bool schedule_per_batch_ = false;
  std::optional<StopReason> stop_requested_;
  std::int64_t epoch_ = 0;
  std::int64_t step_ = 0;
  Generator generator_;
  std::uint64_t seed_ = 0;  // of the current run (the checkpoint's, after load_checkpoint)
  // Dropout's stream: seed generator_seed_ on rank 0, one derived from it on each other rank.
  std::uint64_t generator_seed_ = Generator().seed();
  dist::Communicator* comm_ = nullptr;
  std::int64_t checkpoint_world_size_ = 1;  // of the last checkpoint loaded
  bool fitting_ = false;

  // The datasets of the current fit, on device_ (moved by set_device).
  const data::Dataset* train_source_ = nullptr;
  const data::Dataset* validation_source_ = nullptr;
  data::Dataset train_;
  data::Dataset validation_;
  // Per-step buffers on device_: the batch's indices, features and targets; loss and accuracy sums.
  Tensor batch_indices_, batch_x_, batch_y_, loss_sum_, clip_norm_;
  std::int64_t batch_capacity_ = 0;
  std::int64_t epoch_rows_ = 0;  // rows this rank takes per epoch (all of them, on one rank)
  FitOptions options_;
  std::chrono::steady_clock::time_point epoch_start_;
  // Where the running epoch is (kept in checkpoints, so a mid-epoch one resumes exactly).
  std::int64_t batches_ = 0, batch_ = 0, samples_in_epoch_ = 0, skipped_in_epoch_ = 0;
  double seconds_in_epoch_before_ = 0;  // of a resumed epoch, before the checkpoint
  // The NaN rollback's epoch-start state (kRollback).
  std::unique_ptr<Snapshot> last_good_;
  // The running fit's callbacks (the built-in ones it made, and the program's), for their
  // state in checkpoints; and state a checkpoint held for callbacks, until a resumed fit starts.
  std::vector<std::unique_ptr<Callback>> own_callbacks_;
  std::vector<Callback*> callbacks_;
  std::map<std::string, SavedState> pending_callback_state_;
};

}  // namespace axon::train

namespace axon::train {

// k-fold cross-validation (the article recommends it; train/cross_validation.cpp): for each
// fold, a fresh model and optimizer from `make` are trained on the other folds and evaluated on
// this one. Returns each fold's evaluation and the mean and standard deviation of loss and accuracy.
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
