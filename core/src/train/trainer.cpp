// The Trainer: fit as a short loop over callbacks, one training step, evaluate and predict.
// Checkpoints are in checkpoint.cpp, cross-validation in cross_validation.cpp, the built-in
// callbacks in callbacks.cpp.
#include "axon/train/trainer.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "axon/dist/communicator.h"
#include "axon/error.h"
#include "axon/ops.h"
#include "axon/train/callbacks.h"
#include "core/src/train/rank_seed.h"
#include "core/src/train/snapshot.h"

namespace axon::train {

namespace {
using Clock = std::chrono::steady_clock;

// The model in evaluation mode for a scope; its mode before is back however the scope ends.
class EvaluationMode {
 public:
  explicit EvaluationMode(nn::Sequential& model) : model_(model), was_training_(model.training()) { model.eval(); }
  ~EvaluationMode() { model_.train(was_training_); }
  EvaluationMode(const EvaluationMode&) = delete;
  EvaluationMode& operator=(const EvaluationMode&) = delete;

 private:
  nn::Sequential& model_;
  bool was_training_;
};

std::uint64_t mix(std::uint64_t hash, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) hash = (hash ^ ((value >> (8 * i)) & 0xff)) * 0x100000001b3ull;
  return hash;
}
}  // namespace

const char* stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::kMaxEpochs: return "max epochs";
    case StopReason::kTargetLoss: return "target loss";
    case StopReason::kTimeLimit: return "time limit";
    case StopReason::kEarlyStopping: return "early stopping";
    case StopReason::kCallback: return "callback";
  }
  return "unknown";
}

Trainer::Trainer(nn::Sequential& model, optim::Optimizer& optimizer, nn::Loss loss)
    : model_(model), optimizer_(optimizer), loss_(std::move(loss)), device_(model.device()) {
  if (&optimizer.parameters() != &model.parameters()) {
    throw ValueError("Trainer: the optimizer was made for another model's parameters");
  }
  if (loss_.reduction() == Reduction::kNone) {
    throw ValueError("Trainer: loss " + loss_.name() +
                     " has reduction none (one value per term); a training step needs mean or sum");
  }
  loss_sum_ = Tensor::zeros({1}, device_);
  clip_norm_ = Tensor::zeros({1}, device_);
}

Trainer::~Trainer() = default;

void Trainer::set_schedule(optim::Schedule* schedule, bool per_batch) {
  schedule_ = schedule;
  schedule_per_batch_ = per_batch;
}

void Trainer::distribute(dist::Communicator* communicator) {
  if (fitting_) throw ValueError("Trainer::distribute: not while a fit runs");
  comm_ = communicator;
  generator_ = Generator(rank_seed(generator_seed_, rank()), generator_.offset());
}

int Trainer::rank() const { return comm_ != nullptr ? comm_->rank() : 0; }
int Trainer::world_size() const { return comm_ != nullptr ? comm_->world_size() : 1; }

void Trainer::request_stop(StopReason reason) {
  if (!stop_requested_) stop_requested_ = reason;  // the first reason given stands
}

void Trainer::place_data() {
  const auto place = [&](const data::Dataset* source, data::Dataset& target) {
    target = source == nullptr ? data::Dataset() : source->device() == device_ ? *source : source->to(device_);
  };
  place(train_source_, train_);
  place(validation_source_, validation_);
}

void Trainer::set_device(Device device) {
  if (device == device_) return;
  model_.to(device);  // parameters, gradients and optimizer state
  device_ = device;
  place_data();
  for (Tensor* t : {&batch_indices_, &loss_sum_, &clip_norm_}) {
    if (t->defined()) *t = t->to(device);
  }
  batch_x_ = batch_y_ = Tensor();  // regrown on the next step
  batch_capacity_ = 0;
}

double Trainer::read_loss_sum() { return static_cast<double>(loss_sum_.item()); }

