#pragma once
// The interface every device implements: memory and kernels. Free functions (ops.h) check the
// arguments once and then call these; a backend trusts them: all tensors are on its device,
// contiguous, with the shapes and dtypes the free function checked, outputs already allocated.
// "Matrix" below means the tensor read as rows x cols (Shape::rows(), Shape::cols()).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "axon/device.h"
#include "axon/export.h"
#include "axon/memory.h"
#include "axon/op_kinds.h"
#include "axon/random.h"
#include "axon/tensor.h"

namespace axon {

class AXON_API Backend {
 public:
  virtual ~Backend() = default;
  virtual Device device() const = 0;

  // ---- memory ----
  virtual void* allocate(std::size_t bytes) = 0;  // throws OutOfMemory
  virtual void deallocate(void* pointer, std::size_t bytes) noexcept = 0;
  virtual void copy_from_host(void* device_dst, const void* host_src, std::size_t bytes) = 0;
  virtual void copy_to_host(void* host_dst, const void* device_src, std::size_t bytes) = 0;
  virtual void copy_on_device(void* dst, const void* src, std::size_t bytes) = 0;
  virtual void synchronize() = 0;  // waits for all queued work
  virtual MemoryStats memory_stats() const = 0;
  virtual void release_cached_memory() = 0;  // a no-op for backends without a cache

  // ---- fills ----
  virtual void fill(const Tensor& out, float value) = 0;  // float32 or int32 (value cast)
  virtual void fill_uniform(const Tensor& out, float low, float high, PhiloxSlice slice) = 0;
  virtual void fill_normal(const Tensor& out, float mean, float stddev, PhiloxSlice slice) = 0;

  // ---- linear algebra ----
  // c = alpha * op(a) @ op(b) + beta * c, with op = transpose when the flag is set; 2-D tensors.
  // With beta == 0, c is not read (it may hold NaN).
  virtual void gemm(bool transpose_a, bool transpose_b, float alpha, const Tensor& a,
                    const Tensor& b, float beta, const Tensor& c) = 0;
  // out[r, c] = x[r, c] + bias[c]
  virtual void bias_add(const Tensor& x, const Tensor& bias, const Tensor& out) = 0;
  // out[c] = sum over rows of grad[r, c]  (the bias gradient)
  virtual void bias_grad(const Tensor& grad, const Tensor& out) = 0;

  // ---- elementwise (same shapes) ----
  virtual void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) = 0;
  virtual void scale(const Tensor& x, float alpha, const Tensor& out) = 0;  // out = alpha x
  virtual void axpy(float alpha, const Tensor& x, const Tensor& y) = 0;      // y += alpha x

  // ---- activations ----
  // The constants are resolved (defaults filled in, checked: resolve_constants).
  virtual void activation_forward(Activation kind, ActivationConstants constants, const Tensor& x,
                                  const Tensor& y) = 0;
  // grad_x = grad_y * f'(x); y = f(x) is given too, so kernels use whichever is cheaper.
  virtual void activation_backward(Activation kind, ActivationConstants constants, const Tensor& x, const Tensor& y,
                                   const Tensor& grad_y, const Tensor& grad_x) = 0;
  // Row-wise over the last axis.
  virtual void softmax(const Tensor& x, const Tensor& y) = 0;
  virtual void log_softmax(const Tensor& x, const Tensor& y) = 0;
  virtual void softmax_backward(const Tensor& y, const Tensor& grad_y, const Tensor& grad_x) = 0;
  virtual void log_softmax_backward(const Tensor& y, const Tensor& grad_y,
                                    const Tensor& grad_x) = 0;

  // PReLU over x viewed as [outer, channels, inner], channels = weight.numel() (1: one slope
  // for every element): y = x > 0 ? x : weight[c] * x. The backward writes grad_x (when
  // defined) and grad_weight[c] = the sum over the channel's elements with x <= 0 of grad_y * x,
  // accumulated in double in a fixed order.
  virtual void prelu(const Tensor& x, const Tensor& weight, std::int64_t inner, const Tensor& y) = 0;
  virtual void prelu_backward(const Tensor& x, const Tensor& weight, const Tensor& grad_y, std::int64_t inner,
                              const Tensor& grad_x, const Tensor& grad_weight) = 0;

