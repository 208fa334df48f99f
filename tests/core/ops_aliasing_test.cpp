// Outputs that alias inputs: exactly the same memory (in place) is allowed for elementwise and
// row-wise ops and gives the serial result; a partial overlap, or any overlap for outputs that
// are accumulated (sums, GEMM), throws ValueError naming the op and the arguments.
#include <vector>

#include "test_util.h"

namespace {

using axon::Activation;
using axon::BinaryOp;
using axon::ReduceOp;
using axon::Tensor;
using axon_test::expect_error;
using axon_test::near_ref;
using axon_test::random_doubles;
using axon_test::tensor_from;

TEST(Aliasing, OverlapsAndSameMemory) {
  const Tensor buffer = Tensor::uniform({10, 4}, -1, 1);
  EXPECT_TRUE(buffer.rows(0, 5).overlaps(buffer.rows(4, 10)));
  EXPECT_FALSE(buffer.rows(0, 5).overlaps(buffer.rows(5, 10)));
  EXPECT_TRUE(buffer.rows(2, 4).same_memory(buffer.rows(2, 4).reshape({8})));
  EXPECT_FALSE(buffer.rows(2, 4).same_memory(buffer.rows(2, 3)));
  EXPECT_FALSE(buffer.overlaps(Tensor::uniform({10, 4}, -1, 1)));
  EXPECT_FALSE(buffer.rows(3, 3).overlaps(buffer));  // empty views overlap nothing
  EXPECT_EQ(buffer.rows(2, 4).storage_offset(), 8);
}

TEST(Aliasing, InPlaceElementwiseIsTheSerialResult) {
  const auto a = random_doubles(1000, -2, 2, 1), b = random_doubles(1000, -2, 2, 2);
  Tensor ta = tensor_from({1000}, a);
  const Tensor tb = tensor_from({1000}, b);
  axon::binary_out(BinaryOp::kAdd, ta, tb, ta);
  std::vector<double> sum(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) sum[i] = static_cast<float>(static_cast<float>(a[i]) + static_cast<float>(b[i]));
  EXPECT_TRUE(near_ref(ta, sum, 0, 0));

  Tensor x = tensor_from({20, 50}, random_doubles(1000, -3, 3, 3));
  const std::vector<float> before = x.to_vector();
  axon::softmax_out(x, x);  // row-wise in place
  const Tensor expected = axon::softmax(Tensor::from_vector({20, 50}, before));
  EXPECT_EQ(x.to_vector(), expected.to_vector());
}

TEST(Aliasing, PartialOverlapThrows) {
  const Tensor buffer = Tensor::uniform({65}, -1, 1);
  const Tensor ones = Tensor::ones({64});
  expect_error<axon::ValueError>(
      [&] { axon::binary_out(BinaryOp::kAdd, buffer.rows(0, 64), ones, buffer.rows(1, 65)); },
      {"add", "out", "partly overlaps", "a"});
  expect_error<axon::ValueError>([&] { axon::scale_out(buffer.rows(0, 64), 2.0f, buffer.rows(1, 65)); },
                                 {"scale", "partly overlaps"});
  expect_error<axon::ValueError>([&] { axon::axpy(1.0f, buffer.rows(1, 65), buffer.rows(0, 64)); },
                                 {"axpy", "y", "partly overlaps", "x"});
  expect_error<axon::ValueError>(
      [&] { axon::activation_out(Activation::kTanh, buffer.rows(0, 64), buffer.rows(1, 65)); },
      {"tanh", "partly overlaps"});
  const Tensor grid = Tensor::uniform({5, 4}, -1, 1);
  expect_error<axon::ValueError>([&] { axon::softmax_out(grid.rows(0, 4), grid.rows(1, 5)); },
                                 {"softmax", "partly overlaps"});
}

TEST(Aliasing, AccumulatedOutputsMustBeDisjoint) {
  const Tensor grad = Tensor::uniform({4, 3}, -1, 1);
  // the bias gradient written into the first row of grad itself
  expect_error<axon::ValueError>([&] { axon::bias_grad_out(grad, grad.rows(0, 1).reshape({3})); },
                                 {"bias_grad", "out", "must not overlap", "grad"});
  const Tensor x = Tensor::uniform({4, 4}, -1, 1);
  expect_error<axon::ValueError>(
      [&] { axon::reduce_rows_out(ReduceOp::kSum, x, x.rows(0, 1).reshape({4})); },
      {"reduce_rows", "must not overlap"});
  const Tensor pred = Tensor::uniform({3, 1}, -1, 1);
  expect_error<axon::ValueError>(
      [&] { axon::loss_out(axon::LossKind::kMse, pred, Tensor::zeros({3, 1}), pred.rows(0, 1).reshape({1}), Tensor()); },
      {"mse_loss", "value", "must not overlap", "pred"});
  const Tensor pre = Tensor::uniform({4, 3}, -1, 1);
  expect_error<axon::ValueError>(
      [&] { axon::bias_activation_out(Activation::kGelu, pre, Tensor::zeros({3}), pre, pre); },
      {"bias_gelu", "pre", "must not overlap", "y"});
}

TEST(Aliasing, GemmOnDisjointRowsOfOneBuffer) {
  // Three 2x2 matrices in one arena: disjoint views are fine.
  const Tensor arena = tensor_from({6, 2}, std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0});
  axon::gemm(arena.rows(0, 2), arena.rows(2, 4), arena.rows(4, 6));
  EXPECT_TRUE(near_ref(arena.rows(4, 6), {19, 22, 43, 50}, 0, 0));
  expect_error<axon::ValueError>([&] { axon::gemm(arena.rows(0, 2), arena.rows(2, 4), arena.rows(1, 3)); },
                                 {"gemm", "c", "must not overlap", "a"});
}

TEST(Aliasing, UndefinedTensorHasNoElements) {
  const Tensor undefined;
  EXPECT_EQ(undefined.numel(), 0);
  EXPECT_EQ(undefined.nbytes(), 0u);
}

}  // namespace
