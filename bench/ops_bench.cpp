// Op and training-step benchmarks on every device present. Each timed iteration ends with a
// synchronize, so GPU times are real. Counters: FLOP/s for GEMMs, bytes/s (read + written) for
// memory-bound ops, to compare against the copy case on the same device.
//
// The PyTorch side of the comparison is bench/peers/torch_peer.py, same shapes, same machine.
#include <axon/axon.h>
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

namespace {

using axon::Device;
using axon::Tensor;

void set_bytes(benchmark::State& state, double bytes_per_iteration) {
  state.counters["bytes_per_second"] = benchmark::Counter(
      bytes_per_iteration * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void bench_gemm(benchmark::State& state, Device device) {
  const std::int64_t n = state.range(0);
  const Tensor a = Tensor::uniform({n, n}, -1, 1, device);
  const Tensor b = Tensor::uniform({n, n}, -1, 1, device);
  const Tensor c = Tensor::empty({n, n}, device);
  for (auto _ : state) {
    axon::gemm(a, b, c);
    axon::synchronize(device);
  }
  state.counters["flops"] = benchmark::Counter(2.0 * n * n * n * static_cast<double>(state.iterations()),
                                               benchmark::Counter::kIsRate);
}

void bench_copy(benchmark::State& state, Device device) {
  const std::int64_t n = state.range(0);
  const Tensor x = Tensor::uniform({n}, -1, 1, device);
  const Tensor y = Tensor::empty({n}, device);
  for (auto _ : state) {
    y.copy_from(x);
    axon::synchronize(device);
  }
  set_bytes(state, 8.0 * static_cast<double>(n));
}

void bench_activation(benchmark::State& state, Device device, axon::Activation kind) {
  const std::int64_t n = state.range(0);
  const Tensor x = Tensor::uniform({n}, -3, 3, device);
  const Tensor y = Tensor::empty({n}, device);
  for (auto _ : state) {
    axon::activation_out(kind, x, y);
    axon::synchronize(device);
  }
  set_bytes(state, 8.0 * static_cast<double>(n));
}

void bench_add(benchmark::State& state, Device device) {
  const std::int64_t n = state.range(0);
  const Tensor a = Tensor::uniform({n}, -1, 1, device);
  const Tensor b = Tensor::uniform({n}, -1, 1, device);
  const Tensor c = Tensor::empty({n}, device);
  for (auto _ : state) {
    axon::binary_out(axon::BinaryOp::kAdd, a, b, c);
    axon::synchronize(device);
  }
  set_bytes(state, 12.0 * static_cast<double>(n));
}

void bench_softmax_cross_entropy(benchmark::State& state, Device device) {
  const std::int64_t rows = state.range(0), classes = 10;
  const Tensor logits = Tensor::normal({rows, classes}, 0, 3, device);
  std::vector<std::int32_t> labels(static_cast<std::size_t>(rows));
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<std::int32_t>(i % classes);
  const Tensor target = Tensor::from_vector({rows}, labels, device);
  const Tensor value = Tensor::empty({1}, device);
  const Tensor grad = Tensor::empty({rows, classes}, device);
  for (auto _ : state) {
    axon::loss_out(axon::LossKind::kSoftmaxCrossEntropy, logits, target, value, grad);
    axon::synchronize(device);
  }
}

// One SGD step of a 784-256-10 ReLU MLP with softmax cross-entropy, batch = range(0), written
// with _out ops into preallocated buffers (as a Dense layer does). Same network as torch_peer.py.
void bench_mlp_step(benchmark::State& state, Device device) {
  const std::int64_t batch = state.range(0), in = 784, hidden = 256, classes = 10;
  const Tensor x = Tensor::uniform({batch, in}, 0, 1, device);
  std::vector<std::int32_t> labels(static_cast<std::size_t>(batch));
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<std::int32_t>((i * 7) % classes);
  const Tensor y = Tensor::from_vector({batch}, labels, device);
  const Tensor w1 = Tensor::normal({in, hidden}, 0, 0.05f, device), b1 = Tensor::zeros({hidden}, device);
  const Tensor w2 = Tensor::normal({hidden, classes}, 0, 0.05f, device), b2 = Tensor::zeros({classes}, device);
  const Tensor pre = Tensor::empty({batch, hidden}, device), h = Tensor::empty({batch, hidden}, device);
  const Tensor logits = Tensor::empty({batch, classes}, device), value = Tensor::empty({1}, device);
  const Tensor g_logits = Tensor::empty({batch, classes}, device), g_h = Tensor::empty({batch, hidden}, device);
  const Tensor g_pre = Tensor::empty({batch, hidden}, device);
  const Tensor g_w1 = Tensor::empty({in, hidden}, device), g_b1 = Tensor::empty({hidden}, device);
  const Tensor g_w2 = Tensor::empty({hidden, classes}, device), g_b2 = Tensor::empty({classes}, device);
  const float lr = 0.01f;
  for (auto _ : state) {
    axon::gemm(x, w1, pre);
    axon::bias_add_out(pre, b1, pre);
    axon::activation_out(axon::Activation::kRelu, pre, h);
    axon::gemm(h, w2, logits);
    axon::bias_add_out(logits, b2, logits);
    axon::loss_out(axon::LossKind::kSoftmaxCrossEntropy, logits, y, value, g_logits);
    axon::gemm(h, g_logits, g_w2, 1, 0, true, false);
    axon::bias_grad_out(g_logits, g_b2);
    axon::gemm(g_logits, w2, g_h, 1, 0, false, true);
    axon::activation_backward_out(axon::Activation::kRelu, pre, h, g_h, g_pre);
    axon::gemm(x, g_pre, g_w1, 1, 0, true, false);
    axon::bias_grad_out(g_pre, g_b1);
    axon::axpy(-lr, g_w1, w1);
    axon::axpy(-lr, g_b1, b1);
    axon::axpy(-lr, g_w2, w2);
    axon::axpy(-lr, g_b2, b2);
    axon::synchronize(device);
  }
  state.counters["samples_per_second"] =
      benchmark::Counter(static_cast<double>(batch * state.iterations()), benchmark::Counter::kIsRate);
}

void register_all() {
  for (const Device device : axon::available_devices()) {
    const std::string d = device.str();
    const bool gpu = device.is_cuda();
    const std::int64_t big = gpu ? (1 << 26) : (1 << 22);
    benchmark::RegisterBenchmark(("gemm/" + d).c_str(), bench_gemm, device)
        ->Arg(256)->Arg(1024)->Arg(gpu ? 4096 : 2048)->Unit(benchmark::kMicrosecond)->UseRealTime();
    benchmark::RegisterBenchmark(("copy/" + d).c_str(), bench_copy, device)
        ->Arg(1 << 16)->Arg(big)->Unit(benchmark::kMicrosecond)->UseRealTime();
    benchmark::RegisterBenchmark(("add/" + d).c_str(), bench_add, device)
        ->Arg(1 << 16)->Arg(big)->Unit(benchmark::kMicrosecond)->UseRealTime();
    benchmark::RegisterBenchmark(("relu/" + d).c_str(), bench_activation, device, axon::Activation::kRelu)
        ->Arg(1 << 16)->Arg(big)->Unit(benchmark::kMicrosecond)->UseRealTime();
    benchmark::RegisterBenchmark(("gelu/" + d).c_str(), bench_activation, device, axon::Activation::kGelu)
        ->Arg(1 << 16)->Arg(big)->Unit(benchmark::kMicrosecond)->UseRealTime();
    benchmark::RegisterBenchmark(("softmax_cross_entropy/" + d).c_str(), bench_softmax_cross_entropy, device)
        ->Arg(256)->Arg(65536)->Unit(benchmark::kMicrosecond)->UseRealTime();
    benchmark::RegisterBenchmark(("mlp_step_784_256_10/" + d).c_str(), bench_mlp_step, device)
        ->Arg(64)->Arg(256)->Arg(1024)->Unit(benchmark::kMicrosecond)->UseRealTime();
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("axon", axon::version());
  benchmark::AddCustomContext("threading", axon::threading_info());
  for (const Device device : axon::available_devices()) {
    benchmark::AddCustomContext("device " + device.str(), axon::device_info(device).name);
  }
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
