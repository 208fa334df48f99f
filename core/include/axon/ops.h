#pragma once
// The ops: free functions that check their arguments (shapes, dtypes, devices) once, then run
// on the backend of the tensors' device. Each has a form that returns a new tensor and, where
// it pays to reuse memory, an `_out` form that writes a given output and allocates nothing.
// Outputs are Tensor handles: their data is written, their shape and device are checked.
// Errors: ShapeError, DeviceError, DTypeError, ValueError, each naming the op, the shapes and
// the devices.
#include <cstdint>

#include "axon/export.h"
#include "axon/op_kinds.h"
#include "axon/tensor.h"

namespace axon {

// ---- linear algebra ----
// op(a) @ op(b) for 2-D a, b; op transposes when the flag is set.
AXON_API Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a = false,
                       bool transpose_b = false);
// c = alpha * op(a) @ op(b) + beta * c. With beta == 0, c's old values are ignored.
AXON_API void gemm(const Tensor& a, const Tensor& b, const Tensor& c, float alpha = 1.0f,
                   float beta = 0.0f, bool transpose_a = false, bool transpose_b = false);
// x[r, :] + bias for every row r; bias has x's last dimension.
AXON_API Tensor bias_add(const Tensor& x, const Tensor& bias);
AXON_API void bias_add_out(const Tensor& x, const Tensor& bias, const Tensor& out);
// Sum over rows of grad: the gradient of a bias.
AXON_API Tensor bias_grad(const Tensor& grad);
AXON_API void bias_grad_out(const Tensor& grad, const Tensor& out);

// ---- elementwise (same shapes, float32) ----
AXON_API Tensor add(const Tensor& a, const Tensor& b);
AXON_API Tensor sub(const Tensor& a, const Tensor& b);
AXON_API Tensor mul(const Tensor& a, const Tensor& b);
AXON_API void binary_out(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out);
AXON_API Tensor scale(const Tensor& x, float alpha);

// Elementwise arithmetic as operators (same shapes; no broadcasting): a + b, a - b, a * b,
// alpha * x and x * alpha.
inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator*(float alpha, const Tensor& x) { return scale(x, alpha); }
inline Tensor operator*(const Tensor& x, float alpha) { return scale(x, alpha); }
AXON_API void scale_out(const Tensor& x, float alpha, const Tensor& out);
// y += alpha * x, in place.
AXON_API void axpy(float alpha, const Tensor& x, const Tensor& y);
AXON_API void fill(const Tensor& out, float value);
AXON_API void fill_uniform(const Tensor& out, float low, float high,
                           Generator& generator = default_generator());
AXON_API void fill_normal(const Tensor& out, float mean, float stddev,
                          Generator& generator = default_generator());

// ---- activations ----
AXON_API Tensor activation(Activation kind, const Tensor& x, ActivationParams params = {});
AXON_API void activation_out(Activation kind, const Tensor& x, const Tensor& y,
                             ActivationParams params = {});
// grad_x = grad_y * f'(x), given x and y = f(x).
AXON_API Tensor activation_backward(Activation kind, const Tensor& x, const Tensor& y,
                                    const Tensor& grad_y, ActivationParams params = {});
AXON_API void activation_backward_out(Activation kind, const Tensor& x, const Tensor& y,
                                      const Tensor& grad_y, const Tensor& grad_x,
                                      ActivationParams params = {});

