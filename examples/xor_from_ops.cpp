// XOR, the "hello world" of neural networks, trained with nothing but axon's ops: the chain of
// the article — multiply matrices, apply a non-linearity, compute the error, run the error
// backwards, step the weights. Every step below is one op of ops.h; a layer API (Dense,
// Sequential, optimizers) is still to come and will make the same calls for you.
//
//   xor_from_ops [--device cpu|cuda|cuda:N] [--epochs N]
#include <axon/axon.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Options {
  axon::Device device = axon::best_device();
  int epochs = 2000;
};

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--device" && i + 1 < argc) {
      options.device = axon::Device::parse(argv[++i]);
    } else if (arg == "--epochs" && i + 1 < argc) {
      options.epochs = std::stoi(argv[++i]);
    } else {
      throw axon::ValueError("xor_from_ops: unknown argument '" + arg +
                             "'; usage: xor_from_ops [--device cpu|cuda|cuda:N] [--epochs N]");
    }
  }
  return options;
}

}  // namespace

int main(int argc, char** argv) try {
  using namespace axon;
  const Options options = parse(argc, argv);
  const Device device = options.device;
  std::printf("xor_from_ops: training on %s (%s)\n", device.str().c_str(), device_info(device).name.c_str());

  // The four XOR cases and their answers.
  const Tensor x = Tensor::from_vector({4, 2}, std::vector<float>{0, 0, 0, 1, 1, 0, 1, 1}, device);
  const Tensor y = Tensor::from_vector({4, 1}, std::vector<float>{0, 1, 1, 0}, device);

  // 2 -> 8 (tanh) -> 1 (a logit; the loss applies the sigmoid).
  Generator generator(42);
  Tensor w1 = Tensor::uniform({2, 8}, -1.0f, 1.0f, device, generator);
  Tensor b1 = Tensor::zeros({8}, device);
  Tensor w2 = Tensor::uniform({8, 1}, -1.0f, 1.0f, device, generator);
  Tensor b2 = Tensor::zeros({1}, device);
  const float learning_rate = 0.5f;

  for (int epoch = 0; epoch <= options.epochs; ++epoch) {
    // Forward: two linear maps with a non-linearity between them.
    const Tensor pre = bias_add(matmul(x, w1), b1);
    const Tensor hidden = tanh(pre);
    const Tensor logits = bias_add(matmul(hidden, w2), b2);
    // The error and its gradient.
    const LossResult error = loss(LossKind::kBceWithLogits, logits, y);
    // Backward: the chain rule, layer by layer.
    const Tensor grad_w2 = matmul(hidden, error.grad, /*transpose_a=*/true);
    const Tensor grad_b2 = bias_grad(error.grad);
    const Tensor grad_hidden = matmul(error.grad, w2, false, /*transpose_b=*/true);
    const Tensor grad_pre = activation_backward(Activation::kTanh, pre, hidden, grad_hidden);
    const Tensor grad_w1 = matmul(x, grad_pre, /*transpose_a=*/true);
    const Tensor grad_b1 = bias_grad(grad_pre);
    // Gradient descent.
    axpy(-learning_rate, grad_w1, w1);
    axpy(-learning_rate, grad_b1, b1);
    axpy(-learning_rate, grad_w2, w2);
    axpy(-learning_rate, grad_b2, b2);
    if (epoch % 500 == 0) std::printf("epoch %5d  loss %.6f\n", epoch, error.value.item());
  }

  const std::vector<float> predictions = sigmoid(bias_add(matmul(tanh(bias_add(matmul(x, w1), b1)), w2), b2)).to_vector();
  const char* cases[] = {"0 xor 0", "0 xor 1", "1 xor 0", "1 xor 1"};
  int correct = 0;
  for (int i = 0; i < 4; ++i) {
    const int expected = (i == 1 || i == 2) ? 1 : 0;
    correct += (predictions[i] > 0.5f) == (expected == 1);
    std::printf("%s = %.4f (expected %d)\n", cases[i], predictions[i], expected);
  }
  std::printf("%d of 4 correct\n", correct);
  return correct == 4 ? 0 : 1;
} catch (const axon::Error& error) {
  std::fprintf(stderr, "xor_from_ops: %s\n", error.what());
  return 2;
}
