// A classifier for any numeric CSV with a header and a label column: features scaled on the
// training part only, an MLP, a held-out test part. Defaults to examples/data/iris.csv
// (Fisher's irises) with the label "species"; --cross-validate K reports K-fold accuracy too.
//
//   csv_classifier [common options] [--data FILE] [--label NAME] [--hidden N] [--cross-validate K]
#include "example_options.h"

int main(int argc, char** argv) try {
  namespace nn = axon::nn;
  example::Options defaults;
  defaults.name = "csv_classifier";
  defaults.epochs = 100;
  defaults.batch_size = 16;
  defaults.lr = 0.01;
  const example::Options o = example::parse(argc, argv, defaults, {"data", "label", "hidden", "cross-validate"});
  const auto last = [&](const char* key, std::string fallback) {
    return o.extra.count(key) ? o.extra.at(key).back() : fallback;
  };
  const std::string file = last("data", AXON_EXAMPLES_DATA_DIR "/iris.csv");
  axon::data::CsvOptions csv_options;
  csv_options.label_column = last("label", "species");
  const axon::data::CsvData table = axon::data::read_csv(file, csv_options);
  const auto features = table.features.dim(1);
  const auto classes = static_cast<std::int64_t>(table.classes.size());
  const std::int64_t hidden = std::stoll(last("hidden", "16"));
  std::printf("csv_classifier: %s: %lld rows, %lld features, %lld classes; %s\n", file.c_str(),
              static_cast<long long>(table.features.dim(0)), static_cast<long long>(features),
              static_cast<long long>(classes), o.device.str().c_str());

  // Test part held out first; the scaler learns from the training part only.
  const axon::data::Dataset all(table.features, table.labels);
  auto [training, test] = axon::data::train_validation_split(all, 0.2, o.seed);
  axon::data::Scaler scaler(axon::data::Scaler::Kind::kStandard);
  training = axon::data::Dataset(scaler.fit_transform(training.features()), training.targets());
  test = axon::data::Dataset(scaler.transform(test.features()), test.targets());

  const auto make_model = [&](std::uint64_t seed) {
    axon::Generator generator(seed);
    auto model = std::make_unique<nn::Sequential>();
    model->add(nn::Dense(features, hidden, nn::DenseOptions{.generator = &generator}))
        .add(nn::ReLU())
        .add(nn::Dense(hidden, classes, nn::DenseOptions{.generator = &generator}));
    model->to(o.device);
    return model;
  };
  const axon::train::FitOptions fit{.epochs = o.epochs, .batch_size = o.batch_size, .seed = o.seed,
                                    .display = axon::train::Display::kQuiet};
  auto model = make_model(o.seed);
  const auto optimizer = example::make_optimizer(o, model->parameters());
  axon::train::Trainer trainer(*model, *optimizer, nn::CrossEntropyLoss());
  const axon::train::History history = trainer.fit(training, nullptr, fit);
  const axon::train::Evaluation result = trainer.evaluate(test);
  const auto predicted = nn::predicted_labels(trainer.predict(test.features()));
  const nn::ConfusionMatrix matrix(predicted, test.targets().to_int_vector(), static_cast<int>(classes));
  std::printf("test accuracy %.4f, macro F1 %.4f, test loss %.4f after %zu epochs\n", *result.accuracy,
              matrix.macro_f1(), result.loss, history.epochs.size());
  for (int c = 0; c < matrix.classes(); ++c) {
    std::printf("  %-16s precision %.3f recall %.3f F1 %.3f\n", table.classes[static_cast<std::size_t>(c)].c_str(),
                matrix.precision(c), matrix.recall(c), matrix.f1(c));
  }
  if (o.extra.count("cross-validate")) {
    const int k = std::stoi(last("cross-validate", "5"));
    std::uint64_t fold_seed = o.seed;
    const axon::train::CrossValidation cv = axon::train::cross_validate(training, k, [&] {
      axon::train::FoldSetup setup;
      setup.model = make_model(++fold_seed);
      setup.optimizer = example::make_optimizer(o, setup.model->parameters());
      setup.loss = nn::CrossEntropyLoss();
      return setup;
    }, fit);
    std::printf("%d-fold cross-validation on the training part: accuracy %.4f +- %.4f\n", k, *cv.mean_accuracy,
                *cv.std_accuracy);
  }
  const example::Fields own = {{"test_accuracy", example::number(*result.accuracy)},
                               {"test_loss", example::number(result.loss)}};
  example::write_metrics(o, example::with_run_fields(own, history, trainer.device()));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "csv_classifier: %s\n", e.what());
  return 1;
}