inline Tensor identity(const Tensor& x) { return activation(Activation::kIdentity, x); }
inline Tensor sigmoid(const Tensor& x) { return activation(Activation::kSigmoid, x); }
inline Tensor tanh(const Tensor& x) { return activation(Activation::kTanh, x); }
inline Tensor relu(const Tensor& x) { return activation(Activation::kRelu, x); }
inline Tensor leaky_relu(const Tensor& x, float slope = 0.01f) {
  return activation(Activation::kLeakyRelu, x, {slope});
}
inline Tensor elu(const Tensor& x, float alpha = 1.0f) { return activation(Activation::kElu, x, {alpha}); }
inline Tensor selu(const Tensor& x) { return activation(Activation::kSelu, x); }
inline Tensor gelu(const Tensor& x) { return activation(Activation::kGelu, x); }
inline Tensor silu(const Tensor& x) { return activation(Activation::kSilu, x); }
inline Tensor softplus(const Tensor& x, float beta = 1.0f, float threshold = 20.0f) {
  return activation(Activation::kSoftplus, x, {beta, threshold});
}
inline Tensor softsign(const Tensor& x) { return activation(Activation::kSoftsign, x); }
inline Tensor hard_sigmoid(const Tensor& x) { return activation(Activation::kHardSigmoid, x); }
inline Tensor relu6(const Tensor& x) { return activation(Activation::kRelu6, x); }
inline Tensor hardtanh(const Tensor& x, float min_val = -1.0f, float max_val = 1.0f) {
  return activation(Activation::kHardtanh, x, {min_val, max_val});
}
inline Tensor hardswish(const Tensor& x) { return activation(Activation::kHardswish, x); }
inline Tensor mish(const Tensor& x) { return activation(Activation::kMish, x); }
inline Tensor log_sigmoid(const Tensor& x) { return activation(Activation::kLogSigmoid, x); }
inline Tensor gelu_tanh(const Tensor& x) { return activation(Activation::kGeluTanh, x); }

// Row-wise over the last axis; stable for inputs of any magnitude.
AXON_API Tensor softmax(const Tensor& x);
AXON_API Tensor log_softmax(const Tensor& x);
AXON_API void softmax_out(const Tensor& x, const Tensor& y);
AXON_API void log_softmax_out(const Tensor& x, const Tensor& y);
// Gradients given the forward output y. grad_x may be grad_y itself (in place), never y.
AXON_API Tensor softmax_backward(const Tensor& y, const Tensor& grad_y);
AXON_API Tensor log_softmax_backward(const Tensor& y, const Tensor& grad_y);
AXON_API void softmax_backward_out(const Tensor& y, const Tensor& grad_y, const Tensor& grad_x);
AXON_API void log_softmax_backward_out(const Tensor& y, const Tensor& grad_y, const Tensor& grad_x);

// PReLU, as torch.nn.functional.prelu: y = x > 0 ? x : weight[c] * x, where c is the element's
// index on axis 1 (the channel axis of [N, C], [N, C, L], [N, C, H, W]) when weight has more than
// one element, and every element shares weight[0] when it has one (then x may have any rank).
AXON_API Tensor prelu(const Tensor& x, const Tensor& weight);
AXON_API void prelu_out(const Tensor& x, const Tensor& weight, const Tensor& y);
// grad_x = grad_y * (x > 0 ? 1 : weight[c]) (skipped when grad_x is undefined; may be grad_y
// itself), grad_weight[c] = the sum of grad_y * x over the channel's elements with x <= 0.
AXON_API void prelu_backward_out(const Tensor& x, const Tensor& weight, const Tensor& grad_y, const Tensor& grad_x,
                                 const Tensor& grad_weight);

// ---- recurrent cells ----
// One step of an LSTM for a batch, as PyTorch's fused cell: `gates` [N, 4H] holds the gates'
// pre-activations x W_ih^T + b_ih + h_prev W_hh^T + b_hh (columns in blocks of H: i, f, g, o);
// c_prev [N, H]. Writes c = f c_prev + i g and h = o tanh(c) ([N, H]; c may be c_prev itself),
// and overwrites `gates` with the activated gates (i, f, o sigmoid, g tanh), which the backward
// reads.
AXON_API void lstm_cell_out(const Tensor& gates, const Tensor& c_prev, const Tensor& c, const Tensor& h);
// Its backward: from the activated gates, c_prev and c of the forward, the step's output
// gradient grad_h and the next step's cell gradient grad_c (undefined: zero, the last step),
// writes grad_gates [N, 4H], the pre-activations' gradients (may be `gates` itself), and
// grad_c_prev [N, H] (may be grad_c itself).
AXON_API void lstm_cell_backward_out(const Tensor& gates, const Tensor& c_prev, const Tensor& c, const Tensor& grad_h,
                                     const Tensor& grad_c, const Tensor& grad_gates, const Tensor& grad_c_prev);
