// Batch and layer normalisation: the CPU backend's formulas (core/src/kernels/norm_math.h), one block per
// channel: its threads stride over the channel's elements, the double sums go through the
// block's fixed reduction tree (deterministic; the order differs from the CPU's, so the two
// agree to rounding). cuDNN's batch normalisation is not used, for the same reasons as
// oneDNN's (cpu/cpu_norm.cpp).
#include "core/src/kernels/norm_math.h"
#include "cuda/cuda_backend.h"
#include "cuda/cuda_check.h"
#include "cuda/cuda_common.cuh"

namespace axon::cuda {

namespace {

const float* data_or_null(const Tensor& t) { return t.defined() ? t.data<float>() : nullptr; }

__global__ void batch_norm_train_kernel(BatchNormShape s, const float* x, const float* weight, const float* bias,
                                        float* y, float* save_mean, float* save_invstd, float* running_mean,
                                        float* running_var) {
  __shared__ double shared[32];
  const std::int64_t c = blockIdx.x, n = s.outer * s.inner;
  double sum = 0.0;
  for (std::int64_t k = threadIdx.x; k < n; k += blockDim.x) sum += x[kernels::channel_element(s, c, k)];
  const double mean = block_reduce(sum, SumOp{}, 0.0, shared) / static_cast<double>(n);
  double squares = 0.0;
  for (std::int64_t k = threadIdx.x; k < n; k += blockDim.x) {
    const double d = x[kernels::channel_element(s, c, k)] - mean;
    squares += d * d;
  }
  const double var = block_reduce(squares, SumOp{}, 0.0, shared) / static_cast<double>(n);
  const double invstd = 1.0 / ::sqrt(var + static_cast<double>(s.eps));
  if (threadIdx.x == 0) {
    save_mean[c] = static_cast<float>(mean);
    save_invstd[c] = static_cast<float>(invstd);
    if (running_mean != nullptr) kernels::update_running(s, mean, var, n, running_mean, running_var, c);
  }
  const kernels::ChannelAffine a = kernels::train_affine(mean, invstd, weight, bias, c);
  for (std::int64_t k = threadIdx.x; k < n; k += blockDim.x) {
    const std::int64_t i = kernels::channel_element(s, c, k);
    y[i] = kernels::apply_affine(a, x[i]);
  }
}

__global__ void batch_norm_eval_kernel(BatchNormShape s, const float* x, const float* weight, const float* bias,
                                       const float* running_mean, const float* running_var, float* y) {
  const std::int64_t c = blockIdx.x, n = s.outer * s.inner;
  const kernels::ChannelAffine a = kernels::eval_affine(s, weight, bias, running_mean, running_var, c);
  for (std::int64_t k = threadIdx.x; k < n; k += blockDim.x) {
    const std::int64_t i = kernels::channel_element(s, c, k);
    y[i] = kernels::apply_affine(a, x[i]);
  }
}

__global__ void batch_norm_backward_kernel(BatchNormShape s, const float* x, const float* grad_y, const float* weight,
                                           const float* save_mean, const float* save_invstd, float* grad_x,
                                           float* grad_weight, float* grad_bias) {
  __shared__ double shared[32];
  const std::int64_t c = blockIdx.x, n = s.outer * s.inner;
  const double mean = save_mean[c], invstd = save_invstd[c];
  double sum_dy = 0.0, dot = 0.0;
  for (std::int64_t k = threadIdx.x; k < n; k += blockDim.x) {
    const std::int64_t i = kernels::channel_element(s, c, k);
    sum_dy += grad_y[i];
    dot += static_cast<double>(grad_y[i]) * (static_cast<double>(x[i]) - mean);
  }
  sum_dy = block_reduce(sum_dy, SumOp{}, 0.0, shared);
  dot = block_reduce(dot, SumOp{}, 0.0, shared);
  if (threadIdx.x == 0) {
    if (grad_weight != nullptr) grad_weight[c] = static_cast<float>(dot * invstd);
    if (grad_bias != nullptr) grad_bias[c] = static_cast<float>(sum_dy);
  }
  if (grad_x == nullptr) return;
  const kernels::ChannelGrad g =
      kernels::channel_grad(mean, invstd, weight != nullptr ? static_cast<double>(weight[c]) : 1.0, sum_dy, dot, n);
  for (std::int64_t k = threadIdx.x; k < n; k += blockDim.x) {
    const std::int64_t i = kernels::channel_element(s, c, k);
    grad_x[i] = kernels::input_grad(g, x[i], grad_y[i]);
  }
}

// Layer normalisation: one block per row (row sums through the block's fixed tree), and the
// weight and bias gradients one thread per column walking the rows in order.
__global__ void layer_norm_kernel(std::int64_t size, float eps, const float* x, const float* weight,
                                  const float* bias, float* y, float* save_mean, float* save_invstd) {
  __shared__ double shared[32];
  const std::int64_t r = blockIdx.x;
  const float* row = x + r * size;
  double sum = 0.0;
  for (std::int64_t j = threadIdx.x; j < size; j += blockDim.x) sum += row[j];
  const double mean = block_reduce(sum, SumOp{}, 0.0, shared) / static_cast<double>(size);
  double squares = 0.0;
  for (std::int64_t j = threadIdx.x; j < size; j += blockDim.x) squares += (row[j] - mean) * (row[j] - mean);
  const double var = block_reduce(squares, SumOp{}, 0.0, shared) / static_cast<double>(size);
  const double invstd = 1.0 / ::sqrt(var + static_cast<double>(eps));
  if (threadIdx.x == 0) {
    save_mean[r] = static_cast<float>(mean);
    save_invstd[r] = static_cast<float>(invstd);
  }
  for (std::int64_t j = threadIdx.x; j < size; j += blockDim.x) {
    y[r * size + j] = kernels::layer_norm_value(row[j], mean, invstd, weight, bias, j);
  }
}

__global__ void layer_norm_param_grad_kernel(std::int64_t rows, std::int64_t size, const float* x, const float* grad_y,
                                             const float* save_mean, const float* save_invstd, float* grad_weight,
                                             float* grad_bias) {
  for (std::int64_t j = global_thread(); j < size; j += grid_stride()) {
    double acc_w = 0.0, acc_b = 0.0;
    for (std::int64_t r = 0; r < rows; ++r) {
      const double g = grad_y[r * size + j];
      acc_w += g * (static_cast<double>(x[r * size + j]) - save_mean[r]) * static_cast<double>(save_invstd[r]);
      acc_b += g;
    }
    if (grad_weight != nullptr) grad_weight[j] = static_cast<float>(acc_w);
    if (grad_bias != nullptr) grad_bias[j] = static_cast<float>(acc_b);
  }
}

__global__ void layer_norm_input_grad_kernel(std::int64_t size, const float* x, const float* grad_y,
                                             const float* weight, const float* save_mean, const float* save_invstd,
                                             float* grad_x) {
  __shared__ double shared[32];
  const std::int64_t r = blockIdx.x;
  const double mean = save_mean[r], invstd = save_invstd[r];
  double sum_g = 0.0, dot = 0.0;
  for (std::int64_t j = threadIdx.x; j < size; j += blockDim.x) {
    const double g = kernels::layer_norm_g(grad_y[r * size + j], weight, j);
    sum_g += g;
    dot += g * (static_cast<double>(x[r * size + j]) - mean);
  }
  sum_g = block_reduce(sum_g, SumOp{}, 0.0, shared);
  dot = block_reduce(dot, SumOp{}, 0.0, shared);
  for (std::int64_t j = threadIdx.x; j < size; j += blockDim.x) {
    const std::int64_t i = r * size + j;
    grad_x[i] = kernels::layer_norm_input_grad(kernels::layer_norm_g(grad_y[i], weight, j), x[i], mean, invstd, sum_g,
                                               dot, size);
  }
}

unsigned channel_blocks(const BatchNormShape& s) { return static_cast<unsigned>(s.channels); }

}  // namespace

void CudaBackend::batch_norm_train(const BatchNormShape& s, const Tensor& x, const Tensor& weight, const Tensor& bias,
                                   const Tensor& y, const Tensor& save_mean, const Tensor& save_invstd,
                                   const Tensor& running_mean, const Tensor& running_var) {
  DeviceGuard guard(index_);
  batch_norm_train_kernel<<<channel_blocks(s), kThreads, 0, stream_.get()>>>(
      s, x.data<float>(), data_or_null(weight), data_or_null(bias), y.data<float>(), save_mean.data<float>(),
      save_invstd.data<float>(), running_mean.defined() ? running_mean.data<float>() : nullptr,
      running_var.defined() ? running_var.data<float>() : nullptr);
  AXON_KERNEL_CHECK("batch_norm_train_kernel");
}

void CudaBackend::batch_norm_eval(const BatchNormShape& s, const Tensor& x, const Tensor& weight, const Tensor& bias,
                                  const Tensor& running_mean, const Tensor& running_var, const Tensor& y) {
  DeviceGuard guard(index_);
  batch_norm_eval_kernel<<<channel_blocks(s), kThreads, 0, stream_.get()>>>(
      s, x.data<float>(), data_or_null(weight), data_or_null(bias), running_mean.data<float>(),
      running_var.data<float>(), y.data<float>());
  AXON_KERNEL_CHECK("batch_norm_eval_kernel");
}

void CudaBackend::batch_norm_backward(const BatchNormShape& s, const Tensor& x, const Tensor& grad_y,
                                      const Tensor& weight, const Tensor& save_mean, const Tensor& save_invstd,
                                      const Tensor& grad_x, const Tensor& grad_weight, const Tensor& grad_bias) {
  DeviceGuard guard(index_);
  batch_norm_backward_kernel<<<channel_blocks(s), kThreads, 0, stream_.get()>>>(
      s, x.data<float>(), grad_y.data<float>(), data_or_null(weight), save_mean.data<float>(),
      save_invstd.data<float>(), grad_x.defined() ? grad_x.data<float>() : nullptr,
      grad_weight.defined() ? grad_weight.data<float>() : nullptr,
      grad_bias.defined() ? grad_bias.data<float>() : nullptr);
  AXON_KERNEL_CHECK("batch_norm_backward_kernel");
}

void CudaBackend::layer_norm(std::int64_t size, float eps, const Tensor& x, const Tensor& weight, const Tensor& bias,
                             const Tensor& y, const Tensor& save_mean, const Tensor& save_invstd) {
  DeviceGuard guard(index_);
  const std::int64_t rows = x.numel() / size;
  layer_norm_kernel<<<static_cast<unsigned>(rows), kThreads, 0, stream_.get()>>>(
      size, eps, x.data<float>(), data_or_null(weight), data_or_null(bias), y.data<float>(), save_mean.data<float>(),
      save_invstd.data<float>());
  AXON_KERNEL_CHECK("layer_norm_kernel");
}

void CudaBackend::layer_norm_backward(std::int64_t size, const Tensor& x, const Tensor& grad_y, const Tensor& weight,
                                      const Tensor& save_mean, const Tensor& save_invstd, const Tensor& grad_x,
                                      const Tensor& grad_weight, const Tensor& grad_bias) {
  DeviceGuard guard(index_);
  const std::int64_t rows = x.numel() / size;
  // The parameters' gradients first: grad_x may be grad_y's memory (the stream orders the two).
  if (grad_weight.defined() || grad_bias.defined()) {
    layer_norm_param_grad_kernel<<<grid_for(launch(), size), kThreads, 0, stream_.get()>>>(
        rows, size, x.data<float>(), grad_y.data<float>(), save_mean.data<float>(), save_invstd.data<float>(),
        grad_weight.defined() ? grad_weight.data<float>() : nullptr,
        grad_bias.defined() ? grad_bias.data<float>() : nullptr);
    AXON_KERNEL_CHECK("layer_norm_param_grad_kernel");
  }
  if (!grad_x.defined()) return;
  layer_norm_input_grad_kernel<<<static_cast<unsigned>(rows), kThreads, 0, stream_.get()>>>(
      size, x.data<float>(), grad_y.data<float>(), data_or_null(weight), save_mean.data<float>(),
      save_invstd.data<float>(), grad_x.data<float>());
  AXON_KERNEL_CHECK("layer_norm_input_grad_kernel");
}

}  // namespace axon::cuda
