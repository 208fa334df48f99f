// The CUDA backend: resources, memory, copies, error checks, and the thin op wrappers that hand
// raw pointers to the kernel launchers (cuda_elementwise.cu, cuda_activation.cu,
// cuda_softmax_loss.cu, cuda_reduce.cu; GEMM in cuda_gemm.cu).
#include "cuda/cuda_backend.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "axon/error.h"
#include "core/src/kernels/loss_math.h"
#include "cuda/cuda_check.h"

namespace axon::cuda {

// ---- errors ---------------------------------------------------------------------------------

void throw_cuda_error(cudaError_t status, const char* call, const char* file, int line) {
  // The runtime also keeps this status in the thread's last-error slot; left there, the next
  // launch check would read it and blame an innocent kernel. Reported here, so clear it.
  cudaGetLastError();
  throw BackendError(std::string(call) + " failed at " + file + ":" + std::to_string(line) + ": " +
                     cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")");
}

void throw_cublas_error(cublasStatus_t status, const char* call, const char* file, int line) {
  cudaGetLastError();  // a runtime status cuBLAS may have left must not be blamed on a later kernel
  throw BackendError(std::string(call) + " failed at " + file + ":" + std::to_string(line) + ": " +
                     cublasGetStatusName(status) + " (" + cublasGetStatusString(status) + ")");
}

// ---- RAII owners ----------------------------------------------------------------------------

namespace {

// cuDevicePrimaryCtxGetState from the driver, found at run time (libaxon does not link
// libcuda, which a machine without a driver lacks). Null when the driver does not have it.
using PrimaryCtxGetState = CUresult (*)(CUdevice, unsigned int*, int*);
using DeviceGet = CUresult (*)(CUdevice*, int);

template <class Function>
Function driver_function(const char* name) {
  void* function = nullptr;
  cudaDriverEntryPointQueryResult found{};
  if (cudaGetDriverEntryPointByVersion(name, &function, 12000, cudaEnableDefault, &found) != cudaSuccess ||
      found != cudaDriverEntryPointSuccess) {
    cudaGetLastError();
    return nullptr;
  }
  return reinterpret_cast<Function>(function);
}

}  // namespace

bool primary_context_active(int device) {
  static const auto get_state = driver_function<PrimaryCtxGetState>("cuDevicePrimaryCtxGetState");
  static const auto device_get = driver_function<DeviceGet>("cuDeviceGet");
  if (get_state == nullptr || device_get == nullptr) return true;  // cannot tell: assume it is
  CUdevice handle{};
  unsigned int flags = 0;
  int active = 0;
  if (device_get(&handle, device) != CUDA_SUCCESS || get_state(handle, &flags, &active) != CUDA_SUCCESS) {
    return true;
  }
  return active != 0;
}

DeviceGuard::DeviceGuard(int device) : device_(device) {
  AXON_CUDA_CHECK(cudaGetDevice(&previous_));
  if (previous_ == device_) return;
  // A thread that never used CUDA reads device 0 as current without any context on it:
  // restoring device 0 then would open a context (hundreds of MiB) on a GPU the process may
  // never use. Only a device whose context is already active is put back.
  restore_ = primary_context_active(previous_);
  AXON_CUDA_CHECK(cudaSetDevice(device_));
}

DeviceGuard::~DeviceGuard() {
  if (restore_ && cudaSetDevice(previous_) != cudaSuccess) cudaGetLastError();
}

Stream::Stream() { AXON_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)); }

Stream::~Stream() {
  if (stream_ != nullptr && cudaStreamDestroy(stream_) != cudaSuccess) cudaGetLastError();
}

Event::Event() { AXON_CUDA_CHECK(cudaEventCreateWithFlags(&event_, cudaEventDisableTiming)); }

Event::~Event() {
  if (event_ != nullptr && cudaEventDestroy(event_) != cudaSuccess) cudaGetLastError();
}