double Trainer::epoch_seconds() const {
  return seconds_in_epoch_before_ + std::chrono::duration<double>(Clock::now() - epoch_start_).count();
}

double Trainer::epoch_loss() {
  return samples_in_epoch_ > 0 ? read_loss_sum() / static_cast<double>(samples_in_epoch_)
                               : std::numeric_limits<double>::quiet_NaN();
}

// ---- one step ----

bool Trainer::train_on_batch(const Tensor& x, const Tensor& targets) {
  // The model draws dropout's numbers from the trainer's generator for this step only (the
  // trainer may go before the model).
  struct RestoreGenerator {
    nn::Sequential& model;
    Generator* previous;
    ~RestoreGenerator() { model.set_generator(previous); }
  } restore{model_, model_.generator()};
  model_.set_generator(&generator_);
  model_.train();
  return train_step(x, targets, x.shape().rows(), /*check_loss_now=*/true);
}

bool Trainer::train_step(const Tensor& x, const Tensor& targets, std::int64_t rows, bool check_loss_now) {
  loss_.compute(model_.forward(x), targets);
  // The guard reads the step's loss where that costs nothing (the CPU) or where its policy
  // must act before the update; on CUDA with kThrow it checks the sum when it is read.
  const bool check_now = check_loss_now || device_.is_cpu() || options_.nan_policy != NanPolicy::kThrow;
  bool finite = !check_now || std::isfinite(loss_.value().item());
  if (comm_ != nullptr && options_.nan_policy != NanPolicy::kThrow) {
    // Every rank skips the batch when any rank's loss is not finite (else their steps differ).
    double bad = finite ? 0.0 : 1.0;
    comm_->all_reduce(std::span<double>(&bad, 1), dist::Reduction::kMax);
    finite = bad == 0.0;
  }
  if (!finite) {
    if (options_.nan_policy == NanPolicy::kThrow) {
      throw ValueError("Trainer: the loss is " + std::to_string(loss_.value().item()) + " at epoch " +
                       std::to_string(epoch_ + 1) + ", step " + std::to_string(step_ + 1) +
                       " (NanPolicy::kSkip or kRollback would go on)");
    }
    return false;  // fit skips the batch (and rolls back, by policy)
  }
  model_.backward(loss_.grad());
  // Data parallel: the mean of every rank's gradients, one collective over the flat arena.
  if (comm_ != nullptr) comm_->all_reduce(model_.parameters().grads(), dist::Reduction::kAverage);
  if (options_.clip_grad_norm) {
    const GradNormClip clip{*options_.clip_grad_norm, options_.clip_norm_type, options_.clip_error_if_nonfinite};
    clip_grad_norm_out(model_.parameters().grads(), clip, clip_norm_);
    if (clip.skip_nonfinite) {
      try {
        optim::check_finite_norm(clip_norm_, clip.norm_type);
      } catch (const ValueError& e) {
        throw ValueError("Trainer: at epoch " + std::to_string(epoch_ + 1) + ", step " + std::to_string(step_ + 1) +
                         ": " + e.what());
      }
    }
  }
  optimizer_.step();
  axpy(loss_.batch_weight(rows), loss_.value(), loss_sum_);  // summed on the device
  ++step_;
  return true;
}

// ---- fit ----

