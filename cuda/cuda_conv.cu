// Convolutions on cuDNN 9 (its legacy convolution API): descriptors and algorithm choices made
// once per geometry and cached in the backend's ConvEngine. The algorithms are cuDNN's
// heuristic picks among the deterministic ones (axon's reductions give the same bits on every
// run), in strict FP32 (CUDNN_FMA_MATH: no TF32, whatever set_allow_tf32 says, until the TF32
// option of the GPU-step issue covers convolutions too). The workspace comes from the caching
// allocator per call. Asymmetric padding (padding="same" with an even kernel) is not served by
// this API and is refused naming it.
#include <algorithm>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#if AXON_WITH_CUDNN
#include <cudnn.h>
#endif

#include "cuda/cuda_backend.h"
#include "cuda/cuda_check.h"
#include "cuda/cuda_memory.h"

namespace axon::cuda {

#if AXON_WITH_CUDNN

namespace {

[[noreturn]] void throw_cudnn_error(cudnnStatus_t status, const char* call, const char* file, int line) {
  throw BackendError(std::string("cuDNN call ") + call + " failed at " + file + ":" + std::to_string(line) + ": " +
                     cudnnGetErrorString(status));
}

#define AXON_CUDNN_CHECK(call)                                                        \
  do {                                                                                \
    const cudnnStatus_t axon_cudnn_status_ = (call);                                  \
    if (axon_cudnn_status_ != CUDNN_STATUS_SUCCESS) {                                 \
      throw_cudnn_error(axon_cudnn_status_, #call, __FILE__, __LINE__);               \
    }                                                                                 \
  } while (0)

std::string describe(const Conv2dGeometry& g) {
  return "conv2d x [" + std::to_string(g.batch) + ", " + std::to_string(g.in_channels) + ", " +
         std::to_string(g.height) + ", " + std::to_string(g.width) + "], kernel " + std::to_string(g.kernel_h) + "x" +
         std::to_string(g.kernel_w) + ", " + std::to_string(g.out_channels) + " filters, groups " +
         std::to_string(g.groups);
}

int as_int(std::int64_t v, const Conv2dGeometry& g) {
  if (v > std::numeric_limits<int>::max()) {
    throw BackendError("cuda " + describe(g) + ": a size above 2^31 - 1, more than cuDNN takes");
  }
  return static_cast<int>(v);
}

struct GeometryHash {
  std::size_t operator()(const Conv2dGeometry& g) const noexcept {
    std::size_t h = 0;
    for (const std::int64_t v : {g.batch, g.in_channels, g.height, g.width, g.out_channels, g.kernel_h, g.kernel_w,
                                 g.stride_h, g.stride_w, g.pad_top, g.pad_left, g.pad_bottom, g.pad_right,
                                 g.dilation_h, g.dilation_w, g.groups}) {
      h = (h ^ static_cast<std::uint64_t>(v)) * 0x100000001b3ULL + (h >> 29);
    }
    return h;
  }
};

// One geometry's descriptors and algorithms.
struct ConvPlan {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr, bias = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  cudnnConvolutionFwdAlgo_t forward_algo{};
  cudnnConvolutionBwdDataAlgo_t data_algo{};
  cudnnConvolutionBwdFilterAlgo_t filter_algo{};
  std::size_t forward_bytes = 0, data_bytes = 0, filter_bytes = 0;

  ConvPlan() = default;
  ConvPlan(const ConvPlan&) = delete;
  ConvPlan& operator=(const ConvPlan&) = delete;
  ~ConvPlan() {
    // Status ignored: nothing to do about a failed destroy at teardown.
    if (x != nullptr) cudnnDestroyTensorDescriptor(x);
    if (y != nullptr) cudnnDestroyTensorDescriptor(y);
    if (bias != nullptr) cudnnDestroyTensorDescriptor(bias);
    if (w != nullptr) cudnnDestroyFilterDescriptor(w);
    if (conv != nullptr) cudnnDestroyConvolutionDescriptor(conv);
  }
};

// The first deterministic algorithm of cuDNN's heuristic ranking that it can run.
template <class Perf>
const Perf& first_deterministic(const Perf* perf, int count, const Conv2dGeometry& g, const char* direction) {
  for (int i = 0; i < count; ++i) {
    if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].determinism == CUDNN_DETERMINISTIC) return perf[i];
  }
  throw BackendError("cuda " + describe(g) + ": cuDNN offers no deterministic " + direction + " algorithm");
}

}  // namespace