// One step of a GRU for a batch, as PyTorch's cell: gates_x [N, 3H] = x W_ih^T + b_ih and
// gates_h [N, 3H] = h_prev W_hh^T + b_hh (blocks of H: r, z, n); h_prev [N, H]. Writes
// h = (h_prev - n) z + n with r = sigmoid(x_r + h_r), z = sigmoid(x_z + h_z),
// n = tanh(x_n + r h_n) ([N, H]; may be h_prev itself), and overwrites gates_x with the
// activated r, z, n, which the backward reads beside gates_h.
AXON_API void gru_cell_out(const Tensor& gates_x, const Tensor& gates_h, const Tensor& h_prev, const Tensor& h);
// Its backward: from the activated gates, gates_h and h_prev of the forward and the step's
// output gradient grad_h, writes grad_gates_x [N, 3H] (the input product's gradients; may be
// gates_x), grad_gates_h [N, 3H] (the hidden product's; may be gates_h) and grad_h_prev [N, H],
// h_prev's gradient except the part through the hidden product (grad_gates_h W_hh; may be grad_h).
AXON_API void gru_cell_backward_out(const Tensor& gates_x, const Tensor& gates_h, const Tensor& h_prev,
                                    const Tensor& grad_h, const Tensor& grad_gates_x, const Tensor& grad_gates_h,
                                    const Tensor& grad_h_prev);

// ---- convolution, as torch.nn.functional.conv2d: NCHW, weight [O, C / groups, KH, KW] ----
// y [N, O, OH, OW] (conv2d_output_shape); bias [O] or undefined. ShapeError naming the shapes
// and settings when they do not fit (a kernel larger than the padded input, channels that
// groups does not divide); ValueError for a stride, dilation or group count below 1 or a
// negative padding.
AXON_API Shape conv2d_output_shape(const Shape& x, const Shape& weight, const Conv2dOptions& options);
AXON_API Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& options = {});
AXON_API void conv2d_out(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& y,
                         const Conv2dOptions& options = {});
// grad_x [N, C, H, W] from grad_y; grad_weight (and grad_bias when defined) from x and grad_y.
AXON_API void conv2d_backward_data_out(const Tensor& grad_y, const Tensor& weight, const Tensor& grad_x,
                                       const Conv2dOptions& options = {});
AXON_API void conv2d_backward_weights_out(const Tensor& x, const Tensor& grad_y, const Tensor& grad_weight,
                                          const Tensor& grad_bias, const Conv2dOptions& options = {});

// ---- pooling, as torch.nn.functional.max_pool2d / avg_pool2d: x [N, C, H, W] ----
// The output shape [N, C, OH, OW]; ShapeError when a window does not fit, ValueError for a
// kernel, stride or dilation below 1, or a padding above half the (dilated) kernel.
AXON_API Shape max_pool2d_output_shape(const Shape& x, const Pool2dOptions& options);
AXON_API Shape avg_pool2d_output_shape(const Shape& x, const Pool2dOptions& options);
// Max pooling: y and, in indices (int32, y's shape), each window's argmax as h * W + w in its
// plane (torch's return_indices); NaN propagates (the window's last NaN wins), ties go to the
// first maximum.
AXON_API void max_pool2d_out(const Tensor& x, const Tensor& y, const Tensor& indices, const Pool2dOptions& options);
AXON_API Tensor max_pool2d(const Tensor& x, const Pool2dOptions& options);
// grad_x: each grad_y element added to its window's argmax (windows may overlap), in a fixed
// order.
AXON_API void max_pool2d_backward_out(const Tensor& grad_y, const Tensor& indices, const Tensor& grad_x,
                                      const Pool2dOptions& options);
AXON_API void avg_pool2d_out(const Tensor& x, const Tensor& y, const Pool2dOptions& options);
AXON_API Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& options);
AXON_API void avg_pool2d_backward_out(const Tensor& grad_y, const Tensor& grad_x, const Pool2dOptions& options);

// ---- batch normalisation, as torch.nn.functional.batch_norm: x [N, C, ...] ----
// weight and bias [C] or undefined (no affine transform); save_mean and save_invstd [C] receive
// the batch statistics for the backward; running_mean and running_var [C] are updated with
// `momentum` when defined. ValueError for one value per channel (torch: "Expected more than 1
// value per channel when training"), a negative or non-finite eps, a momentum outside [0, 1].
AXON_API void batch_norm_train_out(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& y,
                                   const Tensor& save_mean, const Tensor& save_invstd, const Tensor& running_mean,
                                   const Tensor& running_var, float momentum = 0.1f, float eps = 1e-5f);
