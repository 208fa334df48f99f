#pragma once
// The command line every example shares: --device cpu|cuda|cuda:N|auto, --epochs, --batch-size,
// --seed, --threads, --optimizer sgd|adam|adamw|rmsprop|adagrad, --lr, --momentum, --metrics FILE,
// plus the options an example adds (--data DIR, --switch-device EPOCH:DEVICE, ...), and
// --distributed: data parallel over the ranks an MPI launcher started (mpirun -np N EXAMPLE ...).
#include <axon/axon.h>

#include <cstdlib>
#include <cstdio>
#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace example {

// --distributed: the ranks of the run. MPI's communicator for CPU tensors; on CUDA, NCCL's (one
// GPU per rank: rank r of a machine takes cuda:(r mod GPUs)), bootstrapped over MPI.
struct Ranks {
  std::unique_ptr<axon::dist::Communicator> mpi;
  std::unique_ptr<axon::dist::Communicator> nccl;  // after mpi: goes first
  axon::dist::Communicator* world() const { return nccl ? nccl.get() : mpi.get(); }
};

struct Options {
  std::string name;
  axon::Device device = axon::best_device();
  std::int64_t epochs = 10;
  std::int64_t batch_size = 64;
  std::uint64_t seed = 1;
  int threads = 0;  // 0: the default (OMP_NUM_THREADS or one per core)
  std::string optimizer = "adam";
  double lr = 1e-3;
  double momentum = 0.9;
  std::string metrics;  // JSON file for the final figures
  std::map<std::string, std::vector<std::string>> extra;  // the example's own options
  std::shared_ptr<Ranks> ranks;  // --distributed
  // The trainer's communicator (nullptr: one process) and this process's rank in it.
  axon::dist::Communicator* world() const { return ranks ? ranks->world() : nullptr; }
  int rank() const { return ranks ? ranks->mpi->rank() : 0; }
};

// Joins the ranks; the device becomes this rank's GPU on CUDA. Ranks other than 0 print nothing
// to stdout (their errors still go to stderr): rank 0 speaks for the run.
inline void join_ranks(Options& o) {
  o.ranks = std::make_shared<Ranks>();
  o.ranks->mpi = axon::dist::mpi();
  if (o.device.is_cuda()) {
    const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_RANK");
    const int local_rank = local != nullptr ? std::atoi(local) : o.ranks->mpi->rank();
    const int gpus = axon::device_count(axon::DeviceType::kCuda);
    if (gpus < 1) throw axon::DeviceError(o.name + ": --distributed on CUDA, but this machine has no GPU");
    o.device = axon::Device::cuda(local_rank % gpus);
    o.ranks->nccl = axon::dist::nccl(*o.ranks->mpi, o.device);
  }
  if (o.rank() != 0 && std::freopen("/dev/null", "w", stdout) == nullptr) {
    throw axon::ValueError(o.name + ": cannot quiet rank " + std::to_string(o.rank()) + "'s output");
  }
}

// Parses argv. `extra` names the example's own options (each takes a value; repeatable).
inline Options parse(int argc, char** argv, Options defaults, const std::vector<std::string>& extra = {}) {
  Options o = std::move(defaults);
  bool distributed = false;
  const auto usage = [&] {
    std::string text = "usage: " + o.name +
                       " [--device cpu|cuda|cuda:N|auto] [--epochs N] [--batch-size N] [--seed N] [--threads N]"
                       " [--optimizer sgd|adam|adamw|rmsprop|adagrad] [--lr X] [--momentum X] [--metrics FILE]"
                       " [--tf32 yes|no] [--distributed]";
    for (const std::string& e : extra) text += " [--" + e + " VALUE]";
    return text;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::printf("%s\n", usage().c_str());
      std::exit(0);
    }
    if (arg == "--distributed") {  // a flag, no value
      distributed = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0 || i + 1 >= argc) throw axon::ValueError(o.name + ": bad argument '" + arg + "'; " + usage());
    const std::string key = arg.substr(2), value = argv[++i];
    if (key == "device") {
      o.device = value == "auto" ? axon::best_device() : axon::Device::parse(value);
    } else if (key == "epochs") {
      o.epochs = std::stoll(value);
    } else if (key == "batch-size") {
      o.batch_size = std::stoll(value);
    } else if (key == "seed") {
      o.seed = std::stoull(value);
    } else if (key == "threads") {
      o.threads = std::stoi(value);
    } else if (key == "optimizer") {
      o.optimizer = value;
    } else if (key == "lr") {
      o.lr = std::stod(value);
    } else if (key == "momentum") {
      o.momentum = std::stod(value);
    } else if (key == "metrics") {
      o.metrics = value;
    } else if (key == "tf32") {
      // CUDA matrix products on TF32 tensor cores (axon/precision.h); no effect on the CPU.
      if (value != "yes" && value != "no") throw axon::ValueError(o.name + ": --tf32 takes yes or no, got '" + value + "'");
      axon::set_allow_tf32(value == "yes");
    } else if (std::find(extra.begin(), extra.end(), key) != extra.end()) {
      o.extra[key].push_back(value);
    } else {
      throw axon::ValueError(o.name + ": unknown option '" + arg + "'; " + usage());
    }
  }
  if (o.threads > 0) axon::set_num_threads(o.threads);
  if (distributed) join_ranks(o);
  return o;
}

