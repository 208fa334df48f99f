#pragma once
// The kernel launchers of the CUDA backend: raw device pointers, element counts, one stream.
// Each launches nothing when there is nothing to do (numel == 0) and checks the launch.
// Pointers may alias where the op allows it (in-place elementwise): kernels read an element
// before writing it, and never read an element another thread writes.
#include <cuda_runtime.h>

#include <cstdint>

#include "axon/op_kinds.h"
#include "cuda/cuda_memory.h"

namespace axon::cuda {

struct LaunchConfig {
  cudaStream_t stream = nullptr;
  int max_blocks = 1024;  // a cap for grid-stride loops (a few waves of the device's SMs)
};

// ---- fills and elementwise (cuda_elementwise.cu) ----
void launch_fill_f32(const LaunchConfig& lc, float* out, std::int64_t n, float value);
void launch_fill_i32(const LaunchConfig& lc, std::int32_t* out, std::int64_t n, std::int32_t value);
void launch_fill_uniform(const LaunchConfig& lc, float* out, std::int64_t n, float low, float high,
                         std::uint64_t seed, std::uint64_t offset);
void launch_fill_normal(const LaunchConfig& lc, float* out, std::int64_t n, float mean,
                        float stddev, std::uint64_t seed, std::uint64_t offset);
void launch_binary(const LaunchConfig& lc, BinaryOp op, const float* a, const float* b, float* out,
                   std::int64_t n);
void launch_scale(const LaunchConfig& lc, const float* x, float alpha, float* out, std::int64_t n);
void launch_axpy(const LaunchConfig& lc, float alpha, const float* x, float* y, std::int64_t n);
void launch_bias_add(const LaunchConfig& lc, const float* x, const float* bias, float* out,
                     std::int64_t rows, std::int64_t cols);

// ---- activations (cuda_activation.cu) ----
void launch_activation_forward(const LaunchConfig& lc, Activation kind, ActivationConstants constants, const float* x,
                               float* y, std::int64_t n);
void launch_activation_backward(const LaunchConfig& lc, Activation kind, ActivationConstants constants,
                                const float* x, const float* y, const float* grad_y,
                                float* grad_x, std::int64_t n);

// ---- softmax and losses (cuda_softmax_loss.cu) ----
void launch_softmax(const LaunchConfig& lc, bool log, const float* x, float* y, std::int64_t rows,
                    std::int64_t cols);
void launch_softmax_backward(const LaunchConfig& lc, bool log, const float* y, const float* grad_y,
                             float* grad_x, std::int64_t rows, std::int64_t cols);
// The elementwise losses. value: one float, or n for Reduction::kNone; grad: nullptr for value
// only; pos_weight: BCE with logits' [columns] or nullptr. For BCE, a probability outside
// [0, 1] lowers *probability_flag (atomicMin) to its index. n > 0.
void launch_pointwise_loss(const LaunchConfig& lc, CachingAllocator& allocator, LossKind kind,
                           const LossParams& params, const float* pred, const float* target,
                           const float* pos_weight, std::int64_t columns, float* value, float* grad,
                           std::int64_t n, unsigned long long* probability_flag);
// Softmax cross-entropy or NLL over labels int32 [rows], class weights [cols] or nullptr; value
// one float, or rows for Reduction::kNone. A label outside [0, cols) other than ignore_index
// lowers *error_flag (atomicMin) to (row << 32) | label, which the backend reports when it
// synchronizes. rows > 0.
void launch_label_loss(const LaunchConfig& lc, CachingAllocator& allocator, LossKind kind,
                       const LossParams& params, const float* pred, const std::int32_t* labels,
                       const float* weight, float* value, float* grad, std::int64_t rows, std::int64_t cols,
                       unsigned long long* error_flag);

// ---- reductions (cuda_reduce.cu) ----
// *out = (float)(sum of partials[0..count) / divisor), summed in a fixed order by one block:
// the second pass of every deterministic reduction (count may be 0: the sum is 0).
void launch_finish_sum(const LaunchConfig& lc, const double* partials, std::int64_t count,
                       double divisor, float* out);
void launch_reduce_all(const LaunchConfig& lc, CachingAllocator& allocator, ReduceOp op,
                       const float* x, float* out, std::int64_t n);
void launch_reduce_rows(const LaunchConfig& lc, ReduceOp op, const float* x, float* out,
                        std::int64_t rows, std::int64_t cols);
void launch_argmax_rows(const LaunchConfig& lc, const float* x, std::int32_t* out,
                        std::int64_t rows, std::int64_t cols);
void launch_bias_grad(const LaunchConfig& lc, CachingAllocator& allocator, const float* grad,
                      float* out, std::int64_t rows, std::int64_t cols);
// out[col] = (float)(sum over chunk of partials[chunk * cols + col]), in chunk order: the second
// pass of every column sum (bias_grad, activation_backward_bias_grad).
void launch_column_sums_finish(const LaunchConfig& lc, const double* partials, std::int64_t chunks,
                               std::int64_t cols, float* out);

}  // namespace axon::cuda