  // ---- convolution (NCHW; the geometry checked: every size >= 1, the output non-empty) ----
  // y = conv(x, weight) + bias; bias [O] or undefined.
  virtual void conv2d(const Conv2dGeometry& g, const Tensor& x, const Tensor& weight, const Tensor& bias,
                      const Tensor& y) = 0;
  // grad_x = dL/dx given grad_y (overwritten, not accumulated).
  virtual void conv2d_backward_data(const Conv2dGeometry& g, const Tensor& grad_y, const Tensor& weight,
                                    const Tensor& grad_x) = 0;
  // grad_weight = dL/dweight and, when defined, grad_bias = dL/dbias (overwritten).
  virtual void conv2d_backward_weights(const Conv2dGeometry& g, const Tensor& x, const Tensor& grad_y,
                                       const Tensor& grad_weight, const Tensor& grad_bias) = 0;

  // ---- pooling (NCHW planes; axon's own kernels, core/src/kernels/pool_math.h) ----
  // indices: int32, y's shape, each the flat index h * width + w of its window's maximum.
  virtual void max_pool2d(const Pool2dGeometry& g, const Tensor& x, const Tensor& y, const Tensor& indices) = 0;
  // grad_x (overwritten) from grad_y and the forward's indices.
  virtual void max_pool2d_backward(const Pool2dGeometry& g, const Tensor& grad_y, const Tensor& indices,
                                   const Tensor& grad_x) = 0;
  virtual void avg_pool2d(const Pool2dGeometry& g, const Tensor& x, const Tensor& y) = 0;
  virtual void avg_pool2d_backward(const Pool2dGeometry& g, const Tensor& grad_y, const Tensor& grad_x) = 0;

  // ---- batch normalisation (weight and bias undefined: 1 and 0) ----
  // Training: per channel the mean and biased variance (accumulated in double, in a fixed
  // order) into save_mean and save_invstd = 1 / sqrt(var + eps); y = (x - mean) * invstd * weight
  // + bias; when running_mean is defined, running = (1 - momentum) running + momentum * batch
  // statistic (the variance unbiased: times n / (n - 1)).
  virtual void batch_norm_train(const BatchNormShape& s, const Tensor& x, const Tensor& weight, const Tensor& bias,
                                const Tensor& y, const Tensor& save_mean, const Tensor& save_invstd,
                                const Tensor& running_mean, const Tensor& running_var) = 0;
  // Evaluation: y = (x - running_mean) / sqrt(running_var + eps) * weight + bias.
  virtual void batch_norm_eval(const BatchNormShape& s, const Tensor& x, const Tensor& weight, const Tensor& bias,
                               const Tensor& running_mean, const Tensor& running_var, const Tensor& y) = 0;
  // The training forward's gradients: grad_x (when defined), grad_weight and grad_bias (when
  // defined), from x, grad_y and the saved statistics.
  virtual void batch_norm_backward(const BatchNormShape& s, const Tensor& x, const Tensor& grad_y,
                                   const Tensor& weight, const Tensor& save_mean, const Tensor& save_invstd,
                                   const Tensor& grad_x, const Tensor& grad_weight, const Tensor& grad_bias) = 0;

  // ---- layer normalisation: x as [rows, size], each row normalised by its own mean and biased
  // variance (double sums), then weight and bias [size] (undefined: 1 and 0) per column ----
  virtual void layer_norm(std::int64_t size, float eps, const Tensor& x, const Tensor& weight, const Tensor& bias,
                          const Tensor& y, const Tensor& save_mean, const Tensor& save_invstd) = 0;
  // grad_x (when defined) per row; grad_weight and grad_bias (when defined) as column sums over
  // the rows in row order.
  virtual void layer_norm_backward(std::int64_t size, const Tensor& x, const Tensor& grad_y, const Tensor& weight,
                                   const Tensor& save_mean, const Tensor& save_invstd, const Tensor& grad_x,
                                   const Tensor& grad_weight, const Tensor& grad_bias) = 0;

  // ---- losses ----
  // As loss_out (ops.h), arguments checked: value is [1] or, for Reduction::kNone, one element
  // per term; grad (may be undefined: value only) has pred's shape; weight may be undefined.
  // The label losses' target is int32 labels, one per row of pred; a label outside [0, classes)
  // other than ignore_index, or a BCE probability outside [0, 1], throws ValueError before
  // anything is written (the CUDA backend reports it when it synchronizes).
  virtual void loss(LossKind kind, const LossParams& params, const Tensor& pred, const Tensor& target,
                    const Tensor& weight, const Tensor& value, const Tensor& grad) = 0;

  // ---- reductions ----
  virtual void reduce_all(ReduceOp op, const Tensor& x, const Tensor& out) = 0;   // out: [1]
  virtual void reduce_rows(ReduceOp op, const Tensor& x, const Tensor& out) = 0;  // out: [rows]
  virtual void argmax_rows(const Tensor& x, const Tensor& out) = 0;  // out: int32 [rows]

