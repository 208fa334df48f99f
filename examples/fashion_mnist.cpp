// Fashion-MNIST: an MLP 784-256-128-10 (ReLU), softmax cross-entropy, Adam with a cosine-annealed
// learning rate, on the images of
// Debian's dataset-fashion-mnist, pixels scaled to [0, 1]. Trains on the best device present and
// can move between devices while it trains (--switch-device 3:cpu moves before epoch 3).
//
//   fashion_mnist [common options] [--data DIR] [--switch-device EPOCH:DEVICE]...
//                 [--save FILE] [--load FILE] [--export-onnx FILE] [--import-onnx FILE]
//                 [--checkpoint-dir DIR [--resume yes]]
// --save writes the trained weights (safetensors, PyTorch names); --load evaluates a saved model
// without training; --export-onnx writes the model (trained, or loaded) as ONNX; --import-onnx
// evaluates an ONNX model trained elsewhere (examples/torch_fashion_mnist.py makes one) without
// training; --checkpoint-dir keeps a checkpoint per epoch (the newest 3) and --resume yes
// continues from the newest one. Data parallel over several processes (CPU ranks, or one GPU per
// rank with --device cuda), each taking its share of every epoch:
//   mpirun -np 2 fashion_mnist --distributed [options]
#include "example_options.h"

int main(int argc, char** argv) try {
  namespace nn = axon::nn;
  example::Options defaults;
  defaults.name = "fashion_mnist";
  defaults.epochs = 15;
  defaults.batch_size = 128;
  const example::Options o =
      example::parse(argc, argv, defaults, {"data", "switch-device", "save", "load", "export-onnx", "import-onnx", "checkpoint-dir", "resume"});
  const auto last = [&](const char* key) { return o.extra.count(key) ? o.extra.at(key).back() : std::string(); };
  const std::string folder = o.extra.count("data") ? o.extra.at("data").back() : "/usr/share/datasets/fashion-mnist";
  example::SwitchDevice switcher(o);  // before the data loads: a bad plan fails fast

  const axon::data::Dataset train = axon::data::load_mnist_folder(folder, true);
  const axon::data::Dataset test = axon::data::load_mnist_folder(folder, false);
  std::printf("fashion_mnist: %lld training and %lld test images from %s; %s; %s%s\n",
              static_cast<long long>(train.size()), static_cast<long long>(test.size()), folder.c_str(),
              o.device.str().c_str(), axon::threading_info().c_str(),
              o.world() != nullptr ? ("; " + std::to_string(o.world()->world_size()) + " ranks (" + o.world()->name() + ")").c_str() : "");

  if (!last("import-onnx").empty()) {  // a model trained elsewhere, evaluated here
    example::evaluate_onnx(o, test, last("import-onnx"));
    return 0;
  }
  axon::Generator generator(o.seed);
  nn::Sequential model;
  model.add(nn::Dense(784, 256, nn::DenseOptions{.generator = &generator}))
      .add(nn::ReLU())
      .add(nn::Dense(256, 128, nn::DenseOptions{.generator = &generator}))
      .add(nn::ReLU())
      .add(nn::Dense(128, 10, nn::DenseOptions{.generator = &generator}));
  std::printf("%s", model.summary({o.batch_size, 784}).c_str());
  model.to(o.device);
  const auto optimizer = example::make_optimizer(o, model.parameters());
  axon::train::Trainer trainer(model, *optimizer, nn::CrossEntropyLoss());
  trainer.distribute(o.world());  // --distributed: data parallel over the launcher's ranks
  // The rate anneals to zero over the run (cosine): the last epochs settle instead of overfit.
  axon::optim::CosineAnnealingLR schedule(*optimizer, std::max<std::int64_t>(o.epochs, 1));
  trainer.set_schedule(&schedule);
  if (!last("load").empty()) {  // evaluate a saved model, no training
    example::evaluate_saved(o, model, trainer, test, last("load"));
    return 0;
  }
  axon::train::FitOptions fit{.epochs = o.epochs, .batch_size = o.batch_size, .seed = o.seed};
  fit.checkpoint_dir = last("checkpoint-dir");
  if (last("resume") == "yes") {
    if (fit.checkpoint_dir.empty()) throw axon::ValueError("fashion_mnist: --resume needs --checkpoint-dir");
    std::filesystem::path newest;
    std::int64_t newest_epoch = -1;
    for (const auto& entry : std::filesystem::directory_iterator(fit.checkpoint_dir)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("checkpoint-", 0) != 0) continue;
      const std::int64_t epoch = std::stoll(name.substr(11));
      if (epoch > newest_epoch) newest_epoch = epoch, newest = entry.path();
    }
    if (newest.empty()) throw axon::ValueError("fashion_mnist: no checkpoint in " + fit.checkpoint_dir.string());
    trainer.load_checkpoint(newest);
    fit.resume = true;
    std::printf("resuming from %s (epoch %lld)\n", newest.c_str(), static_cast<long long>(trainer.epoch()));
  }
  const axon::train::History history = trainer.fit(train, nullptr, fit, {&switcher});
  example::finish_run(o, model, trainer, test, history, last("save"));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "fashion_mnist: %s\n", e.what());
  return 1;
}
