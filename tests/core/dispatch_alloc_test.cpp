// A planned training step of `_out` ops allocates nothing on the heap: no op names built as
// strings, no temporary tensors, no host vectors (issue 7). alloc_counter.h replaces the global
// operator new of this executable to count calls.
#include "alloc_counter.h"
#include "test_util.h"

namespace {

using axon::Activation;
using axon::LossKind;
using axon::Tensor;

TEST(DispatchAllocations, APlannedTrainingStepAllocatesNothing) {
  // A 2-layer MLP step (ReLU hidden layer, softmax cross-entropy), every buffer made up front.
  // Op names longer than 15 characters ("linear_hard_sigmoid", "softmax_cross_entropy_loss")
  // were heap strings built on every call before.
  const std::int64_t batch = 64, in = 100, hidden = 300, classes = 10;
  const Tensor x = Tensor::uniform({batch, in}, -1, 1);
  const Tensor labels = axon_test::int_tensor_from({batch}, axon_test::random_labels(batch, classes));
  const Tensor w1 = Tensor::uniform({hidden, in}, -0.1f, 0.1f), b1 = Tensor::zeros({hidden});
  const Tensor w2 = Tensor::uniform({classes, hidden}, -0.1f, 0.1f), b2 = Tensor::zeros({classes});
  const Tensor pre1 = Tensor::empty({batch, hidden}), h = Tensor::empty({batch, hidden});
  const Tensor logits = Tensor::empty({batch, classes}), probabilities = Tensor::empty({batch, classes});
  const Tensor loss = Tensor::empty({1}), grad_logits = Tensor::empty({batch, classes});
  const Tensor grad_h = Tensor::empty({batch, hidden}), grad_pre1 = Tensor::empty({batch, hidden});
  const Tensor grad_w1 = Tensor::empty({hidden, in}), grad_b1 = Tensor::empty({hidden});
  const Tensor grad_w2 = Tensor::empty({classes, hidden}), grad_b2 = Tensor::empty({classes});
  const Tensor predicted = Tensor::empty({batch}, axon::Device::cpu(), axon::DType::kInt32);
  const Tensor total = Tensor::empty({1}), scratch = Tensor::empty({batch, hidden});
  const Tensor row_max = Tensor::empty({batch}), logits_pre = Tensor::empty({batch, classes});

  const auto step = [&] {
    axon::linear_out(Activation::kHardSigmoid, x, w1, b1, pre1, h);  // "linear_hard_sigmoid": a heap string
    axon::linear_out(Activation::kIdentity, h, w2, b2, logits_pre, logits);
    axon::loss_out(LossKind::kSoftmaxCrossEntropy, logits, labels, loss, grad_logits);
    axon::bias_grad_out(grad_logits, grad_b2);
    axon::gemm(grad_logits, h, grad_w2, 1.0f, 0.0f, true, false);
    axon::gemm(grad_logits, w2, grad_h);
    axon::activation_backward_bias_grad_out(Activation::kHardSigmoid, pre1, h, grad_h, grad_pre1, grad_b1);
    axon::gemm(grad_pre1, x, grad_w1, 1.0f, 0.0f, true, false);
    axon::axpy(-0.01f, grad_w1, w1);
    axon::axpy(-0.01f, grad_b1, b1);
    axon::axpy(-0.01f, grad_w2, w2);
    axon::axpy(-0.01f, grad_b2, b2);
    axon::softmax_out(logits, probabilities);
    axon::argmax_rows_out(logits, predicted);
    axon::reduce_all_out(axon::ReduceOp::kSum, grad_logits, total);
    axon::activation_backward_out(Activation::kHardSigmoid, pre1, h, grad_h, scratch);
    axon::bias_activation_out(Activation::kLeakyRelu, pre1, b1, scratch, grad_pre1);
    axon::reduce_rows_out(axon::ReduceOp::kMax, logits, row_max);
    (void)loss.item();
  };
  for (const axon::CpuGemm engine : {axon::CpuGemm::kOneDnn, axon::CpuGemm::kOpenBlas}) {
    SCOPED_TRACE(axon::cpu_gemm_name(engine));
    const axon_test::CpuGemmScope scope(engine);
    step();  // the first step may initialise thread pools and make the engine's primitives
    const axon_test::Allocations counted = axon_test::count_allocations(step);
    EXPECT_EQ(counted.own, 0) << "heap allocations in one planned step";
    // Two linear_out and three gemm calls: on oneDNN one execution each, with its own
    // argument map and nothing more; OpenBLAS allocates nothing.
    EXPECT_EQ(counted.executions, engine == axon::CpuGemm::kOneDnn ? 5 : 0);
    EXPECT_LE(counted.engine, counted.executions * axon_test::kEngineAllocationsPerExecution);
  }
}

TEST(DispatchAllocations, TheCounterSeesAllocations) {
  // The counter itself works: a step that builds a tensor allocates.
  EXPECT_GT(axon_test::allocations_of([] { (void)axon::relu(Tensor::uniform({4, 4}, -1, 1)); }), 0);
}

}  // namespace
