// Fused ops of a Dense layer on the GPU:
//   linear                         pre = x @ w + bias in one cublasLt call (bias in the GEMM's
//                                  epilogue), then y = f(pre) in one elementwise kernel;
//   bias_activation                pre = x + bias and y = f(pre) in one kernel;
//   activation_backward_bias_grad  grad_pre = grad_y * f'(pre) and the bias gradient's column
//                                  partial sums in one kernel, then a fixed-order finishing pass
//                                  (column_sums.cuh, shared with bias_grad).
// We do not use cublasLt's GELU epilogues: they use the tanh approximation, and axon's GELU is
// the exact erf form on every backend.
#include <cstdint>
#include <memory>
#include <string>

#include "axon/error.h"
#include "axon/precision.h"
#include "core/src/kernels/activation_math.h"
#include "cuda/cuda_backend.h"
#include "cuda/cuda_check.h"
#include "cuda/cuda_common.cuh"
#include "cuda/column_sums.cuh"

namespace axon::cuda {

namespace {

__global__ void bias_activation_kernel(Activation kind, ActivationConstants constants, const float* x, const float* bias,
                                       float* pre, float* y, std::int64_t n, std::int64_t cols) {
  for (std::int64_t i = global_thread(); i < n; i += grid_stride()) {
    const float value = x[i] + bias[i % cols];
    pre[i] = value;
    y[i] = kernels::activate(kind, constants, value);
  }
}

// grad_pre[i] = grad_y[i] * f'(pre[i]), written as the bias gradient's column sums read it.
struct ActivationBackwardAt {
  Activation kind;
  ActivationConstants constants;
  const float* pre;
  const float* y;
  const float* grad_y;
  float* grad_pre;
  __device__ float operator()(std::int64_t i) const {
    const float value = grad_y[i] * kernels::derivative(kind, constants, pre[i], y[i]);
    grad_pre[i] = value;
    return value;
  }
};

// A column-major float matrix layout.
LtLayout make_layout(std::uint64_t rows, std::uint64_t cols, std::int64_t leading) {
  cublasLtMatrixLayout_t layout = nullptr;
  AXON_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&layout, CUDA_R_32F, rows, cols, leading));
  return LtLayout(layout);
}

struct LtPreferenceDeleter {
  void operator()(cublasLtMatmulPreferenceOpaque_t* preference) const { cublasLtMatmulPreferenceDestroy(preference); }
};
using LtPreference = std::unique_ptr<cublasLtMatmulPreferenceOpaque_t, LtPreferenceDeleter>;

}  // namespace

// What NVIDIA suggests for cublasLt on Hopper; owned by the backend for its whole life (a CUDA
// graph that captured a matmul may still use it).
constexpr std::size_t kLtWorkspaceBytes = std::size_t{32} << 20;

const LtPlan& LtPlans::get(cublasLtHandle_t handle, const LtPlanKey& key, std::size_t workspace_bytes) {
  std::unique_ptr<LtPlan>& slot = plans_[key];
  if (slot != nullptr) return *slot;
  auto plan = std::make_unique<LtPlan>();
  cublasLtMatmulDesc_t raw_desc = nullptr;
  const cublasComputeType_t compute = key.tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  AXON_CUBLAS_CHECK(cublasLtMatmulDescCreate(&raw_desc, compute, CUDA_R_32F));
  plan->desc = LtDesc(raw_desc);
  const cublasOperation_t transpose = CUBLAS_OP_T;
  const cublasOperation_t no_transpose = CUBLAS_OP_N;
  AXON_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan->desc.get(), CUBLASLT_MATMUL_DESC_TRANSA, &transpose,
                                                   sizeof(transpose)));
  AXON_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan->desc.get(), CUBLASLT_MATMUL_DESC_TRANSB, &no_transpose,
                                                   sizeof(no_transpose)));
  const cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_BIAS;
  AXON_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan->desc.get(), CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue,
                                                   sizeof(epilogue)));
  const auto u = [](std::int64_t v) { return static_cast<std::uint64_t>(v); };
  plan->a = make_layout(u(key.in), u(key.out), key.in);
  plan->b = make_layout(u(key.in), u(key.batch), key.in);
  plan->d = make_layout(u(key.out), u(key.batch), key.out);

  cublasLtMatmulPreference_t raw_preference = nullptr;
  AXON_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&raw_preference));
  const LtPreference preference(raw_preference);
  const std::uint64_t workspace = workspace_bytes;
  AXON_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(preference.get(), CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                         &workspace, sizeof(workspace)));
  // Every operand is 16-byte aligned (linear checks before asking): tell the heuristic, so it
  // may pick the kernels that need it.
  const std::uint32_t alignment = 16;
  for (const auto attribute : {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                               CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES}) {
    AXON_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(preference.get(), attribute, &alignment, sizeof(alignment)));
  }
  cublasLtMatmulHeuristicResult_t heuristic{};
  int found = 0;
  const cublasStatus_t status =
      cublasLtMatmulAlgoGetHeuristic(handle, plan->desc.get(), plan->a.get(), plan->b.get(), plan->d.get(),
                                     plan->d.get(), preference.get(), 1, &heuristic, &found);
  plan->found = status == CUBLAS_STATUS_SUCCESS && found > 0;
  if (plan->found) plan->algo = heuristic.algo;
  slot = std::move(plan);
  return *slot;
}

