#include "axon/train/trainer.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <string_view>

#include "axon/error.h"
#include "core/src/limits.h"
#include "axon/io/safetensors.h"
#include "axon/ops.h"

namespace axon::train {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Copies the arena's values and every optimizer slot (for early stopping's best weights and
// the NaN guard's rollback).
struct Snapshot {
  Tensor values;
  std::vector<std::pair<std::string, Tensor>> slots;
  std::int64_t optimizer_steps = 0;  // Adam's bias corrections must match its moments
  bool taken = false;

  void take(nn::ParamArena& arena, std::int64_t steps) {
    optimizer_steps = steps;
    values = arena.values().clone();
    slots.clear();
    for (const auto& [name, slot] : arena.slots()) slots.emplace_back(name, slot.clone());
    taken = true;
  }
  // with_state: the optimizer's too (its slots and step count), else the weights alone.
  void restore(nn::ParamArena& arena, optim::Optimizer* with_state) const {
    arena.values().copy_from(values.to(arena.device()));
    if (with_state == nullptr) return;
    with_state->set_steps(optimizer_steps);
    for (const auto& [name, slot] : arena.slots()) {
      const std::string& slot_name = name;  // (clang 14 cannot capture a structured binding)
      const auto it = std::find_if(slots.begin(), slots.end(), [&](const auto& s) { return s.first == slot_name; });
      if (it == slots.end()) {
        fill(slot, 0.0f);
      } else {
        slot.copy_from(it->second.to(arena.device()));
      }
    }
  }
};

}  // namespace

Trainer::Trainer(nn::Sequential& model, optim::Optimizer& optimizer, nn::Loss loss)
    : model_(model), optimizer_(optimizer), loss_(std::move(loss)), device_(model.device()) {
  if (&optimizer.parameters() != &model.parameters()) {
    throw ValueError("Trainer: the optimizer was made for another model's parameters");
  }
  loss_sum_ = Tensor::zeros({1}, device_);
  clip_norm_ = Tensor::zeros({1}, device_);
}

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

void Trainer::set_schedule(optim::Schedule* schedule, bool per_batch) {
  schedule_ = schedule;
  schedule_per_batch_ = per_batch;
}

void Trainer::place_data() {
  const auto place = [&](const data::Dataset* source, data::Dataset& target) {
    if (source == nullptr) {
      target = data::Dataset();
    } else {
      target = source->device() == device_ ? *source : source->to(device_);
    }
  };
  place(train_source_, train_);
  place(validation_source_, validation_);
}

void Trainer::set_device(Device device) {
  if (device == device_) return;
  model_.to(device);  // parameters, gradients and optimizer state
  device_ = device;
  place_data();
  const auto move = [&](Tensor& t) {
    if (t.defined()) t = t.to(device);
  };
  move(batch_indices_);
  move(loss_sum_);
  move(clip_norm_);
  batch_x_ = Tensor();  // regrown on the next step
  batch_y_ = Tensor();
  batch_capacity_ = 0;
}

double Trainer::read_loss_sum() { return static_cast<double>(loss_sum_.item()); }

bool Trainer::train_step(const Tensor& x, const Tensor& targets, std::int64_t rows, bool check_loss_now) {
  loss_.compute(model_.forward(x), targets);
  // The guard reads the step's loss where that costs nothing (the CPU) or where its policy
  // must act before the update; on CUDA with kThrow it checks the sum when it is read.
  const bool check_now = check_loss_now || device_.is_cpu() || options_.nan_policy != NanPolicy::kThrow;
  if (check_now && !std::isfinite(loss_.value().item())) {
    if (options_.nan_policy == NanPolicy::kThrow) {
      throw ValueError("Trainer: the loss is " + std::to_string(loss_.value().item()) + " at epoch " +
                       std::to_string(epoch_ + 1) + ", step " + std::to_string(step_ + 1) +
                       " (NanPolicy::kSkip or kRollback would go on)");
    }
    return false;  // fit skips the batch (and rolls back, by policy)
  }
  model_.backward(loss_.grad());
  if (options_.clip_grad_norm) clip_grad_norm_out(model_.parameters().grads(), *options_.clip_grad_norm, clip_norm_);
  optimizer_.step();
  axpy(static_cast<float>(rows), loss_.value(), loss_sum_);  // summed on the device
  ++step_;
  return true;
}