CublasHandle::CublasHandle(cudaStream_t stream) {
  AXON_CUBLAS_CHECK(cublasCreate(&handle_));
  const cublasStatus_t status = cublasSetStream(handle_, stream);
  if (status != CUBLAS_STATUS_SUCCESS) {
    cublasDestroy(handle_);
    handle_ = nullptr;
    throw_cublas_error(status, "cublasSetStream(handle, stream)", __FILE__, __LINE__);
  }
}

CublasHandle::~CublasHandle() {
  if (handle_ != nullptr) cublasDestroy(handle_);  // status ignored: destructors do not throw
}

CublasLtHandle::CublasLtHandle() { AXON_CUBLAS_CHECK(cublasLtCreate(&handle_)); }

CublasLtHandle::~CublasLtHandle() {
  if (handle_ != nullptr) cublasLtDestroy(handle_);
}

PinnedBuffer::~PinnedBuffer() {
  if (data_ != nullptr && cudaFreeHost(data_) != cudaSuccess) cudaGetLastError();
}

void PinnedBuffer::reserve(std::size_t bytes) {
  if (bytes <= capacity_) return;
  const std::size_t capacity = std::max({bytes, 2 * capacity_, std::size_t{64} << 10});
  if (data_ != nullptr) {
    void* old = data_;
    data_ = nullptr;
    capacity_ = 0;
    AXON_CUDA_CHECK(cudaFreeHost(old));
  }
  AXON_CUDA_CHECK(cudaMallocHost(&data_, capacity));
  capacity_ = capacity;
}

// ---- the backend ----------------------------------------------------------------------------

namespace {

// Host<->device copies go through pinned staging in chunks of at most this much.
constexpr std::size_t kStagingChunk = std::size_t{32} << 20;  // 32 MiB
// Uploads up to this size go through the ring of small staging buffers.
constexpr std::size_t kRingUpload = std::size_t{1} << 20;  // 1 MiB
constexpr unsigned long long kNoLabelError = ~0ull;

int blocks_per_grid(int index) {
  int sms = 0;
  AXON_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, index));
  return std::max(1, sms) * 8;  // 8 blocks of 256 threads fill an SM's 2048 threads
}

bool runtime_gone(cudaError_t status) {
  return status == cudaErrorCudartUnloading || status == cudaErrorContextIsDestroyed ||
         status == cudaErrorDeviceUninitialized || status == cudaErrorNoDevice ||
         status == cudaErrorInitializationError;
}

}  // namespace

// The caller (make_cuda_backend) has made device `index` current: the members below are
// created on it.
CudaBackend::CudaBackend(int index)
    : index_(index),
      max_blocks_(blocks_per_grid(index)),
      stream_(),
      cublas_(stream_.get()),
      cublas_lt_(),
      allocator_(index, stream_.get()) {
  error_flag_ = static_cast<unsigned long long*>(allocator_.allocate(kFlagWords * sizeof(unsigned long long)));
  try {
    flag_host_.reserve(kFlagWords * sizeof(unsigned long long));
    AXON_CUDA_CHECK(cudaMemsetAsync(error_flag_, 0xFF, kFlagWords * sizeof(unsigned long long), stream_.get()));
    AXON_CUDA_CHECK(cudaStreamSynchronize(stream_.get()));
  } catch (...) {
    allocator_.deallocate(error_flag_);
    throw;
  }
}

