#pragma once
// The CPU backend: host memory, OpenBLAS GEMM, OpenMP loops. See backend.h for each op's
// contract; arguments were checked by the free functions.
#include <atomic>

#include "axon/backend.h"

namespace axon::cpu {

class CpuBackend final : public Backend {
 public:
  Device device() const override { return Device::cpu(); }

  void* allocate(std::size_t bytes) override;
  void deallocate(void* pointer, std::size_t bytes) noexcept override;
  void copy_from_host(void* device_dst, const void* host_src, std::size_t bytes) override;
  void copy_to_host(void* host_dst, const void* device_src, std::size_t bytes) override;
  void copy_on_device(void* dst, const void* src, std::size_t bytes) override;
  void synchronize() override {}
  MemoryStats memory_stats() const override;
  void release_cached_memory() override {}  // host memory goes straight back to the allocator

  void fill(const Tensor& out, float value) override;
  void fill_uniform(const Tensor& out, float low, float high, PhiloxSlice slice) override;
  void fill_normal(const Tensor& out, float mean, float stddev, PhiloxSlice slice) override;

  void gemm(bool transpose_a, bool transpose_b, float alpha, const Tensor& a, const Tensor& b,
            float beta, const Tensor& c) override;
  void bias_add(const Tensor& x, const Tensor& bias, const Tensor& out) override;
  void bias_grad(const Tensor& grad, const Tensor& out) override;

  void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) override;
  void scale(const Tensor& x, float alpha, const Tensor& out) override;
  void axpy(float alpha, const Tensor& x, const Tensor& y) override;

  void activation_forward(Activation kind, ActivationConstants constants, const Tensor& x, const Tensor& y) override;
  void activation_backward(Activation kind, ActivationConstants constants, const Tensor& x, const Tensor& y,
                           const Tensor& grad_y, const Tensor& grad_x) override;
  void softmax(const Tensor& x, const Tensor& y) override;
  void log_softmax(const Tensor& x, const Tensor& y) override;
  void softmax_backward(const Tensor& y, const Tensor& grad_y, const Tensor& grad_x) override;
  void log_softmax_backward(const Tensor& y, const Tensor& grad_y, const Tensor& grad_x) override;
  // cpu_conv.cpp: oneDNN's convolutions
  void conv2d(const Conv2dGeometry& g, const Tensor& x, const Tensor& weight, const Tensor& bias,
              const Tensor& y) override;
  void conv2d_backward_data(const Conv2dGeometry& g, const Tensor& grad_y, const Tensor& weight,
                            const Tensor& grad_x) override;
  void conv2d_backward_weights(const Conv2dGeometry& g, const Tensor& x, const Tensor& grad_y, const Tensor& grad_weight,
                               const Tensor& grad_bias) override;
  void max_pool2d(const Pool2dGeometry& g, const Tensor& x, const Tensor& y, const Tensor& indices) override;
  void max_pool2d_backward(const Pool2dGeometry& g, const Tensor& grad_y, const Tensor& indices,
                           const Tensor& grad_x) override;
  void avg_pool2d(const Pool2dGeometry& g, const Tensor& x, const Tensor& y) override;
  void avg_pool2d_backward(const Pool2dGeometry& g, const Tensor& grad_y, const Tensor& grad_x) override;
  void batch_norm_train(const BatchNormShape& s, const Tensor& x, const Tensor& weight, const Tensor& bias,
                        const Tensor& y, const Tensor& save_mean, const Tensor& save_invstd,
                        const Tensor& running_mean, const Tensor& running_var) override;
  void batch_norm_eval(const BatchNormShape& s, const Tensor& x, const Tensor& weight, const Tensor& bias,
                       const Tensor& running_mean, const Tensor& running_var, const Tensor& y) override;
  void batch_norm_backward(const BatchNormShape& s, const Tensor& x, const Tensor& grad_y, const Tensor& weight,
                           const Tensor& save_mean, const Tensor& save_invstd, const Tensor& grad_x,
                           const Tensor& grad_weight, const Tensor& grad_bias) override;
  void layer_norm(std::int64_t size, float eps, const Tensor& x, const Tensor& weight, const Tensor& bias,
                  const Tensor& y, const Tensor& save_mean, const Tensor& save_invstd) override;
  void layer_norm_backward(std::int64_t size, const Tensor& x, const Tensor& grad_y, const Tensor& weight,
                           const Tensor& save_mean, const Tensor& save_invstd, const Tensor& grad_x,
                           const Tensor& grad_weight, const Tensor& grad_bias) override;
  void lstm_cell(const Tensor& gates, const Tensor& c_prev, const Tensor& c, const Tensor& h) override;
  void lstm_cell_backward(const Tensor& gates, const Tensor& c_prev, const Tensor& c, const Tensor& grad_h,
                          const Tensor& grad_c, const Tensor& grad_gates, const Tensor& grad_c_prev) override;
  void gru_cell(const Tensor& gates_x, const Tensor& gates_h, const Tensor& h_prev, const Tensor& h) override;
  void gru_cell_backward(const Tensor& gates_x, const Tensor& gates_h, const Tensor& h_prev, const Tensor& grad_h,
                         const Tensor& grad_gates_x, const Tensor& grad_gates_h, const Tensor& grad_h_prev) override;
  void prelu(const Tensor& x, const Tensor& weight, std::int64_t inner, const Tensor& y) override;
  void prelu_backward(const Tensor& x, const Tensor& weight, const Tensor& grad_y, std::int64_t inner,
                      const Tensor& grad_x, const Tensor& grad_weight) override;