void Trainer::show_progress(std::int64_t done, std::int64_t total, bool final_line, const EpochMetrics* metrics) {
  if (options_.display == Display::kQuiet) return;
  if (metrics != nullptr) {
    std::string line = "epoch " + std::to_string(metrics->epoch) + "/" + std::to_string(options_.epochs);
    char text[256];
    std::snprintf(text, sizeof(text), ": loss %.4f", metrics->loss);
    line += text;
    if (metrics->val_loss) {
      std::snprintf(text, sizeof(text), ", val_loss %.4f", *metrics->val_loss);
      line += text;
    }
    if (metrics->val_accuracy) {
      std::snprintf(text, sizeof(text), ", val_accuracy %.4f", *metrics->val_accuracy);
      line += text;
    }
    std::snprintf(text, sizeof(text), " (%.1f s, %.0f samples/s, lr %.3g, %s)", metrics->seconds,
                  metrics->samples_per_second, metrics->lr, device_.str().c_str());
    line += text;
    std::printf("%s%s\n", progress_bar_ ? "\r\033[K" : "", line.c_str());
    std::fflush(stdout);
    return;
  }
  if (!progress_bar_) return;
  // Redrawn at most four times a second: each redraw reads the loss sum (a device sync).
  if (!final_line && done != 1 && seconds_since(last_draw_) < 0.25) return;
  last_draw_ = Clock::now();
  const double elapsed = seconds_since(epoch_start_);
  const double rate = elapsed > 0 ? static_cast<double>(samples_in_epoch_) / elapsed : 0.0;
  const double eta = done > 0 ? elapsed * static_cast<double>(total - done) / static_cast<double>(done) : 0.0;
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(kWidth * done / std::max<std::int64_t>(total, 1));
  std::string bar(static_cast<std::size_t>(filled), '=');
  if (filled < kWidth) bar += '>';
  bar.resize(kWidth, ' ');
  const double loss = samples_in_epoch_ > 0 ? read_loss_sum() / static_cast<double>(samples_in_epoch_) : 0.0;
  std::printf("\r\033[Kepoch %lld/%lld [%s] %lld/%lld loss %.4f %.0f samples/s ETA %.0fs",
              static_cast<long long>(epoch_ + 1), static_cast<long long>(options_.epochs), bar.c_str(),
              static_cast<long long>(done), static_cast<long long>(total), loss, rate, eta);
  std::fflush(stdout);
}