  // ---- fused (the forward and backward of a Dense layer) ----
  // pre = x + bias (per row); y = f(pre).
  virtual void bias_activation(Activation kind, ActivationConstants constants, const Tensor& x, const Tensor& bias,
                               const Tensor& pre, const Tensor& y) = 0;
  // grad_pre = grad_y * f'(pre) (y = f(pre) given too); grad_bias = column sums of grad_pre.
  virtual void activation_backward_bias_grad(Activation kind, ActivationConstants constants, const Tensor& pre,
                                             const Tensor& y, const Tensor& grad_y,
                                             const Tensor& grad_pre, const Tensor& grad_bias) = 0;
  // pre = x @ w^T + bias, y = f(pre): x [batch, in], w [out, in] (nn.Linear's layout), bias
  // [out]. pre may be undefined: then only y is written (inference, or f = identity).
  virtual void linear(Activation kind, ActivationConstants constants, const Tensor& x, const Tensor& w,
                      const Tensor& bias, const Tensor& pre, const Tensor& y) = 0;

  // ---- recurrent cells (ops.h: lstm_cell_out) ----
  // gates [rows, 4 hidden] in place: pre-activations in, activated gates out; c may be c_prev.
  virtual void lstm_cell(const Tensor& gates, const Tensor& c_prev, const Tensor& c, const Tensor& h) = 0;
  // grad_c undefined: zero. grad_gates may be gates, grad_c_prev may be grad_c.
  virtual void lstm_cell_backward(const Tensor& gates, const Tensor& c_prev, const Tensor& c, const Tensor& grad_h,
                                  const Tensor& grad_c, const Tensor& grad_gates, const Tensor& grad_c_prev) = 0;
  // (ops.h: gru_cell_out) gates_x [rows, 3 hidden] in place: the input product in, the
  // activated r, z, n out; gates_h read; h may be h_prev.
  virtual void gru_cell(const Tensor& gates_x, const Tensor& gates_h, const Tensor& h_prev, const Tensor& h) = 0;
  // grad_gates_x may be gates_x, grad_gates_h may be gates_h, grad_h_prev may be grad_h.
  virtual void gru_cell_backward(const Tensor& gates_x, const Tensor& gates_h, const Tensor& h_prev, const Tensor& grad_h,
                                 const Tensor& grad_gates_x, const Tensor& grad_gates_h, const Tensor& grad_h_prev) = 0;

  // ---- data ----
  // out[i, ...] = x[indices[i], ...]; x and out of one dtype, indices int32. An index outside
  // [0, rows of x) throws ValueError (the CUDA backend writes zeros for that row and reports it
  // when it synchronizes, as it does bad labels).
  virtual void gather_rows(const Tensor& x, const Tensor& indices, const Tensor& out) = 0;

  // ---- training ----
  // Inverted dropout: mask[i] = (uniform_i >= p) / (1 - p) with uniform_i element i of the
  // Philox slice (as fill_uniform on [0, 1)); y = x * mask. y may be x.
  virtual void dropout(float p, PhiloxSlice slice, const Tensor& x, const Tensor& y, const Tensor& mask) = 0;
  // out = min(max(x, low), high) elementwise; out may be x.
  virtual void clamp(const Tensor& x, float low, float high, const Tensor& out) = 0;
  // The norm (GradNormClip) into the one-element total_norm; then grads *= the factor, read on
  // the device.
  virtual void clip_grad_norm(const GradNormClip& clip, const Tensor& grads, const Tensor& total_norm) = 0;
  // One optimizer step over flat tensors of one length, state updated in place. Tensors a
  // configuration does not use are undefined (see each Hyper).
  virtual void sgd_step(const SgdHyper& hyper, const Tensor& params, const Tensor& grads,
                        const Tensor& momentum_buffer) = 0;
  virtual void adagrad_step(const AdagradHyper& hyper, const Tensor& params, const Tensor& grads,
                            const Tensor& state_sum) = 0;
  virtual void rmsprop_step(const RmspropHyper& hyper, const Tensor& params, const Tensor& grads,
                            const Tensor& square_avg, const Tensor& momentum_buffer, const Tensor& grad_avg) = 0;
  virtual void adam_step(const AdamHyper& hyper, const Tensor& params, const Tensor& grads, const Tensor& exp_avg,
                         const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq) = 0;
};

// The backend that owns a device; throws DeviceError (one sentence) when the device is absent.
AXON_API std::shared_ptr<Backend> backend_for(Device device);

}  // namespace axon