struct ConvEngine {
  cudnnHandle_t handle = nullptr;
  std::mutex mutex;  // guards plans and the handle's use
  std::unordered_map<Conv2dGeometry, std::unique_ptr<ConvPlan>, GeometryHash> plans;

  explicit ConvEngine(cudaStream_t stream) {
    AXON_CUDNN_CHECK(cudnnCreate(&handle));
    const cudnnStatus_t status = cudnnSetStream(handle, stream);
    if (status != CUDNN_STATUS_SUCCESS) {
      cudnnDestroy(handle);
      throw_cudnn_error(status, "cudnnSetStream", __FILE__, __LINE__);
    }
  }
  ConvEngine(const ConvEngine&) = delete;
  ConvEngine& operator=(const ConvEngine&) = delete;
  ~ConvEngine() {
    plans.clear();
    if (handle != nullptr) cudnnDestroy(handle);
  }

  ConvPlan& plan(const Conv2dGeometry& g) {
    auto& slot = plans[g];
    if (slot) return *slot;
    if (g.pad_top != g.pad_bottom || g.pad_left != g.pad_right) {
      plans.erase(g);
      throw BackendError("cuda " + describe(g) + ": asymmetric padding (top " + std::to_string(g.pad_top) +
                         ", bottom " + std::to_string(g.pad_bottom) + ", left " + std::to_string(g.pad_left) +
                         ", right " + std::to_string(g.pad_right) +
                         ") is not supported on CUDA yet (padding=\"same\" with an even kernel)");
    }
    auto p = std::make_unique<ConvPlan>();
    AXON_CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->x));
    AXON_CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->y));
    AXON_CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->bias));
    AXON_CUDNN_CHECK(cudnnCreateFilterDescriptor(&p->w));
    AXON_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&p->conv));
    AXON_CUDNN_CHECK(cudnnSetTensor4dDescriptor(p->x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, as_int(g.batch, g),
                                                as_int(g.in_channels, g), as_int(g.height, g), as_int(g.width, g)));
    AXON_CUDNN_CHECK(cudnnSetTensor4dDescriptor(p->y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, as_int(g.batch, g),
                                                as_int(g.out_channels, g), as_int(g.out_height(), g),
                                                as_int(g.out_width(), g)));
    AXON_CUDNN_CHECK(
        cudnnSetTensor4dDescriptor(p->bias, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, as_int(g.out_channels, g), 1, 1));
    AXON_CUDNN_CHECK(cudnnSetFilter4dDescriptor(p->w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, as_int(g.out_channels, g),
                                                as_int(g.in_channels / g.groups, g), as_int(g.kernel_h, g),
                                                as_int(g.kernel_w, g)));
    AXON_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(p->conv, as_int(g.pad_top, g), as_int(g.pad_left, g),
                                                     as_int(g.stride_h, g), as_int(g.stride_w, g),
                                                     as_int(g.dilation_h, g), as_int(g.dilation_w, g),
                                                     CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    AXON_CUDNN_CHECK(cudnnSetConvolutionGroupCount(p->conv, as_int(g.groups, g)));
    AXON_CUDNN_CHECK(cudnnSetConvolutionMathType(p->conv, CUDNN_FMA_MATH));

    constexpr int kCandidates = 16;
    int returned = 0;
    cudnnConvolutionFwdAlgoPerf_t forward[kCandidates];
    AXON_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(handle, p->x, p->w, p->conv, p->y, kCandidates,
                                                            &returned, forward));
    const auto& f = first_deterministic(forward, returned, g, "forward");
    p->forward_algo = f.algo;
    p->forward_bytes = f.memory;
    cudnnConvolutionBwdDataAlgoPerf_t data[kCandidates];
    AXON_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(handle, p->w, p->y, p->conv, p->x, kCandidates,
                                                                 &returned, data));
    const auto& d = first_deterministic(data, returned, g, "backward-data");
    p->data_algo = d.algo;
    p->data_bytes = d.memory;
    cudnnConvolutionBwdFilterAlgoPerf_t filter[kCandidates];
    AXON_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(handle, p->x, p->y, p->conv, p->w, kCandidates,
                                                                   &returned, filter));
    const auto& w = first_deterministic(filter, returned, g, "backward-filter");
    p->filter_algo = w.algo;
    p->filter_bytes = w.memory;
    slot = std::move(p);
    return *slot;
  }
};