void Trainer::check_fit(const data::Dataset& train, const data::Dataset* validation, const FitOptions& o) const {
  const std::string where = "Trainer::fit: ";
  if (fitting_) throw ValueError(where + "a fit is running already (fit was called from one of its callbacks)");
  if (train.empty()) throw ValueError(where + "the training set has no rows");
  if (o.batch_size < 1 || o.epochs < 0) throw ValueError(where + "needs batch_size >= 1 and epochs >= 0");
  if (o.evaluate_batch_size < 1) throw ValueError(where + "needs evaluate_batch_size >= 1");
  if (!o.checkpoint_dir.empty() && (o.checkpoint_every < 1 || o.keep_checkpoints < 1)) {
    throw ValueError(where + "needs checkpoint_every >= 1 and keep_checkpoints >= 1 with a checkpoint_dir");
  }
  if (o.clip_grad_norm && !(*o.clip_grad_norm > 0.0f && std::isfinite(*o.clip_grad_norm))) {
    throw ValueError(where + "clip_grad_norm must be positive and finite");
  }
  if (!(o.clip_norm_type > 0.0f)) throw ValueError(where + "clip_norm_type must be > 0 (or infinity)");
  if (loss_.takes_labels() != train.has_labels()) {
    throw DTypeError(where + "loss " + loss_.name() + " does not fit targets " + train.targets().describe());
  }
  (void)model_.output_shape(train.features().shape().with_rows(1));  // ShapeError naming the layer
  if (validation != nullptr && !validation->empty()) {
    const auto per_row = [](const Tensor& t) { return t.shape().with_rows(1); };
    if (per_row(validation->features()) != per_row(train.features()) ||
        per_row(validation->targets()) != per_row(train.targets()) ||
        validation->targets().dtype() != train.targets().dtype()) {
      throw ShapeError(where + "the validation set's rows (" + validation->features().describe() + ", " +
                       validation->targets().describe() + ") do not match the training set's (" +
                       train.features().describe() + ", " + train.targets().describe() + ")");
    }
  }
  if (o.early_stopping) {
    if (validation == nullptr || validation->empty()) throw ValueError(where + "early stopping needs a validation set");
    if (o.early_stopping->monitor_accuracy && !validation->has_labels()) {
      throw ValueError(where + "early stopping on accuracy needs int32 class labels in the validation set");
    }
  }
  if (o.resume && comm_ == nullptr && checkpoint_world_size_ != 1) {  // (distributed: agree_on_fit)
    throw ValueError(where + "the checkpoint was written by a run of " + std::to_string(checkpoint_world_size_) +
                     " rank(s); resuming it needs the same world size (each rank's share of an epoch and its "
                     "dropout stream depend on it)");
  }
  if (o.resume && o.seed != seed_) {
    throw ValueError(where + "resuming a run of seed " + std::to_string(seed_) + " with seed " + std::to_string(o.seed) +
                     " would change its shuffle order");
  }
}

void Trainer::run_batch(std::int64_t b, EpochMetrics& metrics) {
  for (Callback* c : callbacks_) c->on_batch_begin(*this, step_ + 1);
  const std::int64_t n = epoch_rows_;
  const std::int64_t begin = b * options_.batch_size;
  const std::int64_t rows = std::min(options_.batch_size, n - begin);
  if (batch_capacity_ < options_.batch_size || !batch_x_.defined()) {
    batch_x_ = Tensor::empty(train_.features().shape().with_rows(options_.batch_size), device_);
    batch_y_ = Tensor::empty(train_.targets().shape().with_rows(options_.batch_size), device_, train_.targets().dtype());
    batch_capacity_ = options_.batch_size;
  }
  const Tensor indices = batch_indices_.rows(begin, begin + rows);
  const Tensor x = batch_x_.rows(0, rows), y = batch_y_.rows(0, rows);
  gather_rows_out(train_.features(), indices, x);
  gather_rows_out(train_.targets(), indices, y);
  if (train_step(x, y, rows)) {
    samples_in_epoch_ += rows;
  } else {  // the NaN guard dropped the batch
    ++skipped_in_epoch_;
    if (options_.nan_policy == NanPolicy::kRollback) last_good_->restore(model_, &optimizer_);
  }
  if (schedule_ != nullptr && schedule_per_batch_) schedule_->step();
  ++batch_;
  metrics.skipped_batches = skipped_in_epoch_;
  for (Callback* c : callbacks_) c->on_batch_end(*this, step_);
}

