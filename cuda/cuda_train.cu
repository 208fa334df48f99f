// Training kernels: dropout, clamp, gradient-norm clipping and the optimizer steps. The
// per-element formulas are the CPU backend's (core/src/kernels/optimizer_math.h), so the two
// agree to rounding (nvcc may contract to FMA); dropout's mask is bit-identical.
#include <cmath>

#include "core/src/kernels/optimizer_math.h"
#include "cuda/cuda_backend.h"
#include "cuda/cuda_check.h"
#include "cuda/cuda_common.cuh"

namespace axon::cuda {

namespace {

// One row per block-stride step, 4-byte words (float32 and int32 alike). A bad index writes a zero
// row and lowers *flag to (position << 32 | index): reported when the device synchronizes.
__global__ void gather_rows_kernel(const std::uint32_t* x, const std::int32_t* indices, std::uint32_t* out,
                                   std::int64_t count, std::int64_t rows, std::int64_t row_words,
                                   unsigned long long* flag) {
  for (std::int64_t i = blockIdx.x; i < count; i += gridDim.x) {
    const std::int32_t index = indices[i];
    const bool bad = index < 0 || index >= rows;
    if (bad && threadIdx.x == 0) {
      atomicMin(flag, (static_cast<unsigned long long>(i) << 32) |
                          static_cast<unsigned long long>(static_cast<std::uint32_t>(index)));
    }
    const std::uint32_t* source = x + (bad ? 0 : index) * row_words;
    std::uint32_t* target = out + i * row_words;
    for (std::int64_t w = threadIdx.x; w < row_words; w += blockDim.x) target[w] = bad ? 0u : source[w];
  }
}

__global__ void dropout_kernel(float p, float scale, std::uint64_t seed, std::uint64_t offset, const float* x,
                               float* y, float* mask, std::int64_t n) {
  for (std::int64_t i = global_thread(); i < n; i += grid_stride()) {
    const float keep = kernels::dropout_keep(seed, offset, static_cast<std::uint64_t>(i), p, scale);
    mask[i] = keep;
    y[i] = x[i] * keep;
  }
}

__global__ void clamp_kernel(const float* x, float low, float high, float* out, std::int64_t n) {
  for (std::int64_t i = global_thread(); i < n; i += grid_stride()) out[i] = kernels::clamp_value(x[i], low, high);
}

// NaN-propagating max over doubles (the infinity norm).
struct NanMaxOp {
  __device__ __forceinline__ double operator()(double best, double v) const { return kernels::nan_max(best, v); }
};

// Each block's total of |x|^p (or largest |x| for p = inf): the norm's partials.
__global__ void partial_norm_kernel(const float* x, std::int64_t n, double p, double* partials) {
  __shared__ double shared_d[32];
  const bool largest = isinf(p);
  double total = 0.0;
  for (std::int64_t i = global_thread(); i < n; i += grid_stride()) {
    const double v = fabs(static_cast<double>(x[i]));
    if (largest) total = kernels::nan_max(total, v);
    else if (p == 2.0) total += v * v;
    else if (p == 1.0) total += v;
    else total += pow(v, p);
  }
  total = largest ? block_reduce(total, NanMaxOp{}, 0.0, shared_d) : block_reduce(total, SumOp{}, 0.0, shared_d);
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

// One block: the norm from the partials (fixed order), and the clipping factor (1 for a
// non-finite norm under skip_nonfinite).
__global__ void finish_norm_kernel(const double* partials, std::int64_t count, GradNormClip clip, float* total_norm,
                                   float* factor) {
  __shared__ double shared_d[32];
  const double p = clip.norm_type;
  const bool largest = isinf(p);
  double total = 0.0;
  for (std::int64_t i = threadIdx.x; i < count; i += blockDim.x) {
    total = largest ? kernels::nan_max(total, partials[i]) : total + partials[i];
  }
  total = largest ? block_reduce(total, NanMaxOp{}, 0.0, shared_d) : block_reduce(total, SumOp{}, 0.0, shared_d);
  if (threadIdx.x == 0) {
    const float norm = static_cast<float>(kernels::norm_from_total(total, p));
    *total_norm = norm;
    const float ratio = clip.max_norm / (norm + 1e-6f);
    *factor = 1.0f < ratio ? 1.0f : ratio;  // as the CPU's std::min: a NaN norm gives a NaN factor
    if (clip.skip_nonfinite && !isfinite(norm)) *factor = 1.0f;
  }
}

__global__ void scale_by_device_factor_kernel(float* x, const float* factor, std::int64_t n) {
  const float f = *factor;
  for (std::int64_t i = global_thread(); i < n; i += grid_stride()) x[i] = x[i] * f;
}

// The optimizer steps: each thread updates its elements by the formula both backends share.
__global__ void sgd_kernel(SgdHyper h, float* param, const float* grad, float* buffer, std::int64_t n) {
  for (std::int64_t i = global_thread(); i < n; i += grid_stride()) {
    kernels::sgd_update(h, param[i], grad[i], buffer != nullptr ? buffer + i : nullptr);
  }
}

__global__ void adagrad_kernel(AdagradHyper h, float* param, const float* grad, float* sum, std::int64_t n) {
  for (std::int64_t i = global_thread(); i < n; i += grid_stride()) kernels::adagrad_update(h, param[i], grad[i], sum[i]);
}

__global__ void rmsprop_kernel(RmspropHyper h, float* param, const float* grad, float* square, float* buffer,
                               float* average, std::int64_t n) {
  for (std::int64_t i = global_thread(); i < n; i += grid_stride()) {
    kernels::rmsprop_update(h, param[i], grad[i], square[i], buffer != nullptr ? buffer + i : nullptr,
                            average != nullptr ? average + i : nullptr);
  }
}

__global__ void adam_kernel(AdamHyper h, float* param, const float* grad, float* first, float* second,
                            float* second_max, std::int64_t n) {
  const kernels::AdamDecay decay = kernels::adam_decay(h);
  for (std::int64_t i = global_thread(); i < n; i += grid_stride()) {
    kernels::adam_update(h, decay, param[i], grad[i], first[i], second[i],
                         second_max != nullptr ? second_max + i : nullptr);
  }
}

}  // namespace

void CudaBackend::gather_rows(const Tensor& x, const Tensor& indices, const Tensor& out) {
  DeviceGuard guard(index_);
  const std::int64_t count = indices.numel();
  const std::int64_t rows = x.dim(0);
  const std::int64_t row_words = x.numel() / rows;
  const auto words = [](const Tensor& t) {
    return t.dtype() == DType::kInt32 ? reinterpret_cast<std::uint32_t*>(t.data<std::int32_t>())
                                      : reinterpret_cast<std::uint32_t*>(t.data<float>());
  };
  // Arm the check and queue the kernel under one lock (see loss()).
  std::lock_guard lock(flag_mutex_);
  flag_gather_rows_ = (flag_gather_rows_ == -1 || flag_gather_rows_ == rows) ? rows : -2;
  gather_rows_kernel<<<row_grid(count), row_threads(row_words), 0, stream_.get()>>>(
      words(x), indices.data<std::int32_t>(), words(out), count, rows, row_words, error_flag_ + 1);
  AXON_KERNEL_CHECK("gather_rows_kernel");
}

void CudaBackend::dropout(float p, PhiloxSlice slice, const Tensor& x, const Tensor& y, const Tensor& mask) {
  DeviceGuard guard(index_);
  const std::int64_t n = x.numel();
  dropout_kernel<<<grid_for(launch(), n), kThreads, 0, stream_.get()>>>(
      p, kernels::dropout_scale(p), slice.seed, slice.offset, x.data<float>(), y.data<float>(), mask.data<float>(), n);
  AXON_KERNEL_CHECK("dropout_kernel");
}

void CudaBackend::clamp(const Tensor& x, float low, float high, const Tensor& out) {
  DeviceGuard guard(index_);
  const std::int64_t n = x.numel();
  clamp_kernel<<<grid_for(launch(), n), kThreads, 0, stream_.get()>>>(x.data<float>(), low, high,
                                                                      out.data<float>(), n);
  AXON_KERNEL_CHECK("clamp_kernel");
}

void CudaBackend::clip_grad_norm(const GradNormClip& clip, const Tensor& grads, const Tensor& total_norm) {
  DeviceGuard guard(index_);
  const std::int64_t n = grads.numel();
  const int blocks = grid_for(launch(), std::max<std::int64_t>(n, 1));
  // The partials, then the factor, in one scratch block: [blocks doubles][one float].
  ScratchBuffer scratch(allocator_, sizeof(double) * static_cast<std::size_t>(blocks) + sizeof(double));
  double* partials = scratch.as<double>();
  auto* factor = reinterpret_cast<float*>(partials + blocks);
  partial_norm_kernel<<<blocks, kThreads, 0, stream_.get()>>>(grads.data<float>(), n, clip.norm_type, partials);
  AXON_KERNEL_CHECK("partial_norm_kernel");
  finish_norm_kernel<<<1, kThreads, 0, stream_.get()>>>(partials, blocks, clip, total_norm.data<float>(), factor);
  AXON_KERNEL_CHECK("finish_norm_kernel");
  if (n == 0) return;
  scale_by_device_factor_kernel<<<grid_for(launch(), n), kThreads, 0, stream_.get()>>>(grads.data<float>(), factor, n);
  AXON_KERNEL_CHECK("scale_by_device_factor_kernel");
}

void CudaBackend::sgd_step(const SgdHyper& hyper, const Tensor& params, const Tensor& grads,
                           const Tensor& momentum_buffer) {
  DeviceGuard guard(index_);
  const std::int64_t n = params.numel();
  float* buffer = hyper.momentum != 0.0f ? momentum_buffer.data<float>() : nullptr;
  sgd_kernel<<<grid_for(launch(), n), kThreads, 0, stream_.get()>>>(hyper, params.data<float>(), grads.data<float>(),
                                                                    buffer, n);
  AXON_KERNEL_CHECK("sgd_kernel");
}

void CudaBackend::adagrad_step(const AdagradHyper& hyper, const Tensor& params, const Tensor& grads,
                               const Tensor& state_sum) {
  DeviceGuard guard(index_);
  const std::int64_t n = params.numel();
  adagrad_kernel<<<grid_for(launch(), n), kThreads, 0, stream_.get()>>>(hyper, params.data<float>(),
                                                                        grads.data<float>(), state_sum.data<float>(), n);
  AXON_KERNEL_CHECK("adagrad_kernel");
}

void CudaBackend::rmsprop_step(const RmspropHyper& hyper, const Tensor& params, const Tensor& grads,
                               const Tensor& square_avg, const Tensor& momentum_buffer, const Tensor& grad_avg) {
  DeviceGuard guard(index_);
  const std::int64_t n = params.numel();
  float* buffer = hyper.momentum > 0.0f ? momentum_buffer.data<float>() : nullptr;
  float* average = hyper.centered ? grad_avg.data<float>() : nullptr;
  rmsprop_kernel<<<grid_for(launch(), n), kThreads, 0, stream_.get()>>>(
      hyper, params.data<float>(), grads.data<float>(), square_avg.data<float>(), buffer, average, n);
  AXON_KERNEL_CHECK("rmsprop_kernel");
}

void CudaBackend::adam_step(const AdamHyper& hyper, const Tensor& params, const Tensor& grads, const Tensor& exp_avg,
                            const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq) {
  DeviceGuard guard(index_);
  const std::int64_t n = params.numel();
  float* second_max = hyper.amsgrad ? max_exp_avg_sq.data<float>() : nullptr;
  adam_kernel<<<grid_for(launch(), n), kThreads, 0, stream_.get()>>>(hyper, params.data<float>(), grads.data<float>(),
                                                                     exp_avg.data<float>(), exp_avg_sq.data<float>(),
                                                                     second_max, n);
  AXON_KERNEL_CHECK("adam_kernel");
}

}  // namespace axon::cuda
