// The training ops on the CPU against double references: dropout, clamp, gradient-norm
// clipping, and their argument errors. (The optimizer steps are checked against PyTorch in
// tests/optim/optim_reference_test.cpp and across backends in the op table.)
#include <cmath>

#include "test_util.h"

namespace {

using axon::Tensor;
using axon_test::expect_error;
using axon_test::near_ref;
using axon_test::random_doubles;
using axon_test::tensor_from;

TEST(CpuTrain, GatherRowsPicksRowsInOrder) {
  const auto values = random_doubles(5 * 3, -1, 1, 2);
  const Tensor x = tensor_from({5, 3}, values);
  const Tensor indices = axon_test::int_tensor_from({6}, {4, 0, 0, 2, 1, 4});
  std::vector<double> want;
  for (const int i : {4, 0, 0, 2, 1, 4}) {
    for (int c = 0; c < 3; ++c) want.push_back(values[static_cast<std::size_t>(i * 3 + c)]);
  }
  EXPECT_TRUE(near_ref(axon::gather_rows(x, indices), want, 0, 0));
  const Tensor labels = axon_test::int_tensor_from({5}, {7, 8, 9, 10, 11});
  EXPECT_EQ(axon::gather_rows(labels, indices).to_int_vector(), (std::vector<std::int32_t>{11, 7, 7, 9, 8, 11}));
  // Rank 3: each row is a whole [2, 2] block.
  const Tensor cube = Tensor::from_vector({3, 2, 2}, std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  EXPECT_EQ(axon::gather_rows(cube, axon_test::int_tensor_from({2}, {2, 0})).to_vector(),
            (std::vector<float>{8, 9, 10, 11, 0, 1, 2, 3}));
  // A bad index throws before anything is written.
  const Tensor out = Tensor::full({2, 3}, 5.0f);
  expect_error<axon::ValueError>([&] { axon::gather_rows_out(x, axon_test::int_tensor_from({2}, {1, 5}), out); },
                                 {"gather_rows", "index 5", "position 1", "[0, 5)"});
  EXPECT_EQ(out.to_vector(), std::vector<float>(6, 5.0f));
  expect_error<axon::DTypeError>([&] { (void)axon::gather_rows(x, Tensor::zeros({2})); }, {"indices", "int32"});
  expect_error<axon::ShapeError>([&] { axon::gather_rows_out(x, indices, Tensor::empty({6, 2})); }, {"out", "[6, 3]"});
}

TEST(CpuTrain, DropoutKeepsScaledElementsAtTheRightRate) {
  const std::int64_t n = 100000;
  const auto x_values = random_doubles(static_cast<std::size_t>(n), -2, 2, 3);
  const Tensor x = tensor_from({n}, x_values);
  const Tensor y = Tensor::empty({n}), mask = Tensor::empty({n});
  axon::Generator generator(9);
  const float p = 0.3f;
  axon::dropout_out(x, p, y, mask, generator);
  const auto m = mask.to_vector();
  const auto out = y.to_vector();
  const float scale = 1.0f / (1.0f - p);
  std::int64_t dropped = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const auto k = static_cast<std::size_t>(i);
    ASSERT_TRUE(m[k] == 0.0f || m[k] == scale) << i;
    dropped += m[k] == 0.0f;
    ASSERT_EQ(out[k], static_cast<float>(x_values[k]) * m[k]) << i;
  }
  // 30% dropped, within 5 standard deviations of a binomial.
  EXPECT_NEAR(static_cast<double>(dropped) / n, 0.3, 5 * std::sqrt(0.3 * 0.7 / n));
  // The same generator state gives the same mask; the next call another one.
  axon::Generator again(9);
  const Tensor mask2 = Tensor::empty({n});
  axon::dropout_out(x, p, Tensor::empty({n}), mask2, again);
  EXPECT_EQ(mask2.to_vector(), m);
  axon::dropout_out(x, p, Tensor::empty({n}), mask2, again);
  EXPECT_NE(mask2.to_vector(), m);
  // In place, and p = 0 keeps everything.
  const Tensor z = x.clone();
  axon::dropout_out(z, 0.0f, z, mask2, generator);
  EXPECT_EQ(z.to_vector(), x.to_vector());
}

TEST(CpuTrain, DropoutRefusesBadArguments) {
  const Tensor x = Tensor::uniform({4, 3}, -1, 1);
  expect_error<axon::ValueError>([&] { axon::dropout_out(x, 1.0f, Tensor::empty({4, 3}), Tensor::empty({4, 3})); },
                                 {"axon::dropout", "[0, 1)"});
  expect_error<axon::ShapeError>([&] { axon::dropout_out(x, 0.5f, Tensor::empty({4, 3}), Tensor::empty({3})); },
                                 {"axon::dropout", "mask"});
  expect_error<axon::ValueError>([&] { axon::dropout_out(x, 0.5f, Tensor::empty({4, 3}), x); },
                                 {"mask", "must not overlap"});
}

TEST(CpuTrain, ClampMatchesReference) {
  const auto values = random_doubles(1000, -3, 3, 4);
  std::vector<double> want(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) want[i] = std::min(std::max(values[i], -0.5), 1.25);
  const Tensor x = tensor_from({10, 100}, values);
  const Tensor out = Tensor::empty({10, 100});
  axon::clamp_out(x, -0.5f, 1.25f, out);
  EXPECT_TRUE(near_ref(out, want, 0, 0));
  axon::clamp_out(x, -0.5f, 1.25f, x);  // in place
  EXPECT_TRUE(near_ref(x, want, 0, 0));
  expect_error<axon::ValueError>([&] { axon::clamp_out(x, 1.0f, -1.0f, x); }, {"axon::clamp", "low <= high"});
  expect_error<axon::ValueError>([&] { axon::clamp_out(x, NAN, 1.0f, x); }, {"axon::clamp"});
}

TEST(CpuTrain, ClipGradNormMatchesReference) {
  for (const double max_norm : {0.5, 1e6}) {
    const auto values = random_doubles(70000, -1, 1, 5);
    double sum_squares = 0;
    for (double v : values) sum_squares += v * v;
    const double norm = std::sqrt(sum_squares);
    const double factor = std::min(1.0, max_norm / (norm + 1e-6));
    std::vector<double> want(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) want[i] = values[i] * factor;
    const Tensor grads = tensor_from({70000}, values);
    const Tensor total = Tensor::empty({1});
    axon::clip_grad_norm_out(grads, static_cast<float>(max_norm), total);
    EXPECT_NEAR(total.item(), norm, 1e-6 * norm);
    EXPECT_TRUE(near_ref(grads, want, 1e-6, 1e-9)) << "max_norm " << max_norm;
  }
  const Tensor grads = Tensor::uniform({5}, -1, 1);
  expect_error<axon::ValueError>([&] { axon::clip_grad_norm_out(grads, -1.0f, Tensor::empty({1})); },
                                 {"clip_grad_norm", "max_norm"});
  expect_error<axon::ShapeError>([&] { axon::clip_grad_norm_out(grads, 1.0f, Tensor::empty({2})); },
                                 {"clip_grad_norm", "one element"});
}

TEST(CpuTrain, OptimizerStepsRefuseMissingStateAndMismatchedShapes) {
  const Tensor p = Tensor::uniform({8}, -1, 1), g = Tensor::uniform({8}, -1, 1);
  axon::SgdHyper sgd;
  sgd.momentum = 0.9f;
  expect_error<axon::ValueError>([&] { axon::sgd_step(sgd, p, g, Tensor()); }, {"sgd_step", "momentum_buffer"});
  expect_error<axon::ShapeError>([&] { axon::sgd_step(sgd, p, g, Tensor::zeros({7})); },
                                 {"sgd_step", "momentum_buffer"});
  axon::AdamHyper adam;
  adam.amsgrad = true;
  expect_error<axon::ValueError>(
      [&] { axon::adam_step(adam, p, g, Tensor::zeros({8}), Tensor::zeros({8}), Tensor()); },
      {"adam_step", "max_exp_avg_sq"});
  const Tensor state = Tensor::zeros({8});
  expect_error<axon::ValueError>([&] { axon::adam_step(axon::AdamHyper{}, p, g, state, state, Tensor()); },
                                 {"adam_step", "must not overlap"});
  expect_error<axon::ValueError>([&] { axon::adagrad_step({-1.0f}, p, g, Tensor::zeros({8})); },
                                 {"adagrad_step", "lr"});
}

}  // namespace
