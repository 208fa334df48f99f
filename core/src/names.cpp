#include "axon/op_kinds.h"

#include <string>

#include "axon/error.h"

#include <iterator>

namespace axon {

float default_alpha(Activation activation) {
  switch (activation) {
    case Activation::kLeakyRelu: return 0.01f;
    case Activation::kElu: return 1.0f;
    default: return 0.0f;
  }
}

std::string_view op_name(Op op) {
  const auto index = static_cast<std::size_t>(op);
  return index < std::size(kOpNames) ? kOpNames[index] : "?";
}

std::string_view activation_name(Activation activation) {
  switch (activation) {
    case Activation::kIdentity: return "identity";
    case Activation::kSigmoid: return "sigmoid";
    case Activation::kTanh: return "tanh";
    case Activation::kRelu: return "relu";
    case Activation::kLeakyRelu: return "leaky_relu";
    case Activation::kElu: return "elu";
    case Activation::kSelu: return "selu";
    case Activation::kGelu: return "gelu";
    case Activation::kSilu: return "silu";
    case Activation::kSoftplus: return "softplus";
    case Activation::kSoftsign: return "softsign";
    case Activation::kHardSigmoid: return "hard_sigmoid";
  }
  return "?";
}

Activation activation_named(std::string_view name) {
  for (int k = 0; k < kActivationCount; ++k) {
    if (activation_name(static_cast<Activation>(k)) == name) return static_cast<Activation>(k);
  }
  throw ValueError("unknown activation '" + std::string(name) + "'");
}

std::string_view loss_name(LossKind loss) {
  switch (loss) {
    case LossKind::kMse: return "mse";
    case LossKind::kMae: return "mae";
    case LossKind::kHuber: return "huber";
    case LossKind::kBceWithLogits: return "bce_with_logits";
    case LossKind::kSoftmaxCrossEntropy: return "softmax_cross_entropy";
  }
  return "?";
}

std::string_view reduce_name(ReduceOp reduce) {
  switch (reduce) {
    case ReduceOp::kSum: return "sum";
    case ReduceOp::kMean: return "mean";
    case ReduceOp::kMax: return "max";
  }
  return "?";
}

std::string_view binary_name(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd: return "add";
    case BinaryOp::kSub: return "sub";
    case BinaryOp::kMul: return "mul";
  }
  return "?";
}

}  // namespace axon