CudaBackend::~CudaBackend() {
  // The members (handles, cache, stream) are destroyed after this body with this device
  // current; restore_device_, declared first, is destroyed last and puts the caller's device
  // back by DeviceGuard's rule. (The registry keeps backends for the whole process, so this
  // runs only for a backend made outside it.)
  int previous = -1;
  restore_device_.restore = cudaGetDevice(&previous) == cudaSuccess && previous != index_ &&
                            primary_context_active(previous);
  restore_device_.device = previous;
  cudaGetLastError();
  cudaError_t status = cudaSetDevice(index_);
  if (status == cudaSuccess) status = cudaStreamSynchronize(stream_.get());
  if (runtime_gone(status)) {
    // Process exit after the CUDA runtime shut down: destroying now could crash; the driver
    // reclaims everything with the process.
    cudaGetLastError();
    allocator_.abandon();
    flag_host_.leak();
    staging_.leak();
    staging_done_.leak();
    for (StagingSlot& slot : staging_ring_) {
      slot.buffer.leak();
      slot.done.leak();
    }
    cublas_lt_.leak();
    cublas_.leak();
    stream_.leak();
    return;
  }
  cudaGetLastError();  // a sticky error from queued work is of no use to anyone now
  allocator_.deallocate(error_flag_);
  if (lt_workspace_ != nullptr) allocator_.deallocate(lt_workspace_);
  // Members are destroyed next, in reverse order: pinned buffers, allocator (frees the cache),
  // handles, then the stream.
}

void* CudaBackend::allocate(std::size_t bytes) {
  DeviceGuard guard(index_);
  return allocator_.allocate(bytes);
}

void CudaBackend::deallocate(void* pointer, std::size_t) noexcept { allocator_.deallocate(pointer); }

MemoryStats CudaBackend::memory_stats() const {
  const MemoryCounters counters = allocator_.stats();
  return MemoryStats{counters.live_bytes, counters.peak_bytes, counters.cached_bytes};
}

void CudaBackend::release_cached_memory() {
  DeviceGuard guard(index_);
  allocator_.release_cache();
}

void CudaBackend::copy_from_host(void* device_dst, const void* host_src, std::size_t bytes) {
  if (bytes == 0) return;
  DeviceGuard guard(index_);
  std::lock_guard lock(staging_mutex_);
  auto* dst = static_cast<char*>(device_dst);
  const auto* src = static_cast<const char*>(host_src);
  if (bytes <= kRingUpload) {
    // The slot's previous copy (kStagingSlots uploads ago) must be done before it is refilled;
    // the host source is in pinned memory now, so the caller may reuse it at once.
    StagingSlot& slot = staging_ring_[next_staging_slot_];
    next_staging_slot_ = (next_staging_slot_ + 1) % kStagingSlots;
    AXON_CUDA_CHECK(cudaEventSynchronize(slot.done.get()));
    slot.buffer.reserve(bytes);
    std::memcpy(slot.buffer.data(), src, bytes);
    AXON_CUDA_CHECK(cudaMemcpyAsync(dst, slot.buffer.data(), bytes, cudaMemcpyHostToDevice, stream_.get()));
    AXON_CUDA_CHECK(cudaEventRecord(slot.done.get(), stream_.get()));
    return;
  }
  for (std::size_t done = 0; done < bytes;) {
    const std::size_t chunk = std::min(bytes - done, kStagingChunk);
    // The previous copy out of staging must have finished before staging is refilled or
    // regrown. The host source is copied into staging now, so the caller may reuse it as soon
    // as this returns; the device copy completes in stream order.
    AXON_CUDA_CHECK(cudaEventSynchronize(staging_done_.get()));
    staging_.reserve(chunk);
    std::memcpy(staging_.data(), src + done, chunk);
    AXON_CUDA_CHECK(cudaMemcpyAsync(dst + done, staging_.data(), chunk, cudaMemcpyHostToDevice,
                                    stream_.get()));
    AXON_CUDA_CHECK(cudaEventRecord(staging_done_.get(), stream_.get()));
    done += chunk;
  }
}