EpochMetrics Trainer::finish_epoch(EpochMetrics metrics) {
  const double sum = read_loss_sum();
  if (!std::isfinite(sum)) {
    throw ValueError("Trainer: the training loss became " + std::to_string(sum) + " during epoch " +
                     std::to_string(epoch_ + 1) + " (steps up to " + std::to_string(step_) + ")");
  }
  ++epoch_;
  metrics.loss = epoch_loss();  // NaN when the guard skipped every batch
  metrics.seconds = epoch_seconds();
  metrics.samples_per_second = metrics.seconds > 0 ? static_cast<double>(samples_in_epoch_) / metrics.seconds : 0.0;
  metrics.skipped_batches = skipped_in_epoch_;
  if (!validation_.empty()) {
    const Evaluation v = evaluate(validation_, options_.evaluate_batch_size);
    metrics.val_loss = v.loss;
    metrics.val_accuracy = v.accuracy;
  }
  batch_ = 0;
  samples_in_epoch_ = skipped_in_epoch_ = 0;
  seconds_in_epoch_before_ = 0;
  if (options_.nan_policy == NanPolicy::kRollback) last_good_->take(model_, optimizer_.steps());
  // The monitored metric for the schedule (ReduceLROnPlateau reads it; others just step).
  if (schedule_ != nullptr && !schedule_per_batch_) {
    schedule_->step_after_epoch(metrics.val_loss.value_or(metrics.loss));
  }
  metrics.lr = optimizer_.lr();
  return metrics;
}

// ---- data parallel ----

