// A data-parallel fit in which the last rank fails at step 5 — by throwing, by dying (SIGKILL)
// or by hanging — for tests/dist/fault_test.sh, which checks that every rank stops, soon, and
// that the failed rank is named. Usage: dist_fault_test throw|kill|hang
#include <csignal>
#include <cstdio>
#include <cstring>
#include <thread>

#include "axon/axon.h"
#include "axon/dist/communicator.h"

namespace {

class FailAtStep5 : public axon::train::Callback {
 public:
  explicit FailAtStep5(const char* how) : how_(how) {}
  void on_batch_end(axon::train::Trainer& trainer, std::int64_t step) override {
    if (step != 5 || trainer.rank() != trainer.world_size() - 1) return;
    if (std::strcmp(how_, "throw") == 0) throw axon::ValueError("a failure injected at step 5");
    if (std::strcmp(how_, "kill") == 0) std::raise(SIGKILL);
    if (std::strcmp(how_, "hang") == 0) {
      for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  }

 private:
  const char* how_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s throw|kill|hang\n", argv[0]);
    return 2;
  }
  const auto world = axon::dist::from_environment();
  const int rank = world->rank();
  try {
    axon::Generator generator(1);
    axon::nn::Sequential model;
    model.add(axon::nn::Dense(8, 16, axon::nn::DenseOptions{.activation = axon::Activation::kRelu, .generator = &generator}))
        .add(axon::nn::Dense(16, 1, axon::nn::DenseOptions{.generator = &generator}));
    axon::optim::SGD sgd(model.parameters(), {.lr = 0.01});
    axon::train::Trainer trainer(model, sgd, axon::nn::MSELoss());
    trainer.distribute(world.get());
    const axon::data::Dataset data(axon::Tensor::normal({512, 8}, 0, 1, axon::Device::cpu(), generator),
                                   axon::Tensor::normal({512, 1}, 0, 1, axon::Device::cpu(), generator));
    FailAtStep5 fail(argv[1]);
    trainer.fit(data, nullptr, {.epochs = 100, .batch_size = 8, .display = axon::train::Display::kQuiet}, {&fail});
    std::printf("rank %d: the fit ended without the failure\n", rank);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rank %d: fit stopped: %s\n", rank, e.what());
    return 1;
  }
}