History Trainer::fit(const data::Dataset& train, const data::Dataset* validation, FitOptions options,
                     std::vector<Callback*> callbacks) {
  if (train.empty()) throw ValueError("Trainer::fit: the training set has no rows");
  if (options.batch_size < 1 || options.epochs < 0) {
    throw ValueError("Trainer::fit: needs batch_size >= 1 and epochs >= 0");
  }
  if (options.early_stopping && (validation == nullptr || validation->empty())) {
    throw ValueError("Trainer::fit: early stopping needs a validation set");
  }
  if (options.early_stopping && options.early_stopping->monitor_accuracy && !validation->has_labels()) {
    throw ValueError("Trainer::fit: early stopping on accuracy needs int32 class labels in the validation set");
  }
  if ((loss_.kind() == LossKind::kSoftmaxCrossEntropy) != train.has_labels()) {
    throw DTypeError("Trainer::fit: loss " + loss_.name() + " does not fit targets " + train.targets().describe());
  }
  options_ = std::move(options);
  train_source_ = &train;
  validation_source_ = validation;
  device_ = model_.device();
  place_data();
  if (!options_.resume) {
    epoch_ = 0;
    generator_ = Generator(options_.seed);
  } else if (options_.seed != seed_) {
    throw ValueError("Trainer::fit: resuming a run of seed " + std::to_string(seed_) + " with seed " +
                     std::to_string(options_.seed) + " would change its shuffle order");
  }
  seed_ = options_.seed;
  model_.set_generator(&generator_);
  stop_requested_ = false;
  progress_bar_ = options_.display == Display::kProgressBar ||
                  (options_.display == Display::kAuto && isatty(STDOUT_FILENO) != 0);
  loss_sum_ = Tensor::zeros({1}, device_);
  clip_norm_ = Tensor::zeros({1}, device_);
  batch_x_ = batch_y_ = Tensor();  // sized for this fit's data on its first batch
  batch_capacity_ = 0;
  std::ofstream csv;
  if (!options_.csv_log.empty()) {
    csv.open(options_.csv_log);
    if (!csv) throw Error("Trainer::fit: cannot write the CSV log " + options_.csv_log.string());
    csv << "epoch,loss,val_loss,val_accuracy,seconds,samples_per_second,lr,skipped_batches\n";
  }

  // Whatever way fit ends, the model must not keep our generator nor we the caller's datasets.
  struct EndOfFit {
    Trainer& trainer;
    ~EndOfFit() {
      trainer.model_.set_generator(nullptr);
      trainer.train_source_ = trainer.validation_source_ = nullptr;
      trainer.train_ = trainer.validation_ = data::Dataset();
    }
  } end_of_fit{*this};
  History history;
  Snapshot best, last_good;
  double best_score = 0;
  std::int64_t bad_epochs = 0;
  if (options_.nan_policy == NanPolicy::kRollback) last_good.take(model_.parameters(), optimizer_.steps());
  const auto fit_start = Clock::now();
  const std::int64_t n = train_.size();
  // A batch larger than the data set is the whole set (and n + batch_size - 1 could overflow).
  options_.batch_size = std::min(options_.batch_size, n);
  const std::int64_t batches = n / options_.batch_size + (n % options_.batch_size != 0 ? 1 : 0);
  for (Callback* c : callbacks) c->on_train_begin(*this);

  while (epoch_ < options_.epochs && !stop_requested_) {
    model_.train();
    for (Callback* c : callbacks) c->on_epoch_begin(*this, epoch_ + 1);
    epoch_start_ = last_draw_ = Clock::now();
    samples_in_epoch_ = 0;
    fill(loss_sum_, 0.0f);
    // The epoch's order: one upload per epoch, batches are row views of it.
    std::vector<std::int32_t> order = options_.shuffle ? data::shuffled_indices(n, options_.seed, static_cast<std::uint64_t>(epoch_))
                                                       : std::vector<std::int32_t>();
    if (!options_.shuffle) {
      order.resize(static_cast<std::size_t>(n));
      for (std::int64_t i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(i);
    }
    batch_indices_ = Tensor::from_vector({n}, std::span<const std::int32_t>(order), device_);
    EpochMetrics metrics;
    metrics.epoch = epoch_ + 1;
    for (std::int64_t b = 0; b < batches && !stop_requested_; ++b) {
      for (Callback* c : callbacks) c->on_batch_begin(*this, step_ + 1);
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
        ++metrics.skipped_batches;
        if (options_.nan_policy == NanPolicy::kRollback) last_good.restore(model_.parameters(), &optimizer_);
      }
      if (schedule_ != nullptr && schedule_per_batch_) schedule_->step();
      for (Callback* c : callbacks) c->on_batch_end(*this, step_);
      show_progress(b + 1, batches, b + 1 == batches, nullptr);
    }
    const double sum = read_loss_sum();
    if (!std::isfinite(sum)) {
      throw ValueError("Trainer: the training loss became " + std::to_string(sum) + " during epoch " +
                       std::to_string(epoch_ + 1) + " (steps up to " + std::to_string(step_) + ")");
    }
    ++epoch_;
    metrics.loss = samples_in_epoch_ > 0 ? sum / static_cast<double>(samples_in_epoch_) : 0.0;
    metrics.seconds = seconds_since(epoch_start_);
    metrics.samples_per_second = metrics.seconds > 0 ? static_cast<double>(samples_in_epoch_) / metrics.seconds : 0.0;
    metrics.lr = optimizer_.lr();
    history.samples += samples_in_epoch_;
    history.train_seconds += metrics.seconds;
    if (!validation_.empty()) {
      const Evaluation v = evaluate(validation_, options_.evaluate_batch_size);
      metrics.val_loss = v.loss;
      metrics.val_accuracy = v.accuracy;
    }
    if (options_.nan_policy == NanPolicy::kRollback) last_good.take(model_.parameters(), optimizer_.steps());
    if (schedule_ != nullptr && !schedule_per_batch_) {
      if (auto* plateau = dynamic_cast<optim::ReduceLROnPlateau*>(schedule_)) {
        plateau->step(metrics.val_loss.value_or(metrics.loss));
      } else {
        schedule_->step();
      }
    }
    history.epochs.push_back(metrics);
    show_progress(batches, batches, true, &metrics);
    if (csv) {
      const auto opt = [](const std::optional<double>& v) { return v ? std::to_string(*v) : std::string(); };
      csv << metrics.epoch << ',' << metrics.loss << ',' << opt(metrics.val_loss) << ',' << opt(metrics.val_accuracy)
          << ',' << metrics.seconds << ',' << metrics.samples_per_second << ',' << metrics.lr << ','
          << metrics.skipped_batches << '\n';
      csv.flush();
    }
    for (Callback* c : callbacks) c->on_epoch_end(*this, metrics);
    if (!options_.checkpoint_dir.empty() && options_.checkpoint_every > 0 && epoch_ % options_.checkpoint_every == 0) {
      std::filesystem::create_directories(options_.checkpoint_dir);
      save_checkpoint(options_.checkpoint_dir / ("checkpoint-" + std::to_string(epoch_) + ".safetensors"));
      // Keep the newest keep_checkpoints.
      const std::int64_t oldest_kept = epoch_ - (options_.keep_checkpoints - 1) * options_.checkpoint_every;
      for (std::int64_t old = oldest_kept - options_.checkpoint_every; old > 0; old -= options_.checkpoint_every) {
        std::error_code ec;
        if (!std::filesystem::remove(options_.checkpoint_dir / ("checkpoint-" + std::to_string(old) + ".safetensors"), ec)) {
          break;
        }
      }
    }

    // ---- stopping rules ----
    if (stop_requested_) {
      history.stop_reason = "callback";
      break;
    }
    if (options_.early_stopping) {
      const EarlyStopping& rule = *options_.early_stopping;
      const double score = rule.monitor_accuracy ? metrics.val_accuracy.value_or(0.0) : -*metrics.val_loss;
      if (!best.taken || score > best_score + rule.min_delta) {
        best_score = score;
        best.take(model_.parameters(), optimizer_.steps());
        history.best_epoch = metrics.epoch;
        bad_epochs = 0;
      } else if (++bad_epochs >= rule.patience) {  // as Keras: `patience` epochs without improvement
        if (rule.restore_best) best.restore(model_.parameters(), nullptr);
        history.stop_reason = "early stopping";
        break;
      }
    }
    if (options_.target_loss && metrics.loss <= *options_.target_loss) {
      history.stop_reason = "target loss";
      break;
    }
    if (options_.time_limit_seconds && seconds_since(fit_start) >= *options_.time_limit_seconds) {
      history.stop_reason = "time limit";
      break;
    }
  }
  if (history.stop_reason.empty()) history.stop_reason = stop_requested_ ? "callback" : "max epochs";
  for (Callback* c : callbacks) c->on_train_end(*this, history);
  return history;
}

