// Regression tests for faults an outside probe found in the ops layer (issue 7): printing empty
// tensors, bad enum values, counts that overflow, output dtypes, the op named in messages, and
// zero-element tensors whose other dimensions are huge.
#include <cstdint>
#include <limits>
#include <string>

#include "test_util.h"

namespace {

using axon::Activation;
using axon::DType;
using axon::LossKind;
using axon::ReduceOp;
using axon::Shape;
using axon::Tensor;
using axon_test::expect_error;

constexpr std::int64_t kHuge = std::int64_t{1} << 40;

// ---- printing a tensor with no elements costs nothing, whatever its other dimensions ----

TEST(Hardening, EmptyTensorsPrintTheHeaderAndEmptyBrackets) {
  EXPECT_EQ(Tensor::empty({1000000, 0}).str(), "Tensor([1000000, 0] float32 cpu)\n[]");
  EXPECT_EQ(Tensor::empty({kHuge, 0}).str(), "Tensor([1099511627776, 0] float32 cpu)\n[]");
  EXPECT_EQ(Tensor::empty({1 << 20, 1 << 20, 0}, axon::Device::cpu(), DType::kInt32).str(),
            "Tensor([1048576, 1048576, 0] int32 cpu)\n[]");
  EXPECT_EQ(Tensor::empty({0}).str(), "Tensor([0] float32 cpu)\n[]");
}

// ---- every factory refuses a dtype that is not one of the enum's values ----

TEST(Hardening, FactoriesRefuseAnOutOfRangeDType) {
  const auto bad = static_cast<DType>(7);
  expect_error<axon::ValueError>([&] { (void)Tensor::empty({1 << 20, 1 << 20}, axon::Device::cpu(), bad); },
                                 {"Tensor::empty", "dtype 7"});
  expect_error<axon::ValueError>([&] { (void)Tensor::zeros({3}, axon::Device::cpu(), bad); }, {"dtype 7"});
}

// ---- counts that overflow throw instead of wrapping ----

TEST(Hardening, GeneratorRefusesCountsThatWouldWrapTheStream) {
  axon::Generator generator(1);
  expect_error<axon::ValueError>([&] { (void)generator.take(std::numeric_limits<std::int64_t>::max()); },
                                 {"Generator::take"});
  EXPECT_EQ(generator.offset(), 0u);  // nothing was reserved by the refused call
  const axon::PhiloxSlice slice = generator.take(9);
  EXPECT_EQ(slice.offset, 0u);
  EXPECT_EQ(generator.offset(), 3u);  // 9 numbers are 3 blocks of 4
  // Near the end of the 64-bit block counter the next reservation would wrap: refused.
  axon::Generator late(1);
  constexpr std::int64_t kMostPerTake = std::numeric_limits<std::int64_t>::max() / 16;  // ~2^59
  const std::uint64_t blocks_per_take = static_cast<std::uint64_t>(kMostPerTake / 4 + 1);
  std::uint64_t expected = 0;
  while (expected <= std::numeric_limits<std::uint64_t>::max() - blocks_per_take) {
    (void)late.take(kMostPerTake);
    expected += blocks_per_take;
  }
  EXPECT_EQ(late.offset(), expected);
  expect_error<axon::ValueError>([&] { (void)late.take(kMostPerTake); }, {"Philox stream"});
  EXPECT_EQ(late.offset(), expected);
  EXPECT_NO_THROW((void)late.take(0));
}

TEST(Hardening, ShapeElementCountOverflowThrows) {
  const Shape shape{kHuge, kHuge};
  expect_error<axon::ValueError>([&] { (void)shape.numel(); }, {"[1099511627776, 1099511627776]", "overflow"});
  expect_error<axon::ValueError>([&] { (void)Shape({kHuge, kHuge, 2}).rows(); }, {"overflow"});
  EXPECT_EQ(Shape({kHuge, 0}).numel(), 0);
}

// ---- every output's dtype is checked at the op, which the message names ----

TEST(Hardening, Int32OutputsAreRefusedByTheOpThatGotThem) {
  const Tensor x = Tensor::uniform({4, 3}, -1, 1);
  const Tensor bias = Tensor::uniform({3}, -1, 1);
  const Tensor int_out = Tensor::zeros({4, 3}, axon::Device::cpu(), DType::kInt32);
  const Tensor int_row = Tensor::zeros({3}, axon::Device::cpu(), DType::kInt32);
  const Tensor int_one = Tensor::zeros({1}, axon::Device::cpu(), DType::kInt32);
  expect_error<axon::DTypeError>([&] { axon::bias_add_out(x, bias, int_out); }, {"axon::bias_add", "out"});
  expect_error<axon::DTypeError>([&] { axon::bias_grad_out(x, int_row); }, {"axon::bias_grad", "out"});
  expect_error<axon::DTypeError>([&] { axon::scale_out(x, 2.0f, int_out); }, {"axon::scale", "out"});
  expect_error<axon::DTypeError>([&] { axon::softmax_out(x, int_out); }, {"axon::softmax", "y"});
  expect_error<axon::DTypeError>([&] { axon::softmax_backward_out(x, x, int_out); },
                                 {"axon::softmax_backward", "grad_x"});
  expect_error<axon::DTypeError>([&] { axon::reduce_all_out(ReduceOp::kSum, x, int_one); }, {"axon::sum", "out"});
  expect_error<axon::DTypeError>([&] { axon::argmax_rows_out(x, Tensor::zeros({4})); },
                                 {"axon::argmax_rows", "out", "int32"});
  expect_error<axon::DTypeError>([&] { axon::activation_out(Activation::kRelu, x, int_out); }, {"axon::relu", "y"});
}

// ---- a bad kind is reported first, naming the public function ----

TEST(Hardening, OutOfRangeKindsNameThePublicFunction) {
  const auto bad_activation = static_cast<Activation>(200);
  const auto bad_loss = static_cast<LossKind>(99);
  const Tensor x = Tensor::uniform({4, 3}, -1, 1);
  const Tensor w = Tensor::uniform({3, 3}, -1, 1);
  const Tensor bias = Tensor::uniform({3}, -1, 1);
  const Tensor out = Tensor::empty({4, 3});
  // pre == y would also be refused: the kind is checked before anything that names the op.
  expect_error<axon::ValueError>([&] { axon::linear_out(bad_activation, x, w, bias, out, out); },
                                 {"axon::linear_out:", "activation 200"});
  expect_error<axon::ValueError>([&] { axon::bias_activation_out(bad_activation, x, bias, out, out); },
                                 {"axon::bias_activation_out:", "activation 200"});
  expect_error<axon::ValueError>(
      [&] { axon::activation_backward_bias_grad_out(bad_activation, x, x, x, out, bias); },
      {"axon::activation_backward_bias_grad_out:", "activation 200"});
  expect_error<axon::ValueError>([&] { (void)axon::activation(bad_activation, x); }, {"axon::activation:"});
  expect_error<axon::ValueError>([&] { axon::activation_out(bad_activation, x, out); }, {"axon::activation_out:"});
  expect_error<axon::ValueError>([&] { (void)axon::activation_backward(bad_activation, x, x, x); },
                                 {"axon::activation_backward:"});
  expect_error<axon::ValueError>([&] { (void)axon::loss(bad_loss, x, x); }, {"axon::loss:", "loss kind 99"});
  expect_error<axon::ValueError>([&] { (void)axon::loss_value(bad_loss, x, x); }, {"axon::loss_value:"});
  expect_error<axon::ValueError>([&] { (void)axon::reduce_rows(static_cast<ReduceOp>(9), x); },
                                 {"axon::reduce_rows:", "reduce op 9"});
  try {
    axon::linear_out(bad_activation, x, w, bias, out, out);
  } catch (const axon::Error& e) {
    EXPECT_EQ(std::string(e.what()).find('?'), std::string::npos) << e.what();  // was "axon::linear_?"
  }
}

// ---- zero elements: no loop over the other dimensions, sums over nothing are zero ----

TEST(Hardening, ZeroElementTensorsWithHugeOtherDimensionsReturnAtOnce) {
  const Tensor x = Tensor::empty({kHuge, 0});
  const Tensor bias = Tensor::empty({0});
  const Tensor out = Tensor::empty({kHuge, 0});
  const Tensor pre = Tensor::empty({kHuge, 0});
  axon::bias_add_out(x, bias, out);  // looped 2^40 times in Debug builds before
  axon::bias_activation_out(Activation::kRelu, x, bias, pre, out);
  axon::activation_out(Activation::kGelu, x, out);
  axon::softmax_out(x, out);
  axon::bias_grad_out(x, bias);
  axon::activation_backward_bias_grad_out(Activation::kTanh, pre, out, x, pre, bias);
  axon::binary_out(axon::BinaryOp::kAdd, x, x, out);
  axon::fill(out, 1.0f);
  EXPECT_EQ(axon::sum(x).item(), 0.0f);
}

TEST(Hardening, SumsOverNoRowsAreZero) {
  const Tensor no_rows = Tensor::empty({0, 5});
  const Tensor grad_bias = Tensor::full({5}, std::numeric_limits<float>::quiet_NaN());
  axon::bias_grad_out(no_rows, grad_bias);
  EXPECT_EQ(grad_bias.to_vector(), std::vector<float>(5, 0.0f));
  const Tensor fused_bias = Tensor::full({5}, 7.0f);
  axon::activation_backward_bias_grad_out(Activation::kRelu, no_rows, no_rows, no_rows, Tensor::empty({0, 5}),
                                          fused_bias);
  EXPECT_EQ(fused_bias.to_vector(), std::vector<float>(5, 0.0f));
  const Tensor row_sums = Tensor::full({3}, 9.0f);
  axon::reduce_rows_out(ReduceOp::kSum, Tensor::empty({3, 0}), row_sums);
  EXPECT_EQ(row_sums.to_vector(), std::vector<float>(3, 0.0f));
}

// ---- the new _out forms and item() agree with the allocating forms ----

TEST(Hardening, OutFormsMatchTheAllocatingForms) {
  const Tensor y = axon::softmax(Tensor::uniform({5, 7}, -2, 2));
  const Tensor grad_y = Tensor::uniform({5, 7}, -1, 1);
  const Tensor grad_x = Tensor::empty({5, 7});
  axon::softmax_backward_out(y, grad_y, grad_x);
  EXPECT_EQ(grad_x.to_vector(), axon::softmax_backward(y, grad_y).to_vector());
  const Tensor log_y = axon::log_softmax(Tensor::uniform({5, 7}, -2, 2));
  axon::log_softmax_backward_out(log_y, grad_y, grad_x);
  EXPECT_EQ(grad_x.to_vector(), axon::log_softmax_backward(log_y, grad_y).to_vector());
  // In place on grad_y is allowed (each row is read before it is written); on y it is not.
  const Tensor in_place = grad_y.clone();
  axon::softmax_backward_out(y, in_place, in_place);
  EXPECT_EQ(in_place.to_vector(), axon::softmax_backward(y, grad_y).to_vector());
  expect_error<axon::ValueError>([&] { axon::softmax_backward_out(y, grad_y, y); }, {"must not overlap y"});

  const Tensor x = Tensor::uniform({6, 9}, -3, 3);
  const Tensor one = Tensor::empty({1});
  for (const ReduceOp op : {ReduceOp::kSum, ReduceOp::kMean, ReduceOp::kMax}) {
    axon::reduce_all_out(op, x, one);
    EXPECT_EQ(one.item(), axon::reduce_all(op, x).item());
  }
  expect_error<axon::ShapeError>([&] { axon::reduce_all_out(ReduceOp::kSum, x, Tensor::empty({2})); },
                                 {"one element"});
  const Tensor indices = Tensor::empty({6}, axon::Device::cpu(), DType::kInt32);
  axon::argmax_rows_out(x, indices);
  EXPECT_EQ(indices.to_int_vector(), axon::argmax_rows(x).to_int_vector());
  expect_error<axon::DTypeError>([] { (void)Tensor::zeros({1}, axon::Device::cpu(), DType::kInt32).item(); },
                                 {"Tensor::item", "float32"});
}

}  // namespace