void CudaBackend::copy_to_host(void* host_dst, const void* device_src, std::size_t bytes) {
  if (bytes == 0) return;
  DeviceGuard guard(index_);
  {
    std::lock_guard lock(staging_mutex_);
    auto* dst = static_cast<char*>(host_dst);
    const auto* src = static_cast<const char*>(device_src);
    for (std::size_t done = 0; done < bytes;) {
      const std::size_t chunk = std::min(bytes - done, kStagingChunk);
      AXON_CUDA_CHECK(cudaEventSynchronize(staging_done_.get()));
      staging_.reserve(chunk);
      AXON_CUDA_CHECK(cudaMemcpyAsync(staging_.data(), src + done, chunk, cudaMemcpyDeviceToHost,
                                      stream_.get()));
      AXON_CUDA_CHECK(cudaStreamSynchronize(stream_.get()));  // the host reads staging next
      std::memcpy(dst + done, staging_.data(), chunk);
      done += chunk;
    }
  }
  check_error_flag();  // the values read may come from a loss with a bad label
}

void CudaBackend::copy_on_device(void* dst, const void* src, std::size_t bytes) {
  if (bytes == 0 || dst == src) return;
  DeviceGuard guard(index_);
  const auto d = reinterpret_cast<std::uintptr_t>(dst);
  const auto s = reinterpret_cast<std::uintptr_t>(src);
  const bool overlap = d < s + bytes && s < d + bytes;
  if (!overlap) {
    AXON_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_.get()));
    return;
  }
  // cudaMemcpy does not allow overlap (the CPU backend's memmove does): go through scratch.
  ScratchBuffer scratch(allocator_, bytes);
  AXON_CUDA_CHECK(cudaMemcpyAsync(scratch.as<void>(), src, bytes, cudaMemcpyDeviceToDevice, stream_.get()));
  AXON_CUDA_CHECK(cudaMemcpyAsync(dst, scratch.as<void>(), bytes, cudaMemcpyDeviceToDevice, stream_.get()));
}

void CudaBackend::synchronize() {
  DeviceGuard guard(index_);
  AXON_CUDA_CHECK(cudaStreamSynchronize(stream_.get()));
  check_error_flag();
}

void CudaBackend::check_error_flag() {
  std::lock_guard lock(flag_mutex_);
  if (flag_classes_ == -1 && flag_gather_rows_ == -1 && !flag_probabilities_) return;  // nothing armed
  const std::int64_t classes = flag_classes_;
  const std::int64_t gather_rows = flag_gather_rows_;
  const std::string label_loss = flag_label_loss_;
  AXON_CUDA_CHECK(cudaMemcpyAsync(flag_host_.data(), error_flag_, kFlagWords * sizeof(unsigned long long),
                                  cudaMemcpyDeviceToHost, stream_.get()));
  AXON_CUDA_CHECK(cudaStreamSynchronize(stream_.get()));
  flag_classes_ = -1;
  flag_gather_rows_ = -1;
  flag_probabilities_ = false;
  flag_label_loss_.clear();
  const auto* words = static_cast<const volatile unsigned long long*>(flag_host_.data());
  const unsigned long long label_flag = words[0];
  const unsigned long long gather_flag = words[1];
  const unsigned long long probability_flag = words[2];
  if (label_flag == kNoLabelError && gather_flag == kNoLabelError && probability_flag == kNoLabelError) return;
  // Reset before throwing, in stream order, so each error is reported once.
  AXON_CUDA_CHECK(cudaMemsetAsync(error_flag_, 0xFF, kFlagWords * sizeof(unsigned long long), stream_.get()));
  const auto position = [](unsigned long long flag) { return flag >> 32; };
  const auto value = [](unsigned long long flag) {
    return static_cast<std::int32_t>(static_cast<std::uint32_t>(flag & 0xffffffffull));
  };
  const auto range = [](std::int64_t n, const char* what) {
    return n >= 0 ? "[0, " + std::to_string(n) + ")" : std::string("[0, ") + what + ")";
  };
  std::string message;
  const auto add = [&message](const std::string& part) { message += (message.empty() ? "" : "; and ") + part; };
  if (label_flag != kNoLabelError) {
    add("axon::" + label_loss + "_loss: label " + std::to_string(value(label_flag)) + " of row " +
        std::to_string(position(label_flag)) + " is outside " + range(classes, "classes") +
        " (the loss and gradient computed with it are invalid)");
  }
  if (gather_flag != kNoLabelError) {
    add("axon::gather_rows: index " + std::to_string(value(gather_flag)) + " at position " +
        std::to_string(position(gather_flag)) + " is outside " + range(gather_rows, "rows") +
        " (that row was written as zeros)");
  }
  if (probability_flag != kNoLabelError) {
    add("axon::bce_loss: pred element " + std::to_string(probability_flag) +
        " is outside [0, 1] (BCE takes probabilities; BCE with logits takes logits; the loss and "
        "gradient computed with it are invalid)");
  }
  throw ValueError(message + " (reported by " + device().str() + " when it synchronized)");
}