std::vector<std::int32_t> Trainer::epoch_order() const {
  const std::int64_t n = train_.size();
  std::vector<std::int32_t> order(static_cast<std::size_t>(n));
  if (options_.shuffle) {
    order = data::shuffled_indices(n, options_.seed, static_cast<std::uint64_t>(epoch_));
  } else {
    for (std::int64_t i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(i);
  }
  if (comm_ == nullptr) return order;
  // This rank's positions r, r + W, ... of the order padded with its own first positions.
  const std::int64_t world = comm_->world_size(), r = comm_->rank();
  std::vector<std::int32_t> share(static_cast<std::size_t>(epoch_rows_));
  for (std::int64_t k = 0; k < epoch_rows_; ++k) {
    share[static_cast<std::size_t>(k)] = order[static_cast<std::size_t>((r + k * world) % n)];
  }
  return share;
}

void Trainer::agree_on_fit(const data::Dataset& train, const FitOptions& o) const {
  const std::string where = "Trainer::fit (distributed, rank " + std::to_string(rank()) + " of " +
                            std::to_string(world_size()) + "): ";
  // What every rank must share, hashed: the data's size, the options that shape the steps, the
  // model's size and where the run is. Gathered, so every rank names the same disagreeing ranks.
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (const std::uint64_t v :
       {static_cast<std::uint64_t>(train.size()), static_cast<std::uint64_t>(train.features().numel()),
        static_cast<std::uint64_t>(o.batch_size), static_cast<std::uint64_t>(o.epochs), o.seed,
        static_cast<std::uint64_t>(o.shuffle), static_cast<std::uint64_t>(o.resume),
        static_cast<std::uint64_t>(o.nan_policy), static_cast<std::uint64_t>(o.clip_grad_norm.has_value()),
        static_cast<std::uint64_t>(model_.parameters().values().numel()), static_cast<std::uint64_t>(o.resume ? epoch_ : 0),
        static_cast<std::uint64_t>(o.resume ? step_ : 0), static_cast<std::uint64_t>(o.resume ? batch_ : 0),
        static_cast<std::uint64_t>(o.resume ? checkpoint_world_size_ : 0)}) {
    h = mix(h, v);
  }
  const std::vector<std::uint64_t> all = comm_->all_gather(h);
  std::string differ;
  for (std::size_t r = 1; r < all.size(); ++r) {
    if (all[r] != all[0]) differ += (differ.empty() ? "" : ", ") + std::to_string(r);
  }
  if (!differ.empty()) {
    throw ValueError(where + "rank(s) " + differ + " called fit with other data, options, model size or run " +
                     "position than rank 0 (every rank runs the same fit on the same data)");
  }
  if (o.resume && checkpoint_world_size_ != world_size()) {
    throw ValueError(where + "the checkpoint was written by a run of " + std::to_string(checkpoint_world_size_) +
                     " rank(s); resuming it needs the same world size (each rank's share of an epoch and its "
                     "dropout stream depend on it)");
  }
}

void Trainer::broadcast_state() {
  nn::ParamArena& arena = model_.parameters();
  comm_->broadcast(arena.values(), 0);
  for (const nn::NamedBuffer& b : model_.buffers()) comm_->broadcast(b.buffer->value, 0);
  for (const auto& [name, slot] : arena.slots()) comm_->broadcast(slot, 0);
  for (std::size_t i = 0; i < model_.size(); ++i) model_.layer(i).on_buffers_loaded();
}

void Trainer::reduce_epoch_sums() {
  double sums[2] = {read_loss_sum(), static_cast<double>(samples_in_epoch_)};
  comm_->all_reduce(std::span<double>(sums, 2), dist::Reduction::kSum);
  fill(loss_sum_, static_cast<float>(sums[0]));
  samples_in_epoch_ = static_cast<std::int64_t>(sums[1]);
}

void Trainer::agree_on_stop() {
  // 0: go on; else 1 + the reason. The lowest rank's reason stands.
  const std::uint64_t mine = stop_requested_ ? 1 + static_cast<std::uint64_t>(*stop_requested_) : 0;
  for (const std::uint64_t code : comm_->all_gather(mine)) {
    if (code != 0) {
      stop_requested_ = static_cast<StopReason>(code - 1);
      return;
    }
  }
}

// The fit's state: options, data on the device, and where it starts (afresh, or where a
// checkpoint left it).
void Trainer::start_fit(const data::Dataset& train, const data::Dataset* validation, FitOptions options) {
  options_ = std::move(options);
  // Each rank's share of an epoch: ceil(n / W) rows (the order padded, as DistributedSampler).
  const std::int64_t world = world_size();
  epoch_rows_ = train.size() / world + (train.size() % world != 0 ? 1 : 0);
  options_.batch_size = std::min(options_.batch_size, epoch_rows_);  // larger: the whole share
  train_source_ = &train;
  validation_source_ = validation;
  device_ = model_.device();
  place_data();
  optimizer_.ready();  // its slots exist before any snapshot
  if (!options_.resume) {
    epoch_ = batch_ = samples_in_epoch_ = skipped_in_epoch_ = 0;
    seconds_in_epoch_before_ = 0;
    generator_seed_ = options_.seed;
    generator_ = Generator(rank_seed(generator_seed_, rank()));
    pending_callback_state_.clear();
    last_good_.reset();
  } else {
    generator_ = Generator(rank_seed(generator_seed_, rank()), generator_.offset());
  }
  seed_ = options_.seed;
  model_.set_generator(&generator_);
  stop_requested_.reset();
  loss_sum_ = loss_sum_.defined() && options_.resume ? loss_sum_ : Tensor::zeros({1}, device_);
  clip_norm_ = Tensor::zeros({1}, device_);
  batch_x_ = batch_y_ = Tensor();  // sized for this fit's data on its first batch
  batch_capacity_ = 0;
  const std::int64_t n = epoch_rows_;
  batches_ = n / options_.batch_size + (n % options_.batch_size != 0 ? 1 : 0);
  if (comm_ != nullptr) broadcast_state();  // before the rollback's first snapshot
  if (options_.nan_policy == NanPolicy::kRollback && !last_good_) {
    last_good_ = std::make_unique<Snapshot>();
    last_good_->take(model_, optimizer_.steps());
  }
}

EarlyStopper* Trainer::assemble_callbacks(const std::vector<Callback*>& callbacks) {
  // The built-in callbacks, from the options, then the program's, then the checkpoint saver
  // (last, so an epoch's checkpoint holds what every other callback did).
  own_callbacks_.clear();
  const auto own = [&](std::unique_ptr<Callback> callback) {
    callbacks_.push_back(callback.get());
    own_callbacks_.push_back(std::move(callback));
  };
  // Distributed, only rank 0 shows progress and writes the log (the metrics are every rank's).
  const bool rank0 = rank() == 0;
  own(std::make_unique<ProgressDisplay>(rank0 ? options_.display : Display::kQuiet));
  if (!options_.csv_log.empty() && rank0) own(std::make_unique<CsvLogger>(options_.csv_log));
  EarlyStopper* early = nullptr;
  if (options_.early_stopping) {
    auto stopper = std::make_unique<EarlyStopper>(*options_.early_stopping);
    early = stopper.get();
    own(std::move(stopper));
  }
  own(std::make_unique<StoppingRules>(options_.target_loss, options_.time_limit_seconds));
  callbacks_.insert(callbacks_.end(), callbacks.begin(), callbacks.end());
  if (!options_.checkpoint_dir.empty()) {
    own(std::make_unique<CheckpointSaver>(options_.checkpoint_dir, options_.checkpoint_every, options_.keep_checkpoints));
  }
  // State a checkpoint kept for these callbacks (a resumed run).
  for (Callback* c : callbacks_) {
    const std::string key = c->state_key();
    if (const auto it = pending_callback_state_.find(key); !key.empty() && it != pending_callback_state_.end()) {
      c->load_state(it->second);
    }
  }
  pending_callback_state_.clear();
  return early;
}

History Trainer::fit(const data::Dataset& train, const data::Dataset* validation, FitOptions options,
                     std::vector<Callback*> callbacks) {
  // Whatever way fit ends, the model must not keep our generator nor we the caller's datasets.
  struct EndOfFit {
    Trainer& t;
    bool started = false;
    ~EndOfFit() {
      if (!started) return;
      t.fitting_ = false;
      t.model_.set_generator(nullptr);
      t.train_source_ = t.validation_source_ = nullptr;
      t.train_ = t.validation_ = data::Dataset();
      t.callbacks_.clear();
    }
  } end_of_fit{*this};
  // Distributed, the other ranks must not wait for one that fails: their next collective
  // throws, naming it (a DistributedError from a peer's failure is not told again).
  const auto tell_the_others = [&](const std::exception& e) {
    if (comm_ != nullptr) comm_->report_failure("rank " + std::to_string(rank()) + ": " + e.what());
  };
  try {
    check_fit(train, validation, options);  // before anything changes
  } catch (const std::exception& e) {
    tell_the_others(e);
    throw;
  }
  // (every rank finds the same disagreement: nobody waits, the communicator stays usable)
  if (comm_ != nullptr) agree_on_fit(train, options);
  try {
    end_of_fit.started = fitting_ = true;
    return run_fit(train, validation, std::move(options), callbacks);
  } catch (const std::exception& e) {
    tell_the_others(e);
    throw;
  }
}

History Trainer::run_fit(const data::Dataset& train, const data::Dataset* validation, FitOptions options,
                         const std::vector<Callback*>& callbacks) {
  start_fit(train, validation, std::move(options));
  EarlyStopper* early = assemble_callbacks(callbacks);
  const std::int64_t n = epoch_rows_;
  History history;
  for (Callback* c : callbacks_) c->on_train_begin(*this);
  while (epoch_ < options_.epochs && !stop_requested_) {
    model_.train();
    for (Callback* c : callbacks_) c->on_epoch_begin(*this, epoch_ + 1);
    epoch_start_ = Clock::now();
    if (batch_ == 0) fill(loss_sum_, 0.0f);  // (a resumed epoch keeps its sum so far)
    // The epoch's order (this rank's share of it), from (seed, epoch): one upload per epoch,
    // batches are row views of it.
    const std::vector<std::int32_t> order = epoch_order();
    batch_indices_ = Tensor::from_vector({n}, std::span<const std::int32_t>(order), device_);
    EpochMetrics metrics;
    metrics.epoch = epoch_ + 1;
    // (distributed, a stop waits for the epoch's end: the ranks agree on it there)
    while (batch_ < batches_ && (comm_ != nullptr || !stop_requested_)) run_batch(batch_, metrics);
    if (comm_ != nullptr) reduce_epoch_sums();
    history.samples += samples_in_epoch_;
    metrics = finish_epoch(metrics);
    history.train_seconds += metrics.seconds;
    history.epochs.push_back(metrics);
    for (Callback* c : callbacks_) c->on_epoch_end(*this, metrics);
    if (comm_ != nullptr) agree_on_stop();
  }
  history.stop_reason = stop_requested_.value_or(StopReason::kMaxEpochs);
  if (early != nullptr) history.best_epoch = early->best_epoch();
  for (Callback* c : callbacks_) c->on_train_end(*this, history);
  return history;
}

// ---- evaluate, predict ----

Evaluation Trainer::evaluate(const data::Dataset& data, std::int64_t batch_size) {
  if (data.empty()) throw ValueError("Trainer::evaluate: the dataset has no rows");
  if (batch_size < 1) throw ValueError("Trainer::evaluate: batch_size must be >= 1");
  const data::Dataset on_device = data.device() == device_ ? data : data.to(device_);
  const EvaluationMode mode(model_);
  nn::Loss loss = loss_.fresh();
  const Tensor sum = Tensor::zeros({1}, device_);
  std::int64_t correct = 0;
  const std::int64_t n = on_device.size();
  // Distributed: this rank's contiguous part [n r / W, n (r + 1) / W) of the set.
  const std::int64_t world = world_size(), r = rank();
  const std::int64_t first = n / world * r + std::min<std::int64_t>(n % world, r);
  const std::int64_t last = first + n / world + (r < n % world ? 1 : 0);
  for (std::int64_t begin = first, end = 0; begin < last; begin = end) {
    end = begin + std::min(batch_size, last - begin);  // (begin + batch_size could overflow)
    const data::Dataset batch = on_device.rows(begin, end);
    const Tensor& output = model_.forward(batch.features());
    loss.compute(output, batch.targets(), /*value_only=*/true);
    axpy(loss.batch_weight(end - begin), loss.value(), sum);
    if (batch.has_labels()) {
      const std::vector<std::int32_t> predicted = argmax_rows(output).to_int_vector();
      const std::vector<std::int32_t> truth = batch.targets().to_int_vector();
      for (std::size_t i = 0; i < truth.size(); ++i) correct += predicted[i] == truth[i];
    }
  }
  double sums[2] = {static_cast<double>(sum.item()), static_cast<double>(correct)};
  if (comm_ != nullptr) comm_->all_reduce(std::span<double>(sums, 2), dist::Reduction::kSum);
  correct = static_cast<std::int64_t>(sums[1]);
  Evaluation result;
  result.samples = n;
  result.loss = sums[0] / static_cast<double>(n);
  if (on_device.has_labels()) result.accuracy = static_cast<double>(correct) / static_cast<double>(n);
  return result;
}

Tensor Trainer::predict(const Tensor& x, std::int64_t batch_size) {
  if (!x.defined() || x.rank() < 1) throw ShapeError("Trainer::predict: needs a batch, got " + x.describe());
  if (batch_size < 1) throw ValueError("Trainer::predict: batch_size must be >= 1");
  const Tensor input = x.device() == device_ ? x : x.to(device_);
  const EvaluationMode mode(model_);
  const std::int64_t n = input.dim(0);
  const Shape out_shape = model_.output_shape(input.shape());
  Tensor result = Tensor::empty(out_shape, device_);
  for (std::int64_t begin = 0, end = 0; begin < n; begin = end) {
    end = begin + std::min(batch_size, n - begin);
    result.rows(begin, end).copy_from(model_.forward(input.rows(begin, end)));
  }
  return result;
}

}  // namespace axon::train