// --switch-device EPOCH:DEVICE, repeatable: the run moves to DEVICE at the start of EPOCH
// (Trainer::set_device between two steps: weights, optimizer state and buffers move with it).
class SwitchDevice final : public axon::train::Callback {
 public:
  explicit SwitchDevice(const Options& o) {
    const auto given = o.extra.find("switch-device");
    if (given == o.extra.end()) return;
    for (const std::string& s : given->second) {
      const auto colon = s.find(':');
      if (colon == std::string::npos) throw axon::ValueError(o.name + ": --switch-device wants EPOCH:DEVICE, got " + s);
      plan_[std::stoll(s.substr(0, colon))] = axon::Device::parse(s.substr(colon + 1));
    }
  }
  void on_epoch_begin(axon::train::Trainer& trainer, std::int64_t epoch) override {
    const auto it = plan_.find(epoch);
    if (it == plan_.end()) return;
    std::printf("moving to %s before epoch %lld\n", it->second.str().c_str(), static_cast<long long>(epoch));
    trainer.set_device(it->second);
  }

 private:
  std::map<std::int64_t, axon::Device> plan_;
};

inline std::unique_ptr<axon::optim::Optimizer> make_optimizer(const Options& o, axon::nn::ParamArena& parameters) {
  namespace optim = axon::optim;
  if (o.optimizer == "sgd") return std::make_unique<optim::SGD>(parameters, optim::SgdOptions{.lr = o.lr, .momentum = o.momentum});
  if (o.optimizer == "adam") return std::make_unique<optim::Adam>(parameters, optim::AdamOptions{.lr = o.lr});
  if (o.optimizer == "adamw") return std::make_unique<optim::AdamW>(parameters, optim::AdamOptions{.lr = o.lr, .weight_decay = 1e-2});
  if (o.optimizer == "rmsprop") {
    return std::make_unique<optim::RMSprop>(parameters, optim::RmspropOptions{.lr = o.lr, .momentum = 0.0});
  }
  if (o.optimizer == "adagrad") return std::make_unique<optim::Adagrad>(parameters, optim::AdagradOptions{.lr = o.lr});
  throw axon::ValueError(o.name + ": unknown optimizer '" + o.optimizer + "' (sgd, adam, adamw, rmsprop, adagrad)");
}

// Writes the final figures to the --metrics file as one JSON object (numbers as given, strings
// quoted), atomically as every axon save.
inline void write_metrics(const Options& o, const std::vector<std::pair<std::string, std::string>>& fields) {
  if (o.metrics.empty() || o.rank() != 0) return;
  std::string json = "{";
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) json += ", ";
    json += '"' + fields[i].first + "\": " + fields[i].second;
  }
  axon::io::write_file_atomically(o.metrics, {json + "}\n"});
}

inline std::string quoted(const std::string& text) { return '"' + text + '"'; }
inline std::string number(double value) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.6g", value);
  return text;
}

// The fields every example reports about its training run, after its own.
using Fields = std::vector<std::pair<std::string, std::string>>;
inline Fields with_run_fields(Fields fields, const axon::train::History& history, axon::Device device) {
  const double seconds = std::max(history.train_seconds, 1e-9);
  fields.emplace_back("train_seconds", number(history.train_seconds));
  fields.emplace_back("samples_per_second", number(static_cast<double>(history.samples) / seconds));
  fields.emplace_back("device", quoted(device.str()));
  fields.emplace_back("epochs", std::to_string(history.epochs.size()));
  return fields;
}

