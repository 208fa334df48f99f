#pragma once
// The kinds of activation, loss, reduction and elementwise op, shared by the free functions
// (ops.h) and the backends (backend.h), and the list of every backend op (Op).
#include <cstdint>
#include <limits>
#include <string_view>

#include "axon/export.h"

namespace axon {

enum class Activation : std::uint8_t {
  kIdentity,
  kSigmoid,
  kTanh,
  kRelu,
  kLeakyRelu,    // x > 0 ? x : alpha * x            (alpha = 0.01 unless set)
  kElu,          // x > 0 ? x : alpha * (e^x - 1)    (alpha = 1)
  kSelu,         // scale * elu(x, 1.6732...)         (fixed constants)
  kGelu,         // x * Phi(x), the exact erf form    (as PyTorch's default)
  kSilu,         // x * sigmoid(x)
  kSoftplus,     // log(1 + e^(beta x)) / beta; x where beta x > threshold (alpha = beta = 1,
                 // beta = threshold = 20: torch's Softplus(beta, threshold))
  kSoftsign,     // x / (1 + |x|)
  kHardSigmoid,  // clamp(x / 6 + 1/2, 0, 1)          (as PyTorch and Keras 3)
  kRelu6,        // clamp(x, 0, 6)
  kHardtanh,     // clamp(x, alpha, beta)             (min_val = -1, max_val = 1)
  kHardswish,    // x * relu6(x + 3) / 6
  kMish,         // x * tanh(softplus(x))
  kLogSigmoid,   // log(sigmoid(x)) = -softplus(-x)
  kGeluTanh,     // GELU's tanh approximation         (torch's approximate='tanh')
};
inline constexpr int kActivationCount = static_cast<int>(Activation::kGeluTanh) + 1;

// The tunable constants of an activation: alpha is the slope of leaky ReLU, ELU's alpha,
// Hardtanh's min_val and Softplus's beta; beta is Hardtanh's max_val and Softplus's threshold.
// NaN (the default) means "the activation's default"; any finite value is used as given
// (ValueError for an infinite one, Hardtanh's min_val >= max_val, or a Softplus beta of 0).
struct ActivationParams {
  float alpha = std::numeric_limits<float>::quiet_NaN();
  float beta = std::numeric_limits<float>::quiet_NaN();
};
// The constants an activation runs with, defaults filled in (what backends receive).
struct ActivationConstants {
  float alpha = 0.0f;
  float beta = 0.0f;
};
AXON_API ActivationConstants default_constants(Activation activation);
AXON_API float default_alpha(Activation activation);  // default_constants(activation).alpha
// params with the defaults filled in; ValueError for an infinite constant, Hardtanh's
// min_val >= max_val, a Softplus beta of 0.
AXON_API ActivationConstants resolve_activation_constants(Activation activation, ActivationParams params);
// What the constants are called in PyTorch (and in model files): {"alpha", ""} for leaky ReLU,
// {"min_val", "max_val"} for Hardtanh, {"beta", "threshold"} for Softplus; "" when unused.
struct ActivationConstantNames {
  std::string_view alpha, beta;
};
AXON_API ActivationConstantNames activation_constant_names(Activation activation);

enum class BinaryOp : std::uint8_t { kAdd, kSub, kMul };
inline constexpr int kBinaryOpCount = static_cast<int>(BinaryOp::kMul) + 1;

enum class LossKind : std::uint8_t {
  kMse,                  // (p - t)^2
  kMae,                  // |p - t|
  kHuber,                // 0.5 d^2 if |d| <= delta else delta (|d| - delta/2)
  kBceWithLogits,        // binary cross-entropy of sigmoid(logits) against t in [0, 1]
  kSoftmaxCrossEntropy,  // per row -log softmax(logits)[label], int32 labels (torch's CrossEntropyLoss)
  kNll,                  // per row -logp[label]: pred holds log-probabilities, int32 labels
  kBce,                  // binary cross-entropy of probabilities p in [0, 1] against t
};
inline constexpr int kLossCount = static_cast<int>(LossKind::kBce) + 1;

// How the per-element (per-row for the label losses) terms become the value, as torch's
// `reduction`: kMean divides by the element count (by the summed class weights of the rows
// that count, for the weighted label losses), kSum adds, kNone keeps one value per term.
// The gradient is always d(value summed)/d pred.
enum class Reduction : std::uint8_t { kMean, kSum, kNone };
inline constexpr int kReductionCount = static_cast<int>(Reduction::kNone) + 1;

struct LossParams {
  float huber_delta = 1.0f;
  Reduction reduction = Reduction::kMean;
  float label_smoothing = 0.0f;      // softmax cross-entropy only, in [0, 1]
  std::int32_t ignore_index = -100;  // label losses: rows with this label count nowhere
};

// A 2-D convolution as torch.nn.Conv2d computes it (a cross-correlation): x [N, C, H, W],
// weight [O, C / groups, KH, KW], y [N, O, OH, OW] with OH = (H + pad_top + pad_bottom -
// dilation_h (KH - 1) - 1) / stride_h + 1 (the same across). Padding per side, so that
// padding="same" with an even kernel pads as torch does (the extra row and column at the end).
struct Conv2dGeometry {
  std::int64_t batch = 0, in_channels = 0, height = 0, width = 0;
  std::int64_t out_channels = 0, kernel_h = 1, kernel_w = 1;
  std::int64_t stride_h = 1, stride_w = 1;
  std::int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  std::int64_t dilation_h = 1, dilation_w = 1;
  std::int64_t groups = 1;

