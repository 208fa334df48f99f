// The built-in callbacks (axon/train/callbacks.h).
#include "axon/train/callbacks.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "axon/error.h"
#include "axon/io/safetensors.h"

namespace axon::train {

namespace {
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

std::string exact(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.17g", value);
  return text;
}
}  // namespace

// ---- ProgressDisplay ----

ProgressDisplay::ProgressDisplay(Display display) {
  const bool terminal = isatty(STDOUT_FILENO) != 0;
  bar_ = display == Display::kProgressBar || (display == Display::kAuto && terminal);
  lines_ = display != Display::kQuiet;
}

void ProgressDisplay::on_batch_end(Trainer& trainer, std::int64_t) {
  if (!bar_) return;
  const std::int64_t done = trainer.batch_in_epoch(), total = trainer.batches_in_epoch();
  if (done != total && done != 1 && seconds_since(last_draw_) < 0.25) return;
  last_draw_ = Clock::now();
  const double elapsed = trainer.epoch_seconds();
  const double rate = elapsed > 0 ? static_cast<double>(trainer.samples_in_epoch()) / elapsed : 0.0;
  const double eta = done > 0 ? elapsed * static_cast<double>(total - done) / static_cast<double>(done) : 0.0;
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(kWidth * done / std::max<std::int64_t>(total, 1));
  std::string bar(static_cast<std::size_t>(filled), '=');
  if (filled < kWidth) bar += '>';
  bar.resize(kWidth, ' ');
  std::printf("\r\033[Kepoch %lld/%lld [%s] %lld/%lld loss %.4f %.0f samples/s ETA %.0fs",
              static_cast<long long>(trainer.epoch() + 1), static_cast<long long>(trainer.options().epochs),
              bar.c_str(), static_cast<long long>(done), static_cast<long long>(total), trainer.epoch_loss(), rate, eta);
  std::fflush(stdout);
}

void ProgressDisplay::on_epoch_end(Trainer& trainer, const EpochMetrics& m) {
  if (!lines_) return;
  char text[256];
  std::string line = "epoch " + std::to_string(m.epoch) + "/" + std::to_string(trainer.options().epochs);
  std::snprintf(text, sizeof(text), ": loss %.4f", m.loss);
  line += text;
  if (m.val_loss) {
    std::snprintf(text, sizeof(text), ", val_loss %.4f", *m.val_loss);
    line += text;
  }
  if (m.val_accuracy) {
    std::snprintf(text, sizeof(text), ", val_accuracy %.4f", *m.val_accuracy);
    line += text;
  }
  if (m.skipped_batches > 0) line += ", " + std::to_string(m.skipped_batches) + " batches skipped (NaN guard)";
  std::snprintf(text, sizeof(text), " (%.1f s, %.0f samples/s, lr %.3g, %s)", m.seconds, m.samples_per_second, m.lr,
                trainer.device().str().c_str());
  line += text;
  std::printf("%s%s\n", bar_ ? "\r\033[K" : "", line.c_str());
  std::fflush(stdout);
}

// ---- CsvLogger ----

CsvLogger::CsvLogger(std::filesystem::path path) : path_(std::move(path)) {
  if (path_.empty()) throw ValueError("CsvLogger: the path is empty");
}

void CsvLogger::on_train_begin(Trainer& trainer) {
  rows_.clear();
  // A resumed run keeps the rows of the epochs it does not repeat.
  if (!trainer.options().resume) return;
  std::ifstream in(path_);
  std::string line;
  for (bool header = true; std::getline(in, line); header = false) {
    if (header || line.empty()) continue;
    std::int64_t epoch = 0;
    const auto [end, error] = std::from_chars(line.data(), line.data() + line.size(), epoch);
    if (error == std::errc() && *end == ',' && epoch >= 1 && epoch <= trainer.epoch()) rows_.push_back(line);
  }
}

void CsvLogger::on_epoch_end(Trainer&, const EpochMetrics& m) {
  const auto optional = [](const std::optional<double>& v) { return v ? exact(*v) : std::string(); };
  rows_.push_back(std::to_string(m.epoch) + ',' + exact(m.loss) + ',' + optional(m.val_loss) + ',' +
                  optional(m.val_accuracy) + ',' + exact(m.seconds) + ',' + exact(m.samples_per_second) + ',' +
                  exact(m.lr) + ',' + std::to_string(m.skipped_batches));
  std::string text = "epoch,loss,val_loss,val_accuracy,seconds,samples_per_second,lr,skipped_batches\n";
  for (const std::string& row : rows_) text += row + '\n';
  io::write_file_atomically(path_, {text});
}

// ---- CheckpointSaver ----

CheckpointSaver::CheckpointSaver(std::filesystem::path folder, std::int64_t every, std::int64_t keep)
    : folder_(std::move(folder)), every_(every), keep_(keep) {
  if (every < 1 || keep < 1) {
    throw ValueError("CheckpointSaver: needs every >= 1 and keep >= 1, got every " + std::to_string(every) +
                     ", keep " + std::to_string(keep));
  }
}

void CheckpointSaver::on_epoch_end(Trainer& trainer, const EpochMetrics&) {
  const std::int64_t epoch = trainer.epoch();
  if (epoch % every_ != 0) return;
  // Distributed, every rank calls save_checkpoint (it reduces the epoch's sums); rank 0 writes.
  if (trainer.rank() == 0) std::filesystem::create_directories(folder_);
  trainer.save_checkpoint(folder_ / ("checkpoint-" + std::to_string(epoch) + ".safetensors"));
  if (trainer.rank() != 0) return;
  // The newest `keep` stay.
  for (std::int64_t old = epoch - keep_ * every_; old > 0; old -= every_) {
    std::error_code ec;
    if (!std::filesystem::remove(folder_ / ("checkpoint-" + std::to_string(old) + ".safetensors"), ec)) break;
  }
}

// ---- EarlyStopper ----

EarlyStopper::EarlyStopper(EarlyStopping rule) : rule_(rule) {
  if (rule.patience < 1) throw ValueError("EarlyStopping: patience must be >= 1, got " + std::to_string(rule.patience));
  if (!(rule.min_delta >= 0.0)) throw ValueError("EarlyStopping: min_delta must be >= 0");
}

void EarlyStopper::on_epoch_end(Trainer& trainer, const EpochMetrics& m) {
  const std::optional<double> monitored = rule_.monitor_accuracy ? m.val_accuracy : m.val_loss;
  if (!monitored) throw ValueError("EarlyStopping: the epoch has no validation metric to monitor");
  const double score = rule_.monitor_accuracy ? *monitored : -*monitored;  // higher is better
  if (!best_score_ || score > *best_score_ + rule_.min_delta) {
    best_score_ = score;
    best_epoch_ = m.epoch;
    bad_epochs_ = 0;
    if (rule_.restore_best) best_values_ = trainer.model().parameters().values().clone();
  } else if (++bad_epochs_ >= rule_.patience) {  // as Keras: `patience` epochs without improvement
    trainer.request_stop(StopReason::kEarlyStopping);
  }
}

void EarlyStopper::on_train_end(Trainer& trainer, const History& history) {
  if (history.stop_reason != StopReason::kEarlyStopping || !rule_.restore_best || !best_values_.defined()) return;
  nn::ParamArena& arena = trainer.model().parameters();
  arena.values().copy_from(best_values_.to(arena.device()));
}

void EarlyStopper::save_state(SavedState& state) const {
  state.values["best_score"] = best_score_ ? exact(*best_score_) : "none";
  state.values["best_epoch"] = best_epoch_ ? std::to_string(*best_epoch_) : "none";
  state.values["bad_epochs"] = std::to_string(bad_epochs_);
  if (best_values_.defined()) state.tensors.emplace_back("best_values", best_values_);
}

void EarlyStopper::load_state(const SavedState& state) {
  const auto text = [&](const char* key) -> const std::string& {
    const auto it = state.values.find(key);
    if (it == state.values.end()) throw ValueError(std::string("early stopping state: no '") + key + "'");
    return it->second;
  };
  const auto count = [&](const std::string& value, const char* key) {
    std::int64_t n = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (error != std::errc() || end != value.data() + value.size() || n < 0 || n > (std::int64_t{1} << 53)) {
      throw ValueError(std::string("early stopping state: bad '") + key + "': '" + value + "'");
    }
    return n;
  };
  std::optional<double> score;
  if (const std::string& s = text("best_score"); s != "none") {
    double value = 0;
    const auto [end, error] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (error != std::errc() || end != s.data() + s.size()) throw ValueError("early stopping state: bad 'best_score'");
    score = value;
  }
  std::optional<std::int64_t> epoch;
  if (const std::string& e = text("best_epoch"); e != "none") epoch = count(e, "best_epoch");
  const std::int64_t bad = count(text("bad_epochs"), "bad_epochs");
  Tensor values;
  for (const auto& [name, tensor] : state.tensors) {
    if (name != "best_values") throw ValueError("early stopping state: unknown tensor '" + name + "'");
    values = tensor;
  }
  best_score_ = score;
  best_epoch_ = epoch;
  bad_epochs_ = bad;
  best_values_ = values;
}

// ---- StoppingRules ----

StoppingRules::StoppingRules(std::optional<double> target_loss, std::optional<double> time_limit_seconds)
    : target_loss_(target_loss), time_limit_seconds_(time_limit_seconds) {}

void StoppingRules::on_train_begin(Trainer&) { start_ = Clock::now(); }

void StoppingRules::on_epoch_end(Trainer& trainer, const EpochMetrics& m) {
  // A loss of NaN (every batch skipped) reaches no target.
  if (target_loss_ && m.loss <= *target_loss_) trainer.request_stop(StopReason::kTargetLoss);
  if (time_limit_seconds_ && seconds_since(start_) >= *time_limit_seconds_) trainer.request_stop(StopReason::kTimeLimit);
}

}  // namespace axon::train