namespace {
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
}  // namespace

Evaluation Trainer::evaluate(const data::Dataset& data, std::int64_t batch_size) {
  if (data.empty()) throw ValueError("Trainer::evaluate: the dataset has no rows");
  if (batch_size < 1) throw ValueError("Trainer::evaluate: batch_size must be >= 1");
  const data::Dataset on_device = data.device() == device_ ? data : data.to(device_);
  const EvaluationMode mode(model_);
  nn::Loss loss(loss_.kind(), loss_.params());
  const Tensor sum = Tensor::zeros({1}, device_);
  std::int64_t correct = 0;
  const std::int64_t n = on_device.size();
  for (std::int64_t begin = 0, end = 0; begin < n; begin = end) {
    end = begin + std::min(batch_size, n - begin);  // (begin + batch_size could overflow)
    const data::Dataset batch = on_device.rows(begin, end);
    const Tensor& output = model_.forward(batch.features());
    loss.compute(output, batch.targets(), /*value_only=*/true);
    axpy(static_cast<float>(end - begin), loss.value(), sum);
    if (batch.has_labels()) {
      const std::vector<std::int32_t> predicted = argmax_rows(output).to_int_vector();
      const std::vector<std::int32_t> truth = batch.targets().to_int_vector();
      for (std::size_t i = 0; i < truth.size(); ++i) correct += predicted[i] == truth[i];
    }
  }
  Evaluation result;
  result.samples = n;
  result.loss = static_cast<double>(sum.item()) / static_cast<double>(n);
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

namespace axon::train {

CrossValidation cross_validate(const data::Dataset& dataset, int k, const std::function<FoldSetup()>& make,
                               FitOptions options) {
  CrossValidation result;
  for (const auto& [training, held] : data::k_folds(dataset, k, options.seed)) {
    FoldSetup setup = make();
    if (!setup.model || !setup.optimizer) throw ValueError("cross_validate: the fold setup has no model or optimizer");
    Trainer trainer(*setup.model, *setup.optimizer, std::move(setup.loss));
    (void)trainer.fit(training, nullptr, options);
    result.folds.push_back(trainer.evaluate(held));
  }
  const auto mean_and_std = [&](auto value) {
    double mean = 0, squares = 0;
    for (const Evaluation& e : result.folds) mean += value(e);
    mean /= static_cast<double>(result.folds.size());
    for (const Evaluation& e : result.folds) squares += (value(e) - mean) * (value(e) - mean);
    return std::pair{mean, std::sqrt(squares / static_cast<double>(result.folds.size()))};
  };
  std::tie(result.mean_loss, result.std_loss) = mean_and_std([](const Evaluation& e) { return e.loss; });
  if (result.folds.front().accuracy) {
    const auto [mean, std_dev] = mean_and_std([](const Evaluation& e) { return *e.accuracy; });
    result.mean_accuracy = mean;
    result.std_accuracy = std_dev;
  }
  return result;
}

}  // namespace axon::train

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

std::uint64_t metadata_unsigned(const io::Safetensors& file, const std::string& key) {
  const std::string& text = metadata_text(file, key);
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    bad_checkpoint(file.path, "'" + key + "' is not an unsigned 64-bit number: '" + text + "'");
  }
  return value;
}
}  // namespace