AXON_API void batch_norm_eval_out(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                  const Tensor& running_mean, const Tensor& running_var, const Tensor& y,
                                  float eps = 1e-5f);
// grad_x and grad_bias may be undefined; grad_weight too when weight is.
AXON_API void batch_norm_backward_out(const Tensor& x, const Tensor& grad_y, const Tensor& weight,
                                      const Tensor& save_mean, const Tensor& save_invstd, const Tensor& grad_x,
                                      const Tensor& grad_weight, const Tensor& grad_bias);

// ---- layer normalisation, as torch.nn.functional.layer_norm over the last axes of x whose
// sizes multiply to `size` (normalized_shape's product); weight and bias hold `size` values or
// are undefined; save_mean and save_invstd hold one value per row (x.numel() / size) for the
// backward. ValueError for a size that does not divide x's trailing axes, a negative eps ----
AXON_API void layer_norm_out(const Tensor& x, std::int64_t size, const Tensor& weight, const Tensor& bias,
                             const Tensor& y, const Tensor& save_mean, const Tensor& save_invstd, float eps = 1e-5f);
AXON_API void layer_norm_backward_out(const Tensor& x, std::int64_t size, const Tensor& grad_y, const Tensor& weight,
                                      const Tensor& save_mean, const Tensor& save_invstd, const Tensor& grad_x,
                                      const Tensor& grad_weight, const Tensor& grad_bias);

// ---- losses: value and gradient in one pass ----
struct LossResult {
  Tensor value;  // float32 on pred's device: one element, or one per term for Reduction::kNone
  Tensor grad;   // d(sum of value) / d pred, pred's shape
};
// The label losses (kSoftmaxCrossEntropy on logits, kNll on log-probabilities) take pred
// [rows, classes] and int32 labels [rows]; the others a float32 target of pred's shape.
// params.reduction is torch's: kMean (the default) divides by the element count, or for the
// label losses by the summed weights of the rows that count (rows labelled ignore_index count
// nowhere; when none counts the value and gradient are 0, where torch gives NaN); kSum adds;
// kNone gives [rows] (label losses) or pred's shape. weight, optional: the label losses' class
// weights [classes], or BCE-with-logits' pos_weight [pred's last axis]. A label outside
// [0, classes) other than ignore_index, or a BCE probability outside [0, 1], throws ValueError
// (the CUDA backend reports it when it synchronizes). An empty pred throws ValueError.
AXON_API LossResult loss(LossKind kind, const Tensor& pred, const Tensor& target,
                         LossParams params = {}, const Tensor& weight = {});
// value only (no gradient computed).
AXON_API Tensor loss_value(LossKind kind, const Tensor& pred, const Tensor& target,
                           LossParams params = {}, const Tensor& weight = {});
// value: as LossResult's; grad: pred's shape, or undefined for value only.
AXON_API void loss_out(LossKind kind, const Tensor& pred, const Tensor& target,
                       const Tensor& value, const Tensor& grad, LossParams params = {},
                       const Tensor& weight = {});

// ---- reductions ----
AXON_API Tensor sum(const Tensor& x);   // one element
AXON_API Tensor mean(const Tensor& x);  // one element; ValueError for an empty tensor
AXON_API Tensor max(const Tensor& x);   // one element; ValueError for an empty tensor; NaN if any is
AXON_API Tensor reduce_all(ReduceOp op, const Tensor& x);
AXON_API void reduce_all_out(ReduceOp op, const Tensor& x, const Tensor& out);  // out: one element
// Per row (over the last axis): [rows]. Mean and max of empty rows throw ValueError.
AXON_API Tensor reduce_rows(ReduceOp op, const Tensor& x);
AXON_API void reduce_rows_out(ReduceOp op, const Tensor& x, const Tensor& out);
// Index of the largest value of each row (the first, on ties; the first NaN, if any): int32 [rows].
AXON_API Tensor argmax_rows(const Tensor& x);
AXON_API void argmax_rows_out(const Tensor& x, const Tensor& out);  // out: int32 [rows]

