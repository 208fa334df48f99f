// Synaptic's two sequence tasks (its Trainer's DSR and ERG; docs/synaptic-tasks.md records how
// its source defines them), solved with an LSTM trained by backpropagation through time: an
// LSTM over the one-hot symbols, a linear layer on every step's state, sigmoid cross-entropy
// (BCEWithLogitsLoss) on every step, Adam. Each prints the criterion Synaptic reports and the
// trials (strings) and time it took to reach it.
//
//   sequence_tasks [common options] [--task dsr|erg|both] [--hidden H]
//                  [--max-trials N] [--max-strings N]
//
// Discrete Sequence Recall: 22 random distractors (3, 5, 6, 9) with two targets (2, 4, 7, 8)
// hidden among them, then two prompts (0, 1): at prompt k the network must name the k-th target
// it saw. Success, as Synaptic's: the share of fresh trials in which every step's rounded output
// is right; the goal 0.95. Synaptic's quirk of sorting the targets' positions as strings (so that
// prompt 0 may ask for the later target) is fixed: prompt k asks for the k-th in time.
// Embedded Reber Grammar: strings B (P|T) <Reber string> (T|P) E, the second-to-last symbol the
// opposite of the second, the network predicting each next symbol. Synaptic's error (the mean
// per-step cross-entropy of its prediction) is printed, and, since the next symbol is a random
// choice at most steps, the measure that shows the grammar learned: the share of fresh strings in
// which every step's most likely symbol is one the grammar allows — the long-range step (the
// second-to-last symbol, fixed by the second) included; the goal 0.99. Synaptic's encoding leaves
// out V (its V input and target are zeros): here all seven symbols count.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <random>

#include "example_options.h"