// ---- fills ----------------------------------------------------------------------------------

void CudaBackend::fill(const Tensor& out, float value) {
  DeviceGuard guard(index_);
  if (out.dtype() == DType::kInt32) {
    launch_fill_i32(launch(), out.data<std::int32_t>(), out.numel(), static_cast<std::int32_t>(value));
  } else {
    launch_fill_f32(launch(), out.data<float>(), out.numel(), value);
  }
}

void CudaBackend::fill_uniform(const Tensor& out, float low, float high, PhiloxSlice slice) {
  DeviceGuard guard(index_);
  launch_fill_uniform(launch(), out.data<float>(), out.numel(), low, high, slice.seed, slice.offset);
}

void CudaBackend::fill_normal(const Tensor& out, float mean, float stddev, PhiloxSlice slice) {
  DeviceGuard guard(index_);
  launch_fill_normal(launch(), out.data<float>(), out.numel(), mean, stddev, slice.seed, slice.offset);
}

// ---- linear (gemm in cuda_gemm.cu) -----------------------------------------------------------

void CudaBackend::bias_add(const Tensor& x, const Tensor& bias, const Tensor& out) {
  DeviceGuard guard(index_);
  launch_bias_add(launch(), x.data<float>(), bias.data<float>(), out.data<float>(), x.shape().rows(),
                  x.shape().cols());
}

void CudaBackend::bias_grad(const Tensor& grad, const Tensor& out) {
  DeviceGuard guard(index_);
  launch_bias_grad(launch(), allocator_, grad.data<float>(), out.data<float>(), grad.shape().rows(),
                   grad.shape().cols());
}

// ---- elementwise ----------------------------------------------------------------------------

void CudaBackend::binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  DeviceGuard guard(index_);
  launch_binary(launch(), op, a.data<float>(), b.data<float>(), out.data<float>(), out.numel());
}

void CudaBackend::scale(const Tensor& x, float alpha, const Tensor& out) {
  DeviceGuard guard(index_);
  launch_scale(launch(), x.data<float>(), alpha, out.data<float>(), out.numel());
}

void CudaBackend::axpy(float alpha, const Tensor& x, const Tensor& y) {
  DeviceGuard guard(index_);
  launch_axpy(launch(), alpha, x.data<float>(), y.data<float>(), y.numel());
}

// ---- activations and softmax ----------------------------------------------------------------

void CudaBackend::activation_forward(Activation kind, ActivationConstants constants, const Tensor& x, const Tensor& y) {
  DeviceGuard guard(index_);
  launch_activation_forward(launch(), kind, constants, x.data<float>(), y.data<float>(), x.numel());
}

void CudaBackend::activation_backward(Activation kind, ActivationConstants constants, const Tensor& x, const Tensor& y,
                                      const Tensor& grad_y, const Tensor& grad_x) {
  DeviceGuard guard(index_);
  launch_activation_backward(launch(), kind, constants, x.data<float>(), y.data<float>(),
                             grad_y.data<float>(), grad_x.data<float>(), x.numel());
}

void CudaBackend::softmax(const Tensor& x, const Tensor& y) {
  DeviceGuard guard(index_);
  launch_softmax(launch(), false, x.data<float>(), y.data<float>(), x.shape().rows(), x.shape().cols());
}

