// The soak: fit, save, load and kill in loops for a given time, checking the promises about files
// and faults on every round (scripts/soak SECONDS runs it; CI runs it briefly).
//   axon_soak SECONDS FOLDER   the driver: rounds until SECONDS have passed; exit 1 on a broken promise
//   axon_soak --fit FOLDER     a child: a checkpointing fit, epoch after epoch, until killed
//   axon_soak --save FILE      a child: saves FILE over and over, until killed
// Each round: a checkpointing fit killed at a random moment must leave only whole checkpoints,
// the newest of which resumes; loads racing a save loop must all see a whole file; the
// temporaries killed writers left must be gone after the next save once stale; nothing may
// escape but axon::Error where an error is expected.
#include <signal.h>
#include <spawn.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <axon/axon.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

namespace fs = std::filesystem;
namespace nn = axon::nn;
namespace train = axon::train;
using axon::Tensor;
using Clock = std::chrono::steady_clock;

// Three classes of noisy points in 8-D: enough work for an epoch to take a few milliseconds.
axon::data::Dataset blobs() {
  constexpr std::int64_t kRows = 512;
  std::mt19937 rng(1);
  std::normal_distribution<float> noise(0.0f, 0.5f);
  std::vector<float> x(kRows * 8);
  std::vector<std::int32_t> y(kRows);
  for (std::int64_t i = 0; i < kRows; ++i) {
    y[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(i % 3);
    for (int f = 0; f < 8; ++f) x[static_cast<std::size_t>(i * 8 + f)] = noise(rng) + (f % 3 == i % 3 ? 1.0f : 0.0f);
  }
  return {Tensor::from_vector({kRows, 8}, std::span<const float>(x)),
          Tensor::from_vector({kRows}, std::span<const std::int32_t>(y))};
}

struct Run {
  nn::Sequential model;
  std::unique_ptr<axon::optim::Adam> adam;
  std::unique_ptr<train::Trainer> trainer;
};

Run make_run() {
  Run run;
  axon::Generator generator(5);
  run.model.add(nn::Dense(8, 32, nn::DenseOptions{.generator = &generator}))
      .add(nn::ReLU())
      .add(nn::Dense(32, 3, nn::DenseOptions{.generator = &generator}));
  run.adam = std::make_unique<axon::optim::Adam>(run.model.parameters(), axon::optim::AdamOptions{.lr = 1e-3});
  run.trainer = std::make_unique<train::Trainer>(run.model, *run.adam, nn::CrossEntropyLoss());
  return run;
}

train::FitOptions fit_options(const fs::path& folder, std::int64_t epochs) {
  train::FitOptions options{.epochs = epochs, .batch_size = 32, .seed = 9, .display = train::Display::kQuiet};
  options.checkpoint_dir = folder;
  options.keep_checkpoints = 2;
  return options;
}

int child_fit(const fs::path& folder) {
  Run run = make_run();
  (void)run.trainer->fit(blobs(), nullptr, fit_options(folder, 1'000'000));
  return 0;
}

int child_save(const fs::path& file) {
  const Tensor small = Tensor::full({100, 10}, 1.0f), large = Tensor::full({100, 300}, 2.0f);
  for (long i = 0;; ++i) axon::io::save_safetensors(file, {{"w", i % 2 == 0 ? small : large}});
}

// This program again, in a child mode.
pid_t spawn(const char* mode, const fs::path& where) {
  static const std::string self = fs::read_symlink("/proc/self/exe").string();
  pid_t child = 0;
  const std::string path = where.string();
  char* args[] = {const_cast<char*>(self.c_str()), const_cast<char*>(mode), const_cast<char*>(path.c_str()), nullptr};
  if (posix_spawn(&child, self.c_str(), nullptr, nullptr, args, environ) != 0) return -1;
  return child;
}

void kill_and_reap(pid_t child) {
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
}

struct Tally {
  int rounds = 0, kills = 0, checkpoints_loaded = 0, resumes = 0, racing_loads = 0, broken = 0;
};

void broken(Tally& tally, const std::string& what) {
  ++tally.broken;
  std::fprintf(stderr, "soak: BROKEN PROMISE: %s\n", what.c_str());
}

std::vector<fs::path> temporaries(const fs::path& folder) {
  std::vector<fs::path> found;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (entry.path().filename().string().find(".tmp-") != std::string::npos) found.push_back(entry.path());
  }
  return found;
}