// The figures of a data-parallel run: ranks, and per optimizer step the gradient all-reduce's
// bytes and host time (rank 0's).
inline Fields with_distributed_fields(Fields fields, const Options& o, const axon::train::Trainer& trainer) {
  const axon::dist::Communicator* world = o.world();
  fields.emplace_back("ranks", std::to_string(world != nullptr ? world->world_size() : 1));
  if (world == nullptr || trainer.step() == 0) return fields;
  const axon::dist::CommunicatorStats& stats = world->stats();
  const double steps = static_cast<double>(std::max<std::int64_t>(stats.all_reduces, 1));
  fields.emplace_back("allreduce_bytes_per_step", number(static_cast<double>(stats.bytes_reduced) / steps));
  fields.emplace_back("allreduce_ms_per_step", number(1e3 * stats.seconds_reducing / steps));
  return fields;
}

// --export-onnx FILE (an example's own option): writes the model as ONNX for other runtimes.
inline void export_onnx_if_asked(const Options& o, axon::nn::Sequential& model) {
  const auto given = o.extra.find("export-onnx");
  if (given == o.extra.end() || o.rank() != 0) return;
  axon::io::save_onnx(model, given->second.back());
  std::printf("exported the model to %s (ONNX)\n", given->second.back().c_str());
}

// The image classifiers' two endings. evaluate_saved: --load FILE evaluates a saved model on the
// test set, no training. finish_run: after training, evaluates, saves the model when asked
// (--save), prints the result and writes the metrics. Both export it when asked (--export-onnx).
inline void evaluate_saved(const Options& o, axon::nn::Sequential& model, axon::train::Trainer& trainer,
                           const axon::data::Dataset& test, const std::string& file) {
  axon::nn::load_weights(model, file);
  const axon::train::Evaluation loaded = trainer.evaluate(test);
  std::printf("%s: test accuracy %.4f, test loss %.4f\n", file.c_str(), *loaded.accuracy, loaded.loss);
  const Fields own = {{"test_accuracy", number(*loaded.accuracy)}, {"test_loss", number(loaded.loss)}};
  write_metrics(o, with_run_fields(own, axon::train::History{}, trainer.device()));  // no training
  export_onnx_if_asked(o, model);
}

// --import-onnx FILE: a model trained elsewhere (torch.onnx.export of an nn.Sequential, or
// --export-onnx) evaluated on the test set on the chosen device, no training. Its accuracy is
// reported; the loss, too, as cross-entropy of its outputs taken as logits (a model ending in
// Softmax or LogSoftmax gets a different loss, the same accuracy).
inline void evaluate_onnx(const Options& o, const axon::data::Dataset& test, const std::string& file) {
  axon::nn::Sequential model = axon::io::load_onnx(file, o.device);
  std::printf("%s: %zu layers read from ONNX\n", file.c_str(), model.size());
  const auto optimizer = make_optimizer(o, model.parameters());
  axon::train::Trainer trainer(model, *optimizer, axon::nn::CrossEntropyLoss());
  trainer.set_device(o.device);
  const axon::train::Evaluation result = trainer.evaluate(test);
  std::printf("%s: test accuracy %.4f\n", file.c_str(), *result.accuracy);
  const Fields own = {{"test_accuracy", number(*result.accuracy)}, {"test_loss", number(result.loss)}};
  write_metrics(o, with_run_fields(own, axon::train::History{}, trainer.device()));
}

inline void finish_run(const Options& o, axon::nn::Sequential& model, axon::train::Trainer& trainer,
                       const axon::data::Dataset& test, const axon::train::History& history,
                       const std::string& save) {
  const axon::train::Evaluation result = trainer.evaluate(test);
  if (!save.empty() && o.rank() == 0) {
    axon::nn::save_weights(model, save);
    std::printf("saved the model to %s\n", save.c_str());
  }
  export_onnx_if_asked(o, model);
  std::printf("test accuracy %.4f, test loss %.4f (%s, %.1f s training, %.0f samples/s)\n", *result.accuracy,
              result.loss, axon::train::stop_reason_name(history.stop_reason), history.train_seconds,
              static_cast<double>(history.samples) / history.train_seconds);
  const Fields own = {{"test_accuracy", number(*result.accuracy)}, {"test_loss", number(result.loss)}};
  write_metrics(o, with_distributed_fields(with_run_fields(own, history, trainer.device()), o, trainer));
}

}  // namespace example