  void loss(LossKind kind, const LossParams& params, const Tensor& pred, const Tensor& target,
            const Tensor& weight, const Tensor& value, const Tensor& grad) override;

  void reduce_all(ReduceOp op, const Tensor& x, const Tensor& out) override;
  void reduce_rows(ReduceOp op, const Tensor& x, const Tensor& out) override;
  void argmax_rows(const Tensor& x, const Tensor& out) override;

  void bias_activation(Activation kind, ActivationConstants constants, const Tensor& x, const Tensor& bias, const Tensor& pre,
                       const Tensor& y) override;
  void activation_backward_bias_grad(Activation kind, ActivationConstants constants, const Tensor& pre, const Tensor& y,
                                     const Tensor& grad_y, const Tensor& grad_pre,
                                     const Tensor& grad_bias) override;
  void linear(Activation kind, ActivationConstants constants, const Tensor& x, const Tensor& w, const Tensor& bias,
              const Tensor& pre, const Tensor& y) override;


  void gather_rows(const Tensor& x, const Tensor& indices, const Tensor& out) override;
  void dropout(float p, PhiloxSlice slice, const Tensor& x, const Tensor& y, const Tensor& mask) override;
  void clamp(const Tensor& x, float low, float high, const Tensor& out) override;
  void clip_grad_norm(const GradNormClip& clip, const Tensor& grads, const Tensor& total_norm) override;
  void sgd_step(const SgdHyper& hyper, const Tensor& params, const Tensor& grads,
                const Tensor& momentum_buffer) override;
  void adagrad_step(const AdagradHyper& hyper, const Tensor& params, const Tensor& grads,
                    const Tensor& state_sum) override;
  void rmsprop_step(const RmspropHyper& hyper, const Tensor& params, const Tensor& grads, const Tensor& square_avg,
                    const Tensor& momentum_buffer, const Tensor& grad_avg) override;
  void adam_step(const AdamHyper& hyper, const Tensor& params, const Tensor& grads, const Tensor& exp_avg,
                 const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq) override;

 private:
  std::atomic<std::size_t> live_bytes_{0};
  std::atomic<std::size_t> peak_bytes_{0};
};

}  // namespace axon::cpu