void ConvEngineDeleter::operator()(ConvEngine* engine) const noexcept { std::default_delete<ConvEngine>()(engine); }

ConvEngine& CudaBackend::conv_engine() {
  if (!conv_) conv_.reset(std::make_unique<ConvEngine>(stream_.get()).release());
  return *conv_;
}

void CudaBackend::conv2d(const Conv2dGeometry& g, const Tensor& x, const Tensor& weight, const Tensor& bias,
                         const Tensor& y) {
  DeviceGuard guard(index_);
  std::lock_guard lock(conv_mutex_);
  ConvEngine& engine = conv_engine();
  const ConvPlan& p = engine.plan(g);
  ScratchBuffer workspace(allocator_, std::max<std::size_t>(p.forward_bytes, 1));
  const float one = 1.0f, zero = 0.0f;
  AXON_CUDNN_CHECK(cudnnConvolutionForward(engine.handle, &one, p.x, x.data<float>(), p.w, weight.data<float>(),
                                           p.conv, p.forward_algo, workspace.as<void>(), p.forward_bytes, &zero, p.y,
                                           y.data<float>()));
  if (bias.defined()) {
    AXON_CUDNN_CHECK(cudnnAddTensor(engine.handle, &one, p.bias, bias.data<float>(), &one, p.y, y.data<float>()));
  }
}

void CudaBackend::conv2d_backward_data(const Conv2dGeometry& g, const Tensor& grad_y, const Tensor& weight,
                                       const Tensor& grad_x) {
  DeviceGuard guard(index_);
  std::lock_guard lock(conv_mutex_);
  ConvEngine& engine = conv_engine();
  const ConvPlan& p = engine.plan(g);
  ScratchBuffer workspace(allocator_, std::max<std::size_t>(p.data_bytes, 1));
  const float one = 1.0f, zero = 0.0f;
  AXON_CUDNN_CHECK(cudnnConvolutionBackwardData(engine.handle, &one, p.w, weight.data<float>(), p.y,
                                                grad_y.data<float>(), p.conv, p.data_algo, workspace.as<void>(),
                                                p.data_bytes, &zero, p.x, grad_x.data<float>()));
}

void CudaBackend::conv2d_backward_weights(const Conv2dGeometry& g, const Tensor& x, const Tensor& grad_y,
                                          const Tensor& grad_weight, const Tensor& grad_bias) {
  DeviceGuard guard(index_);
  std::lock_guard lock(conv_mutex_);
  ConvEngine& engine = conv_engine();
  const ConvPlan& p = engine.plan(g);
  ScratchBuffer workspace(allocator_, std::max<std::size_t>(p.filter_bytes, 1));
  const float one = 1.0f, zero = 0.0f;
  AXON_CUDNN_CHECK(cudnnConvolutionBackwardFilter(engine.handle, &one, p.x, x.data<float>(), p.y,
                                                  grad_y.data<float>(), p.conv, p.filter_algo, workspace.as<void>(),
                                                  p.filter_bytes, &zero, p.w, grad_weight.data<float>()));
  if (grad_bias.defined()) {
    AXON_CUDNN_CHECK(cudnnConvolutionBackwardBias(engine.handle, &one, p.y, grad_y.data<float>(), &zero, p.bias,
                                                  grad_bias.data<float>()));
  }
}

#else  // built without cuDNN: the convolutions say so

struct ConvEngine {};

void ConvEngineDeleter::operator()(ConvEngine* engine) const noexcept { std::default_delete<ConvEngine>()(engine); }

namespace {
[[noreturn]] void no_cudnn() {
  throw BackendError("cuda conv2d: this axon was built without cuDNN (not found at configure time: set CUDNN_ROOT "
                     "and rebuild), and the CUDA convolutions run on it");
}
}  // namespace

ConvEngine& CudaBackend::conv_engine() { no_cudnn(); }
void CudaBackend::conv2d(const Conv2dGeometry&, const Tensor&, const Tensor&, const Tensor&, const Tensor&) {
  no_cudnn();
}
void CudaBackend::conv2d_backward_data(const Conv2dGeometry&, const Tensor&, const Tensor&, const Tensor&) {
  no_cudnn();
}
void CudaBackend::conv2d_backward_weights(const Conv2dGeometry&, const Tensor&, const Tensor&, const Tensor&,
                                          const Tensor&) {
  no_cudnn();
}

#endif

}  // namespace axon::cuda