// Ages the temporaries in `folder` past the stale limit; the next save of their target must
// remove them.
void age(const std::vector<fs::path>& paths) {
  const timeval old[2] = {{std::time(nullptr) - 60, 0}, {std::time(nullptr) - 60, 0}};
  for (const auto& path : paths) ::utimes(path.c_str(), old);
}

void fit_round(const fs::path& folder, std::mt19937& rng, Tally& tally) {
  fs::create_directories(folder);
  const pid_t child = spawn("--fit", folder);
  if (child < 0) return broken(tally, "cannot start the fit child");
  std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(20, 400)(rng)));
  kill_and_reap(child);
  ++tally.kills;
  // Every checkpoint left is whole and loads; the newest resumes to a finite model.
  fs::path newest;
  std::int64_t newest_epoch = -1;
  for (const auto& entry : fs::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("checkpoint-")) continue;
    Run run = make_run();
    try {
      run.trainer->load_checkpoint(entry.path());
      ++tally.checkpoints_loaded;
    } catch (const std::exception& e) {
      broken(tally, "checkpoint " + name + " does not load: " + e.what());
      continue;
    }
    if (run.trainer->epoch() > newest_epoch) newest_epoch = run.trainer->epoch(), newest = entry.path();
  }
  if (!newest.empty()) {
    Run run = make_run();
    run.trainer->load_checkpoint(newest);
    train::FitOptions options = fit_options(folder, newest_epoch + 1);
    options.resume = true;
    try {
      (void)run.trainer->fit(blobs(), nullptr, options);
      ++tally.resumes;
      for (const float v : run.model.parameters().values().to_vector()) {
        if (!std::isfinite(v)) return broken(tally, "a resumed run has a non-finite weight");
      }
    } catch (const std::exception& e) {
      broken(tally, "resuming " + newest.string() + " failed: " + e.what());
    }
  }
  // The killed fit's temporaries go with the next save of their checkpoint, once stale.
  const auto left = temporaries(folder);
  age(left);
  for (const auto& path : left) {
    const std::string name = path.filename().string();  // ".checkpoint-N.safetensors.tmp-XXXX"
    const fs::path target = folder / name.substr(1, name.find(".tmp-") - 1);
    axon::io::save_safetensors(target, {{"w", Tensor::ones({1})}});
    fs::remove(target);
  }
  if (!temporaries(folder).empty()) broken(tally, std::to_string(temporaries(folder).size()) + " stale temporaries stay");
  fs::remove_all(folder);
}

void race_round(const fs::path& folder, Tally& tally) {
  fs::create_directories(folder);
  const fs::path file = folder / "racing.safetensors";
  axon::io::save_safetensors(file, {{"w", Tensor::full({100, 10}, 1.0f)}});
  const pid_t child = spawn("--save", file);
  if (child < 0) return broken(tally, "cannot start the save child");
  const auto until = Clock::now() + std::chrono::milliseconds(300);
  while (Clock::now() < until) {
    try {
      const axon::io::Safetensors loaded = axon::io::load_safetensors(file);
      const std::vector<float> values = loaded.at("w").to_vector();
      if (values.empty() || (values.front() != 1.0f && values.front() != 2.0f)) broken(tally, "a load saw a torn file");
      ++tally.racing_loads;
    } catch (const std::exception& e) {
      broken(tally, std::string("a load racing a save failed: ") + e.what());
      break;
    }
  }
  kill_and_reap(child);
  ++tally.kills;
  fs::remove_all(folder);
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc == 3 && std::string(argv[1]) == "--fit") return child_fit(argv[2]);
  if (argc == 3 && std::string(argv[1]) == "--save") return child_save(argv[2]);
  if (argc != 3) {
    std::fprintf(stderr, "usage: axon_soak SECONDS FOLDER\n");
    return 2;
  }
  const double seconds = std::stod(argv[1]);
  const fs::path folder = argv[2];
  const auto until = Clock::now() + std::chrono::duration<double>(seconds);
  std::mt19937 rng(std::random_device{}());
  Tally tally;
  while (Clock::now() < until) {
    fit_round(folder / "fit", rng, tally);
    race_round(folder / "race", tally);
    ++tally.rounds;
  }
  std::printf("soak: %d rounds, %d kills, %d checkpoints loaded, %d resumes, %d racing loads, %d broken promises\n",
              tally.rounds, tally.kills, tally.checkpoints_loaded, tally.resumes, tally.racing_loads, tally.broken);
  return tally.broken == 0 ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "soak: %s\n", e.what());
  return 1;
}
