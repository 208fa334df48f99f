#include "axon/op_kinds.h"

#include <cmath>
#include <string>

#include "axon/error.h"

#include <iterator>

namespace axon {

ActivationConstants default_constants(Activation activation) {
  switch (activation) {
    case Activation::kLeakyRelu: return {0.01f, 0.0f};
    case Activation::kElu: return {1.0f, 0.0f};
    case Activation::kHardtanh: return {-1.0f, 1.0f};
    case Activation::kSoftplus: return {1.0f, 20.0f};
    default: return {};
  }
}

float default_alpha(Activation activation) { return default_constants(activation).alpha; }

ActivationConstants resolve_activation_constants(Activation kind, ActivationParams params) {
  const ActivationConstants defaults = default_constants(kind);
  const auto [alpha_name, beta_name] = activation_constant_names(kind);
  const auto resolve = [&](float given, float otherwise, std::string_view name) {
    if (std::isnan(given)) return otherwise;
    if (!std::isfinite(given)) {
      throw ValueError(std::string(name.empty() ? "alpha" : name) + " must be finite, got " + std::to_string(given));
    }
    return given;
  };
  const ActivationConstants c{resolve(params.alpha, defaults.alpha, alpha_name),
                              resolve(params.beta, defaults.beta, beta_name.empty() ? "beta" : beta_name)};
  if (kind == Activation::kHardtanh && !(c.alpha < c.beta)) {
    throw ValueError("hardtanh's min_val must be below its max_val, got " + std::to_string(c.alpha) + " and " +
                     std::to_string(c.beta));
  }
  if (kind == Activation::kSoftplus && c.alpha == 0.0f) throw ValueError("softplus's beta must not be 0");
  return c;
}

ActivationConstantNames activation_constant_names(Activation activation) {
  switch (activation) {
    case Activation::kLeakyRelu:
    case Activation::kElu: return {"alpha", ""};
    case Activation::kHardtanh: return {"min_val", "max_val"};
    case Activation::kSoftplus: return {"beta", "threshold"};
    default: return {"", ""};
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
    case Activation::kRelu6: return "relu6";
    case Activation::kHardtanh: return "hardtanh";
    case Activation::kHardswish: return "hardswish";
    case Activation::kMish: return "mish";
    case Activation::kLogSigmoid: return "log_sigmoid";
    case Activation::kGeluTanh: return "gelu_tanh";
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
    case LossKind::kNll: return "nll";
    case LossKind::kBce: return "bce";
  }
  return "?";
}

std::string_view reduction_name(Reduction reduction) {
  switch (reduction) {
    case Reduction::kMean: return "mean";
    case Reduction::kSum: return "sum";
    case Reduction::kNone: return "none";
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