  std::int64_t out_height() const {
    return (height + pad_top + pad_bottom - dilation_h * (kernel_h - 1) - 1) / stride_h + 1;
  }
  std::int64_t out_width() const {
    return (width + pad_left + pad_right - dilation_w * (kernel_w - 1) - 1) / stride_w + 1;
  }
  bool operator==(const Conv2dGeometry&) const = default;
};

// A convolution's settings, the shapes aside (what conv2d_out takes).
struct Conv2dOptions {
  std::int64_t stride_h = 1, stride_w = 1;
  std::int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  std::int64_t dilation_h = 1, dilation_w = 1;
  std::int64_t groups = 1;
};

// A 2-D pooling's settings, as torch.nn.MaxPool2d / AvgPool2d take them: padding on both sides
// (at most half the kernel), dilation for max pooling only; ceil_mode rounds the output size up
// (a window must start inside the input or its left padding); count_include_pad divides an
// average by the whole window, padding included (torch's default), else by its input part.
struct Pool2dOptions {
  std::int64_t kernel_h = 1, kernel_w = 1;
  std::int64_t stride_h = 1, stride_w = 1;
  std::int64_t pad_h = 0, pad_w = 0;
  std::int64_t dilation_h = 1, dilation_w = 1;
  bool ceil_mode = false;
  bool count_include_pad = true;
};

// What the backends get: the settings, and the planes (N * C) of height x width each and the
// output size, checked.
struct Pool2dGeometry {
  Pool2dOptions options;
  std::int64_t planes = 0, height = 0, width = 0, out_height = 0, out_width = 0;
};

// Batch normalisation over x seen as [outer, channels, inner] (channels: axis 1 of [N, C],
// [N, C, L], [N, C, H, W]): one mean and variance per channel over outer * inner values.
struct BatchNormShape {
  std::int64_t outer = 0, channels = 0, inner = 0;
  float eps = 1e-5f;
  float momentum = 0.1f;  // the running statistics' update factor
};

enum class ReduceOp : std::uint8_t { kSum, kMean, kMax };
inline constexpr int kReduceOpCount = static_cast<int>(ReduceOp::kMax) + 1;

// Every op of the Backend interface, once: this list makes the enum and op_name(). The
// cross-backend test walks it, and a test fails when an op is added here without being covered
// there. X(enumerator, name)
#define AXON_OP_LIST(X)                                                                       \
  X(kFill, "fill")                                                                            \
  X(kFillUniform, "fill_uniform")                                                             \
  X(kFillNormal, "fill_normal")                                                               \
  X(kGemm, "gemm")                                                                            \
  X(kBiasAdd, "bias_add")                                                                     \
  X(kBiasGrad, "bias_grad")                                                                   \
  X(kBinary, "binary")                                                                        \
  X(kScale, "scale")                                                                          \
  X(kAxpy, "axpy")                                                                            \
  X(kActivationForward, "activation_forward")                                                 \
  X(kActivationBackward, "activation_backward")                                               \
  X(kSoftmax, "softmax")                                                                      \
  X(kLogSoftmax, "log_softmax")                                                               \
  X(kSoftmaxBackward, "softmax_backward")                                                     \
  X(kLogSoftmaxBackward, "log_softmax_backward")                                              \
  X(kPrelu, "prelu")                                     /* x > 0 ? x : a[channel] * x */ \
  X(kPreluBackward, "prelu_backward")                          /* grad_x and grad_weight */ \
  X(kLoss, "loss")                                                                            \
  X(kConv2d, "conv2d")                         /* y = x (*) w + b, NCHW, groups, dilation */ \
  X(kConv2dBackwardData, "conv2d_backward_data")                              /* grad_x */ \
  X(kConv2dBackwardWeights, "conv2d_backward_weights")            /* grad_w, grad_bias */ \
  X(kMaxPool2d, "max_pool2d")                      /* y and the argmax of every window */ \
  X(kMaxPool2dBackward, "max_pool2d_backward")                                           \
  X(kAvgPool2d, "avg_pool2d")                                                            \
  X(kAvgPool2dBackward, "avg_pool2d_backward")                                           \
  X(kBatchNormTrain, "batch_norm_train")       /* batch statistics, y, running update */ \
  X(kBatchNormEval, "batch_norm_eval")                           /* with running statistics */ \
  X(kBatchNormBackward, "batch_norm_backward")                  /* grad_x, grad_weight, bias */ \
  X(kLayerNorm, "layer_norm")                      /* per row of the normalised size */ \
  X(kLayerNormBackward, "layer_norm_backward")                                           \
  X(kReduceAll, "reduce_all")                                                                 \
  X(kReduceRows, "reduce_rows")                                                               \
  X(kArgmaxRows, "argmax_rows")                                                               \
  /* Fused: one pass (CPU) or one kernel / one cublasLt call (CUDA) where two would do. */    \
  X(kBiasActivation, "bias_activation")                          /* pre = x + b; y = f(pre) */ \
  X(kActivationBackwardBiasGrad, "activation_backward_bias_grad") /* grad_pre, grad_bias */    \
  X(kLinear, "linear")                                           /* pre = x @ w^T + b; y = f */ \
  X(kDropout, "dropout")                                 /* mask from Philox; y = x * mask */ \
  X(kClamp, "clamp")                                                                         \
  X(kClipGradNorm, "clip_grad_norm")                       /* norm on the device, scale */   \
  /* Optimizer steps: one fused pass over flat parameters, gradients and state. */            \
  X(kSgdStep, "sgd_step")                                                                    \
  X(kAdagradStep, "adagrad_step")                                                            \
  X(kRmspropStep, "rmsprop_step")                                                            \
  X(kAdamStep, "adam_step")                                                                  \
  X(kLstmCell, "lstm_cell")                   /* c, h and the activated gates of one step */ \
  X(kLstmCellBackward, "lstm_cell_backward")         /* the gates' and c_prev's gradients */ \
  X(kGruCell, "gru_cell")                         /* h and the activated gates of one step */ \
  X(kGruCellBackward, "gru_cell_backward")        /* both products' and h_prev's gradients */ \
  X(kGatherRows, "gather_rows")                        /* out[i] = x[indices[i]]: batches */

// The hyperparameters of one optimizer step, as torch.optim defines them, holding exactly what
// the kernels use. The step-dependent factors (bias corrections, decayed rates) and the
// complements (1 - beta, 1 - alpha, 1 - dampening) are computed on the host in double, as
// PyTorch computes them in Python, then rounded once to float (1.0f - 0.999f is 2e-6 off
// relatively: after 200 Adam steps that put axon 14x further from a float64 run than torch).
// Gradient clipping by norm, as torch.nn.utils.clip_grad_norm_: the norm of order norm_type
// (any p > 0, or infinity: the largest magnitude) over every element, accumulated in double;
// then every element times min(1, max_norm / (norm + 1e-6)). skip_nonfinite: a NaN or infinite
// norm scales nothing (the caller reports it: torch's error_if_nonfinite).
struct GradNormClip {
  float max_norm = 1.0f;
  float norm_type = 2.0f;
  bool skip_nonfinite = false;
};

struct SgdHyper {
  float lr = 1e-3f;
  float momentum = 0.0f;
  float one_minus_dampening = 1.0f;
  float weight_decay = 0.0f;
  bool nesterov = false;
  bool first_step = true;  // the momentum buffer starts as the gradient itself
};

struct AdagradHyper {
  float lr = 1e-2f;           // already decayed: lr / (1 + (step - 1) * lr_decay)
  float weight_decay = 0.0f;
  float eps = 1e-10f;
};

struct RmspropHyper {
  float lr = 1e-2f;
  float alpha = 0.99f;
  float one_minus_alpha = 0.01f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;
  float momentum = 0.0f;  // > 0: a momentum buffer is given
  bool centered = false;  // a gradient average is given
};

struct AdamHyper {
  float lr = 1e-3f;
  float one_minus_beta1 = 0.1f;
  float beta2 = 0.999f;
  float one_minus_beta2 = 0.001f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;
  bool decoupled_weight_decay = false;  // AdamW
  bool amsgrad = false;                 // a running max of exp_avg_sq is given
  float step_size = 1e-3f;              // lr / (1 - beta1^step)
  float bias_correction2_sqrt = 1.0f;   // sqrt(1 - beta2^step)
  float decay_factor = 1.0f;            // AdamW: 1 - lr * weight_decay
};

enum class Op : std::uint8_t {
#define AXON_OP_ENUMERATOR(enumerator, name) enumerator,
  AXON_OP_LIST(AXON_OP_ENUMERATOR)
#undef AXON_OP_ENUMERATOR
};
#define AXON_OP_ONE(enumerator, name) +1
inline constexpr int kOpCount = 0 AXON_OP_LIST(AXON_OP_ONE);
#undef AXON_OP_ONE

inline constexpr std::string_view kOpNames[] = {
#define AXON_OP_NAME(enumerator, name) name,
    AXON_OP_LIST(AXON_OP_NAME)
#undef AXON_OP_NAME
};

AXON_API std::string_view op_name(Op op);
AXON_API std::string_view activation_name(Activation activation);
// The activation called `name` ("relu", ...), ValueError for a name that is none.
AXON_API Activation activation_named(std::string_view name);
AXON_API std::string_view loss_name(LossKind loss);
AXON_API std::string_view reduction_name(Reduction reduction);  // "mean", "sum", "none"
AXON_API std::string_view reduce_name(ReduceOp reduce);
AXON_API std::string_view binary_name(BinaryOp op);

}  // namespace axon