// ---- fused ops: a Dense layer's forward and backward in few passes ----
// pre = x + bias (bias per column), y = f(pre). pre is kept for the backward.
AXON_API void bias_activation_out(Activation kind, const Tensor& x, const Tensor& bias,
                                  const Tensor& pre, const Tensor& y, ActivationParams params = {});
// grad_pre = grad_y * f'(pre) given pre and y = f(pre); grad_bias = column sums of grad_pre.
AXON_API void activation_backward_bias_grad_out(Activation kind, const Tensor& pre, const Tensor& y,
                                                const Tensor& grad_y, const Tensor& grad_pre,
                                                const Tensor& grad_bias, ActivationParams params = {});
// The whole Dense forward: pre = x @ w^T + bias, y = f(pre); x [batch, in], w [out, in] (as
// PyTorch's nn.Linear stores it), bias [out], pre and y [batch, out]. pre may be an undefined
// Tensor: then only y is written (inference, or f = identity). On CUDA the bias rides in the
// GEMM's epilogue (cublasLt).
AXON_API void linear_out(Activation kind, const Tensor& x, const Tensor& w, const Tensor& bias,
                         const Tensor& pre, const Tensor& y, ActivationParams params = {});

// ---- data ----
// Rows of x picked by int32 indices: out[i, ...] = x[indices[i], ...] (a mini-batch gathered from
// a dataset on the device). x float32 or int32 with at least one axis; out has x's dtype and
// shape but indices.numel() rows. An index outside [0, x.dim(0)) throws ValueError (on CUDA
// when the device synchronizes).
AXON_API Tensor gather_rows(const Tensor& x, const Tensor& indices);
AXON_API void gather_rows_out(const Tensor& x, const Tensor& indices, const Tensor& out);

// ---- training ----
// Inverted dropout with probability p in [0, 1): mask = (u >= p) / (1 - p) per element, u
// uniform in [0, 1) from the generator (Philox: the same mask on every backend); y = x * mask.
// y may be x (in place); mask has x's shape.
AXON_API void dropout_out(const Tensor& x, float p, const Tensor& y, const Tensor& mask,
                          Generator& generator = default_generator());
// out = min(max(x, low), high); out may be x. ValueError unless low <= high (NaN refused).
AXON_API void clamp_out(const Tensor& x, float low, float high, const Tensor& out);
// Scales grads (any shape, in place) so their norm of order norm_type (2: L2; any p > 0; or
// infinity: the largest magnitude) is at most max_norm, as torch.nn.utils.clip_grad_norm_
// (factor min(1, max_norm / (norm + 1e-6))). Writes the norm before clipping into total_norm
// (one float32 element on grads' device); no host sync. ValueError for max_norm <= 0 or a
// norm_type <= 0.
AXON_API void clip_grad_norm_out(const Tensor& grads, float max_norm, const Tensor& total_norm, float norm_type = 2.0f);
// The same with every setting (GradNormClip: skip_nonfinite leaves grads as they are when the
// norm is NaN or infinite).
AXON_API void clip_grad_norm_out(const Tensor& grads, const GradNormClip& clip, const Tensor& total_norm);

// Optimizer steps over flat float32 tensors of equal length (see the Hyper structs in
// op_kinds.h and axon/optim/optimizer.h for the classes that drive them). State tensors are
// updated in place; those a configuration does not use may be undefined.
AXON_API void sgd_step(const SgdHyper& hyper, const Tensor& params, const Tensor& grads,
                       const Tensor& momentum_buffer);
AXON_API void adagrad_step(const AdagradHyper& hyper, const Tensor& params, const Tensor& grads,
                           const Tensor& state_sum);
AXON_API void rmsprop_step(const RmspropHyper& hyper, const Tensor& params, const Tensor& grads,
                           const Tensor& square_avg, const Tensor& momentum_buffer, const Tensor& grad_avg);
AXON_API void adam_step(const AdamHyper& hyper, const Tensor& params, const Tensor& grads, const Tensor& exp_avg,
                        const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq);

// Waits for all queued work on a device (a no-op on the CPU).
AXON_API void synchronize(Device device);

}  // namespace axon