namespace {

namespace nn = axon::nn;
using axon::Tensor;
using Clock = std::chrono::steady_clock;

struct Batch {
  std::vector<float> x, y;  // [count, steps, inputs], [count, steps, outputs]
  std::int64_t count = 0, steps = 0, inputs = 0, outputs = 0;
  Tensor features(axon::Device d) const { return Tensor::from_vector({count, steps, inputs}, std::span<const float>(x), d); }
  Tensor targets(axon::Device d) const { return Tensor::from_vector({count, steps, outputs}, std::span<const float>(y), d); }
};

nn::Sequential lstm_model(std::int64_t inputs, std::int64_t hidden, std::int64_t outputs, std::uint64_t seed, axon::Device d) {
  axon::Generator generator(seed);
  nn::Sequential model;
  model.add(nn::LSTM(inputs, hidden, &generator)).add(nn::Dense(hidden, outputs, nn::DenseOptions{.generator = &generator}));
  model.to(d);
  return model;
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// ---- Discrete Sequence Recall ----

constexpr std::int64_t kDsrLength = 24, kDsrPrompts = 2, kDsrSymbols = 10;
constexpr int kTargets[] = {2, 4, 7, 8}, kDistractors[] = {3, 5, 6, 9}, kPrompts[] = {0, 1};

Batch dsr_trials(std::int64_t count, std::mt19937& rng) {
  Batch b{.count = count, .steps = kDsrLength, .inputs = kDsrSymbols, .outputs = 4};
  b.x.assign(static_cast<std::size_t>(count * kDsrLength * kDsrSymbols), 0.0f);
  b.y.assign(static_cast<std::size_t>(count * kDsrLength * 4), 0.0f);
  std::uniform_int_distribution<int> four(0, 3), position(0, kDsrLength - kDsrPrompts - 1);
  for (std::int64_t n = 0; n < count; ++n) {
    std::vector<int> symbols(kDsrLength);
    for (std::int64_t t = 0; t < kDsrLength - kDsrPrompts; ++t) symbols[static_cast<std::size_t>(t)] = kDistractors[four(rng)];
    int positions[kDsrPrompts];
    do {
      positions[0] = position(rng), positions[1] = position(rng);
    } while (positions[0] == positions[1]);
    std::sort(positions, positions + kDsrPrompts);  // in time (Synaptic sorts them as strings)
    int asked[kDsrPrompts];
    for (int k = 0; k < kDsrPrompts; ++k) {
      asked[k] = four(rng);
      symbols[static_cast<std::size_t>(positions[k])] = kTargets[asked[k]];
      symbols[static_cast<std::size_t>(kDsrLength - kDsrPrompts + k)] = kPrompts[k];
    }
    for (std::int64_t t = 0; t < kDsrLength; ++t) {
      b.x[static_cast<std::size_t>((n * kDsrLength + t) * kDsrSymbols + symbols[static_cast<std::size_t>(t)])] = 1.0f;
    }
    for (int k = 0; k < kDsrPrompts; ++k) b.y[static_cast<std::size_t>((n * kDsrLength + kDsrLength - kDsrPrompts + k) * 4 + asked[k])] = 1.0f;
  }
  return b;
}

// Synaptic's success: trials whose every step's rounded sigmoid output equals the target.
double dsr_success(axon::train::Trainer& trainer, const Batch& test, axon::Device d) {
  const std::vector<float> logits = trainer.predict(test.features(d)).to_vector();
  std::int64_t right = 0;
  const std::size_t per_trial = static_cast<std::size_t>(test.steps * test.outputs);
  for (std::int64_t n = 0; n < test.count; ++n) {
    bool all = true;
    for (std::size_t k = static_cast<std::size_t>(n) * per_trial; all && k < (static_cast<std::size_t>(n) + 1) * per_trial; ++k) {
      all = (logits[k] > 0.0f) == (test.y[k] > 0.5f);  // round(sigmoid) is 1 exactly when the logit is > 0
    }
    right += all;
  }
  return static_cast<double>(right) / static_cast<double>(test.count);
}

example::Fields run_dsr(const example::Options& o, std::int64_t hidden, std::int64_t max_trials, axon::train::History& run) {
  std::mt19937 rng(static_cast<std::uint32_t>(o.seed));
  nn::Sequential model = lstm_model(kDsrSymbols, hidden, 4, o.seed, o.device);
  const auto optimizer = example::make_optimizer(o, model.parameters());
  axon::train::Trainer trainer(model, *optimizer, nn::BCEWithLogitsLoss());
  const Batch test = dsr_trials(1000, rng);
  const axon::data::Dataset test_set(test.features(o.device), test.targets(o.device));
  constexpr std::int64_t kRound = 1000;  // trials per round, as Synaptic counts success per 1000
  std::int64_t trials = 0;
  double success = 0.0, error = 0.0;
  const auto start = Clock::now();
  while (trials < max_trials && success < 0.95) {
    const Batch round = dsr_trials(kRound, rng);  // a fresh stream, as Synaptic's
    const axon::train::History h = trainer.fit(axon::data::Dataset(round.features(o.device), round.targets(o.device)),
                                               nullptr, {.epochs = 1, .batch_size = o.batch_size, .seed = o.seed + static_cast<std::uint64_t>(trials),
                                                         .display = axon::train::Display::kQuiet});
    trials += kRound;
    run.samples += h.samples;
    success = dsr_success(trainer, test, o.device);
    error = trainer.evaluate(test_set).loss * 4.0;  // per step, summed over the outputs (Synaptic's cost)
    std::printf("DSR: %6lld trials, success %.3f, error %.4f\n", static_cast<long long>(trials), success, error);
  }
  const double seconds = seconds_since(start);
  run.train_seconds += seconds;
  std::printf("DSR: success %.3f (goal 0.95) after %lld trials, %.1f s%s\n", success, static_cast<long long>(trials), seconds,
              success >= 0.95 ? "" : " (budget spent)");
  return {{"dsr_success", example::number(success)}, {"dsr_error", example::number(error)},
          {"dsr_trials", std::to_string(trials)}, {"dsr_seconds", example::number(seconds)}};
}

// ---- Embedded Reber Grammar ----

enum Symbol : int { B, P, T, S, X, V, E, kSymbols };

struct ReberString {
  std::vector<int> symbols;
  std::vector<std::vector<int>> legal_next;  // after symbol i, what the grammar allows
};

ReberString embedded_reber(std::mt19937& rng) {
  // The inner graph, from node 6 on: each node's two (symbol, next node) choices; node 1 ends
  // with E (node 0: the end).
  static const std::map<int, std::vector<std::pair<int, int>>> graph = {
      {6, {{T, 4}, {P, 5}}}, {4, {{S, 4}, {X, 2}}}, {5, {{T, 5}, {V, 3}}},
      {2, {{S, 1}, {X, 5}}}, {3, {{V, 1}, {P, 2}}}, {1, {{E, 0}}}};
  std::bernoulli_distribution coin(0.5);
  ReberString s;
  const auto emit = [&](int symbol, std::vector<int> next) {
    s.symbols.push_back(symbol);
    s.legal_next.push_back(std::move(next));
  };
  const int second = coin(rng) ? P : T, opposite = second == P ? T : P;
  emit(B, {P, T});
  emit(second, {B});
  emit(B, {T, P});  // the inner string's B, then node 6
  for (int node = 6; node != 0;) {
    const auto& choices = graph.at(node);
    const auto& [symbol, next] = choices[choices.size() == 1 ? 0 : static_cast<std::size_t>(coin(rng))];
    std::vector<int> allowed;
    if (next == 0) {
      allowed = {opposite};
    } else {
      for (const auto& c : graph.at(next)) allowed.push_back(c.first);
    }
    emit(symbol, allowed);
    node = next;
  }
  emit(opposite, {E});
  emit(E, {});
  return s;
}

// Strings of one length as a batch: inputs the symbols but the last, targets the next symbols.
Batch reber_batch(const std::vector<const ReberString*>& strings) {
  const std::int64_t steps = static_cast<std::int64_t>(strings.front()->symbols.size()) - 1;
  Batch b{.count = static_cast<std::int64_t>(strings.size()), .steps = steps, .inputs = kSymbols, .outputs = kSymbols};
  b.x.assign(static_cast<std::size_t>(b.count * steps * kSymbols), 0.0f);
  b.y = b.x;
  for (std::int64_t n = 0; n < b.count; ++n) {
    for (std::int64_t t = 0; t < steps; ++t) {
      const std::size_t row = static_cast<std::size_t>((n * steps + t) * kSymbols);
      b.x[row + static_cast<std::size_t>(strings[static_cast<std::size_t>(n)]->symbols[static_cast<std::size_t>(t)])] = 1.0f;
      b.y[row + static_cast<std::size_t>(strings[static_cast<std::size_t>(n)]->symbols[static_cast<std::size_t>(t + 1)])] = 1.0f;
    }
  }
  return b;
}

// The strings grouped by length (the LSTM takes one length per batch), in batches of at most `size`.
std::vector<std::vector<const ReberString*>> by_length(const std::vector<ReberString>& strings, std::size_t size) {
  std::map<std::size_t, std::vector<const ReberString*>> groups;
  for (const ReberString& s : strings) groups[s.symbols.size()].push_back(&s);
  std::vector<std::vector<const ReberString*>> batches;
  for (const auto& [length, group] : groups) {
    for (std::size_t begin = 0; begin < group.size(); begin += size) {
      batches.emplace_back(group.begin() + static_cast<std::ptrdiff_t>(begin),
                           group.begin() + static_cast<std::ptrdiff_t>(std::min(group.size(), begin + size)));
    }
  }
  return batches;
}

std::vector<ReberString> reber_strings(std::int64_t count, std::mt19937& rng) {
  std::vector<ReberString> strings;
  while (static_cast<std::int64_t>(strings.size()) < count) {
    ReberString s = embedded_reber(rng);
    if (s.symbols.size() <= 40) strings.push_back(std::move(s));  // (the loops make rare long ones)
  }
  return strings;
}

// The share of strings in which every step's most likely next symbol is a legal one, and
// Synaptic's error (the mean per-step cross-entropy, summed over the outputs).
std::pair<double, double> reber_scores(axon::train::Trainer& trainer, const std::vector<ReberString>& test, axon::Device d) {
  std::int64_t right = 0, steps = 0;
  double error = 0.0;
  for (const auto& group : by_length(test, 256)) {
    const Batch b = reber_batch(group);
    const std::vector<float> logits = trainer.predict(b.features(d)).to_vector();
    for (std::int64_t n = 0; n < b.count; ++n) {
      bool all = true;
      for (std::int64_t t = 0; t < b.steps; ++t) {
        const std::size_t row = static_cast<std::size_t>((n * b.steps + t) * kSymbols);
        const int best = static_cast<int>(std::max_element(logits.begin() + static_cast<std::ptrdiff_t>(row),
                                                           logits.begin() + static_cast<std::ptrdiff_t>(row + kSymbols)) -
                                          (logits.begin() + static_cast<std::ptrdiff_t>(row)));
        const std::vector<int>& legal = group[static_cast<std::size_t>(n)]->legal_next[static_cast<std::size_t>(t)];
        all = all && std::find(legal.begin(), legal.end(), best) != legal.end();
        for (int k = 0; k < kSymbols; ++k) {  // sigmoid cross-entropy from the logit, stably
          const double z = logits[row + static_cast<std::size_t>(k)], y = b.y[row + static_cast<std::size_t>(k)];
          error += std::max(z, 0.0) - z * y + std::log1p(std::exp(-std::abs(z)));
        }
        ++steps;
      }
      right += all;
    }
  }
  return {static_cast<double>(right) / static_cast<double>(test.size()), error / static_cast<double>(steps)};
}

example::Fields run_erg(const example::Options& o, std::int64_t hidden, std::int64_t max_strings, axon::train::History& run) {
  std::mt19937 rng(static_cast<std::uint32_t>(o.seed) + 1);
  nn::Sequential model = lstm_model(kSymbols, hidden, kSymbols, o.seed + 1, o.device);
  const auto optimizer = example::make_optimizer(o, model.parameters());
  axon::train::Trainer trainer(model, *optimizer, nn::BCEWithLogitsLoss());
  const std::vector<ReberString> test = reber_strings(500, rng);
  constexpr std::int64_t kRound = 1000;
  std::int64_t strings = 0;
  double accuracy = 0.0, error = 0.0;
  const auto start = Clock::now();
  while (strings < max_strings && accuracy < 0.99) {
    const std::vector<ReberString> round = reber_strings(kRound, rng);
    auto batches = by_length(round, static_cast<std::size_t>(o.batch_size));
    std::shuffle(batches.begin(), batches.end(), rng);
    for (const auto& group : batches) {
      const Batch b = reber_batch(group);
      (void)trainer.train_on_batch(b.features(o.device), b.targets(o.device));
    }
    strings += kRound;
    run.samples += kRound;
    std::tie(accuracy, error) = reber_scores(trainer, test, o.device);
    std::printf("ERG: %6lld strings, legal predictions %.3f, error %.4f\n", static_cast<long long>(strings), accuracy, error);
  }
  const double seconds = seconds_since(start);
  run.train_seconds += seconds;
  std::printf("ERG: every step legal in %.3f of fresh strings (goal 0.99), error %.4f, after %lld strings, %.1f s%s\n", accuracy,
              error, static_cast<long long>(strings), seconds, accuracy >= 0.99 ? "" : " (budget spent)");
  return {{"erg_accuracy", example::number(accuracy)}, {"erg_error", example::number(error)},
          {"erg_strings", std::to_string(strings)}, {"erg_seconds", example::number(seconds)}};
}

}  // namespace

int main(int argc, char** argv) try {
  example::Options defaults;
  defaults.name = "sequence_tasks";
  defaults.batch_size = 32;
  defaults.lr = 1e-2;
  defaults.epochs = 1;  // (unused: the tasks run until their goal or budget)
  const example::Options o = example::parse(argc, argv, defaults, {"task", "hidden", "max-trials", "max-strings"});
  const auto last = [&](const char* key, const std::string& fallback) {
    return o.extra.count(key) ? o.extra.at(key).back() : fallback;
  };
  const std::string task = last("task", "both");
  if (task != "dsr" && task != "erg" && task != "both") throw axon::ValueError("sequence_tasks: --task takes dsr, erg or both");
  const std::int64_t hidden = std::stoll(last("hidden", "32"));
  if (hidden < 1) throw axon::ValueError("sequence_tasks: --hidden must be >= 1");
  std::printf("sequence_tasks: LSTM(hidden %lld) on %s; %s\n", static_cast<long long>(hidden), o.device.str().c_str(),
              axon::threading_info().c_str());
  axon::train::History run;
  example::Fields fields;
  if (task != "erg") {
    const example::Fields f = run_dsr(o, hidden, std::stoll(last("max-trials", "300000")), run);
    fields.insert(fields.end(), f.begin(), f.end());
  }
  if (task != "dsr") {
    const example::Fields f = run_erg(o, hidden, std::stoll(last("max-strings", "300000")), run);
    fields.insert(fields.end(), f.begin(), f.end());
  }
  example::write_metrics(o, example::with_run_fields(fields, run, o.device));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "sequence_tasks: %s\n", e.what());
  return 1;
}
