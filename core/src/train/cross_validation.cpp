// k-fold cross-validation (axon/train/trainer.h).
#include <cmath>
#include <tuple>

#include "axon/error.h"
#include "axon/train/trainer.h"

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