void CudaBackend::bias_activation(Activation kind, ActivationConstants constants, const Tensor& x, const Tensor& bias,
                                  const Tensor& pre, const Tensor& y) {
  DeviceGuard guard(index_);
  const std::int64_t n = x.numel();
  if (n == 0) return;
  bias_activation_kernel<<<grid_for(launch(), n), kThreads, 0, stream_.get()>>>(
      kind, constants, x.data<float>(), bias.data<float>(), pre.data<float>(), y.data<float>(), n, x.dim(1));
  AXON_KERNEL_CHECK("bias_activation_kernel");
}

void CudaBackend::activation_backward_bias_grad(Activation kind, ActivationConstants constants, const Tensor& pre,
                                                const Tensor& y, const Tensor& grad_y, const Tensor& grad_pre,
                                                const Tensor& grad_bias) {
  DeviceGuard guard(index_);
  const ActivationBackwardAt value_at{kind, constants, pre.data<float>(), y.data<float>(),
                                      grad_y.data<float>(), grad_pre.data<float>()};
  launch_column_sums(launch(), allocator_, value_at, pre.dim(0), pre.dim(1), grad_bias.data<float>());
}

void CudaBackend::linear(Activation kind, ActivationConstants constants, const Tensor& x, const Tensor& w, const Tensor& bias,
                         const Tensor& pre, const Tensor& y) {
  DeviceGuard guard(index_);
  const std::int64_t batch = x.dim(0);
  const std::int64_t in = x.dim(1);
  const std::int64_t out = w.dim(0);
  if (batch == 0 || out == 0) return;
  // The GEMM lands in pre, or in y when pre is not kept (bias + f then run in place).
  const Tensor& product = pre.defined() ? pre : y;
  if (in == 0) {  // x @ w^T is all zeros: product = bias
    launch_fill_f32(launch(), product.data<float>(), batch * out, 0.0f);
    bias_activation(kind, constants, product, bias, product, y);
    return;
  }
  // Row-major product [batch, out] = x [batch, in] @ w^T, w [out, in] row-major. Read
  // column-major, that is product^T [out, batch] = op(A) @ B with A = w read column-major
  // ([in, out], ld in) transposed, and B = x read column-major ([in, batch], ld in); D =
  // product (ld out). The bias (one value per row of D) is the epilogue's bias vector.
  // The fused path only for 16-byte aligned operands (views of odd offsets are rare): cublasLt's
  // bias epilogue has alignment needs of its own that a heuristic query does not cover.
  const bool aligned = aligned16(x.data<float>()) && aligned16(w.data<float>()) &&
                       aligned16(bias.data<float>()) && aligned16(product.data<float>());
  if (!aligned) {
    gemm(false, true, 1.0f, x, w, 0.0f, product);
    bias_activation(kind, constants, product, bias, product, y);
    return;
  }
  {
    std::unique_lock lock(lt_plans_.mutex());
    const LtPlan& plan = lt_plans_.get(cublas_lt_.get(), {batch, in, out, allow_tf32()}, kLtWorkspaceBytes);
    if (!plan.found) {
      lock.unlock();
      // No fused kernel for these shapes/alignments: the same result from GEMM, then bias + f.
      gemm(false, true, 1.0f, x, w, 0.0f, product);
      bias_activation(kind, constants, product, bias, product, y);
      return;
    }
    if (lt_workspace_ == nullptr) lt_workspace_ = allocator_.allocate(kLtWorkspaceBytes);
    const float* bias_data = bias.data<float>();
    AXON_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.desc.get(), CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias_data,
                                                     sizeof(bias_data)));
    const float one = 1.0f, zero = 0.0f;
    AXON_CUBLAS_CHECK(cublasLtMatmul(cublas_lt_.get(), plan.desc.get(), &one, w.data<float>(), plan.a.get(),
                                     x.data<float>(), plan.b.get(), &zero, product.data<float>(), plan.d.get(),
                                     product.data<float>(), plan.d.get(), &plan.algo, lt_workspace_,
                                     kLtWorkspaceBytes, stream_.get()));
  }
  // f in place when pre is not kept (identity then does nothing).
  if (pre.defined() || kind != Activation::kIdentity) {
    launch_activation_forward(launch(), kind, constants, product.data<float>(), y.data<float>(), batch * out);
  }
}

}  // namespace axon::cuda