void Trainer::save_checkpoint(const std::filesystem::path& path) {
  nn::ParamArena& arena = model_.parameters();
  std::vector<io::NamedTensor> tensors;
  for (const nn::NamedParameter& p : arena.parameters()) tensors.push_back({"model." + p.name, p.parameter->value});
  for (const auto& [name, slot] : arena.slots()) tensors.push_back({"optimizer." + name, slot});
  char lr[32];
  std::snprintf(lr, sizeof(lr), "%.17g", optimizer_.lr());
  io::save_safetensors(path, tensors,
                       {{"format", "axon-checkpoint"},
                        {"format_version", "1"},
                        {"optimizer", optimizer_.name()},
                        {"optimizer_steps", std::to_string(optimizer_.steps())},
                        {"lr", lr},
                        {"schedule_epoch", std::to_string(schedule_ != nullptr ? schedule_->last_epoch() : 0)},
                        {"schedule_state", schedule_ != nullptr ? schedule_->state() : std::string()},  // "" without one
                        {"epoch", std::to_string(epoch_)},
                        {"step", std::to_string(step_)},
                        {"seed", std::to_string(seed_)},
                        {"generator_seed", std::to_string(generator_.seed())},
                        {"generator_offset", std::to_string(generator_.offset())}});
}

void Trainer::load_checkpoint(const std::filesystem::path& path) {
  const io::Safetensors file = io::load_safetensors(path, device_);
  const auto format = file.metadata.find("format");
  if (format == file.metadata.end() || format->second != "axon-checkpoint") {
    bad_checkpoint(path, "not an axon checkpoint (metadata format is not 'axon-checkpoint')");
  }
  if (const std::string& version = metadata_text(file, "format_version"); version != "1") {
    bad_checkpoint(path, "format version '" + version + "' is not 1");
  }
  if (const std::string& written_for = metadata_text(file, "optimizer"); written_for != optimizer_.name()) {
    bad_checkpoint(path, "was written for optimizer " + written_for + ", this trainer has " + optimizer_.name());
  }
  nn::ParamArena& arena = model_.parameters();
  // Check every tensor before changing anything.
  std::vector<std::pair<Tensor, const Tensor*>> copies;
  for (const nn::NamedParameter& p : arena.parameters()) {
    const Tensor& source = file.at("model." + p.name);
    if (source.shape() != p.parameter->value.shape() || source.dtype() != p.parameter->value.dtype()) {
      bad_checkpoint(path, "parameter " + p.name + " is " + source.describe() + ", the model's " + p.parameter->value.describe());
    }
    copies.emplace_back(p.parameter->value, &source);
  }
  std::vector<std::pair<std::string, const Tensor*>> slots;
  for (const io::NamedTensor& t : file.tensors) {
    if (t.name.rfind("optimizer.", 0) != 0) continue;
    // The state tensors axon's optimizers keep (optimizer.cpp); anything else would become a
    // slot of the arena for good.
    static const std::set<std::string, std::less<>> kSlotNames = {
        "momentum_buffer", "sum", "square_avg", "grad_avg", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
    if (kSlotNames.count(std::string_view(t.name).substr(10)) == 0) {
        bad_checkpoint(path, "unknown optimizer state " + t.name);
    }
    if (t.tensor.shape() != arena.values().shape() || t.tensor.dtype() != DType::kFloat32) {
      bad_checkpoint(path, "optimizer state " + t.name + " is " + t.tensor.describe() + ", the model's arena " +
                               arena.values().describe());
    }
    slots.emplace_back(t.name.substr(10), &t.tensor);
  }
  const std::int64_t steps = metadata_count(file, "optimizer_steps");
  const std::int64_t epoch = metadata_count(file, "epoch");
  const std::int64_t step = metadata_count(file, "step");
  const std::int64_t schedule_epoch = metadata_count(file, "schedule_epoch");
  const std::uint64_t seed = metadata_unsigned(file, "seed");
  const std::uint64_t generator_seed = metadata_unsigned(file, "generator_seed");
  const std::uint64_t generator_offset = metadata_unsigned(file, "generator_offset");
  const std::string& lr_text = metadata_text(file, "lr");
  double lr = 0.0;
  if (const auto [end, error] = std::from_chars(lr_text.data(), lr_text.data() + lr_text.size(), lr);
      error != std::errc() || end != lr_text.data() + lr_text.size() || !std::isfinite(lr) || lr < 0.0) {
    bad_checkpoint(path, "'lr' is not a finite rate >= 0: '" + lr_text + "'");
  }
  // Older checkpoints have no schedule state: the schedule's counters start afresh.
  const auto schedule_state = file.metadata.find("schedule_state");
  if (schedule_ != nullptr) {
    try {
      if (schedule_state != file.metadata.end()) schedule_->check_state(schedule_state->second);
      // The rate the schedule gives at that epoch must be one the optimizer takes.
      const double scheduled = schedule_->lr_at(schedule_epoch);
      if (!std::isfinite(scheduled) || scheduled < 0.0) {
        bad_checkpoint(path, "the schedule's rate at epoch " + std::to_string(schedule_epoch) + " is " +
                                 std::to_string(scheduled));
      }
    } catch (const ValueError& e) {
      bad_checkpoint(path, std::string("schedule: ") + e.what());
    }
  }

  // Everything checked: now change the trainer.
  for (const auto& [target, source] : copies) target.copy_from(*source);
  for (const auto& [name, source] : slots) arena.slot(name).copy_from(*source);
  optimizer_.set_steps(steps);
  optimizer_.set_lr(lr);
  if (schedule_ != nullptr) {
    schedule_->set_last_epoch(schedule_epoch);
    if (schedule_state != file.metadata.end()) schedule_->set_state(schedule_state->second);
  }
  epoch_ = epoch;
  step_ = step;
  seed_ = seed;
  generator_ = Generator(generator_seed, generator_offset);
}

}  // namespace axon::train