void CudaBackend::log_softmax(const Tensor& x, const Tensor& y) {
  DeviceGuard guard(index_);
  launch_softmax(launch(), true, x.data<float>(), y.data<float>(), x.shape().rows(), x.shape().cols());
}

void CudaBackend::softmax_backward(const Tensor& y, const Tensor& grad_y, const Tensor& grad_x) {
  DeviceGuard guard(index_);
  launch_softmax_backward(launch(), false, y.data<float>(), grad_y.data<float>(), grad_x.data<float>(),
                          y.shape().rows(), y.shape().cols());
}

void CudaBackend::log_softmax_backward(const Tensor& y, const Tensor& grad_y, const Tensor& grad_x) {
  DeviceGuard guard(index_);
  launch_softmax_backward(launch(), true, y.data<float>(), grad_y.data<float>(), grad_x.data<float>(),
                          y.shape().rows(), y.shape().cols());
}

// ---- losses ---------------------------------------------------------------------------------

void CudaBackend::loss(LossKind kind, const LossParams& params, const Tensor& pred, const Tensor& target,
                       const Tensor& weight, const Tensor& value, const Tensor& grad) {
  DeviceGuard guard(index_);
  float* grad_data = grad.defined() ? grad.data<float>() : nullptr;
  const float* weight_data = weight.defined() ? weight.data<float>() : nullptr;
  if (kernels::takes_labels(kind)) {
    const std::int64_t rows = pred.shape().rows();
    const std::int64_t cols = pred.shape().cols();
    // Arm the flag check and queue the kernels under one lock: a synchronize() from another
    // thread in between would read the flag before the kernel ran, disarm it, and the bad label
    // would never be reported.
    std::lock_guard lock(flag_mutex_);
    flag_classes_ = (flag_classes_ == -1 || flag_classes_ == cols) ? cols : -2;
    const std::string name(loss_name(kind));
    if (flag_label_loss_.empty()) flag_label_loss_ = name;
    else if (flag_label_loss_ != name) flag_label_loss_ = "softmax_cross_entropy or nll";
    launch_label_loss(launch(), allocator_, kind, params, pred.data<float>(), target.data<std::int32_t>(),
                      weight_data, value.data<float>(), grad_data, rows, cols, error_flag_);
    return;
  }
  const std::int64_t columns = pred.shape()[pred.rank() - 1];
  if (kind == LossKind::kBce) {
    std::lock_guard lock(flag_mutex_);
    flag_probabilities_ = true;
    launch_pointwise_loss(launch(), allocator_, kind, params, pred.data<float>(), target.data<float>(),
                          weight_data, columns, value.data<float>(), grad_data, pred.numel(), error_flag_ + 2);
    return;
  }
  launch_pointwise_loss(launch(), allocator_, kind, params, pred.data<float>(), target.data<float>(), weight_data,
                        columns, value.data<float>(), grad_data, pred.numel(), nullptr);
}

// ---- reductions -----------------------------------------------------------------------------

void CudaBackend::reduce_all(ReduceOp op, const Tensor& x, const Tensor& out) {
  DeviceGuard guard(index_);
  launch_reduce_all(launch(), allocator_, op, x.data<float>(), out.data<float>(), x.numel());
}

void CudaBackend::reduce_rows(ReduceOp op, const Tensor& x, const Tensor& out) {
  DeviceGuard guard(index_);
  launch_reduce_rows(launch(), op, x.data<float>(), out.data<float>(), x.shape().rows(), x.shape().cols());
}

void CudaBackend::argmax_rows(const Tensor& x, const Tensor& out) {
  DeviceGuard guard(index_);
  launch_argmax_rows(launch(), x.data<float>(), out.data<std::int32_t>(), x.shape().rows(),
                     x.shape().cols());
}

}  // namespace axon::cuda
