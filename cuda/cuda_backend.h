#pragma once
// The CUDA backend of one device: its stream, cuBLAS/cublasLt handles, caching allocator, pinned
// staging buffer and the device-side error flag of the softmax cross-entropy labels.
// Every kernel and copy runs on the one non-blocking stream, in the order the host queued them.
#include <cublasLt.h>
#include <cuda.h>  // driver types only (CUresult): libaxon does not link the driver
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "axon/backend.h"
#include "cuda/cublaslt_plans.h"
#include "cuda/cuda_kernels.h"
#include "cuda/cuda_memory.h"

namespace axon::cuda {

// Whether a device's primary context exists (asks the driver; true when it cannot tell).
bool primary_context_active(int device);

// Makes a device current for a scope and restores the previous one, unless that one had no
// context (restoring would create it). The constructor throws BackendError when the device
// cannot be made current.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = -1;
  int device_;
  bool restore_ = false;
};

// ---- RAII owners of CUDA objects: destroy in the destructor, never throw, and leak() (forget
// without destroying) for when the CUDA runtime has already been torn down at process exit. ----

class Stream {
 public:
  Stream();  // a cudaStreamNonBlocking stream on the current device
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  cudaStream_t get() const { return stream_; }
  void leak() { stream_ = nullptr; }

 private:
  cudaStream_t stream_ = nullptr;
};

class Event {
 public:
  Event();  // timing disabled
  ~Event();
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  cudaEvent_t get() const { return event_; }
  void leak() { event_ = nullptr; }

 private:
  cudaEvent_t event_ = nullptr;
};

class CublasHandle {
 public:
  explicit CublasHandle(cudaStream_t stream);
  ~CublasHandle();
  CublasHandle(const CublasHandle&) = delete;
  CublasHandle& operator=(const CublasHandle&) = delete;
  cublasHandle_t get() const { return handle_; }
  void leak() { handle_ = nullptr; }

 private:
  cublasHandle_t handle_ = nullptr;
};

class CublasLtHandle {
 public:
  CublasLtHandle();
  ~CublasLtHandle();
  CublasLtHandle(const CublasLtHandle&) = delete;
  CublasLtHandle& operator=(const CublasLtHandle&) = delete;
  cublasLtHandle_t get() const { return handle_; }
  void leak() { handle_ = nullptr; }

 private:
  cublasLtHandle_t handle_ = nullptr;
};

// Page-locked host memory, grown on demand. The owner orders its reuse (see staging_done_).
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  ~PinnedBuffer();
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  // At least `bytes` of capacity; the old contents are not kept. Throws BackendError.
  void reserve(std::size_t bytes);
  void* data() const { return data_; }
  void leak() { data_ = nullptr; capacity_ = 0; }

 private:
  void* data_ = nullptr;
  std::size_t capacity_ = 0;
};

// cuDNN's handle and the convolution plans (cuda_conv.cu), apart so that only that file
// includes cudnn.h.
struct ConvEngine;
struct ConvEngineDeleter {
  void operator()(ConvEngine* engine) const noexcept;
};

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int index);
  ~CudaBackend() override;

  Device device() const override { return Device::cuda(index_); }
  // The one stream every kernel and copy of this device runs on (NCCL's collectives join it).
  cudaStream_t stream() const { return stream_.get(); }

  void* allocate(std::size_t bytes) override;
  void deallocate(void* pointer, std::size_t bytes) noexcept override;
  void copy_from_host(void* device_dst, const void* host_src, std::size_t bytes) override;
  void copy_to_host(void* host_dst, const void* device_src, std::size_t bytes) override;
  void copy_on_device(void* dst, const void* src, std::size_t bytes) override;
  void synchronize() override;
  // live/peak/cached of the caching allocator (rounded block sizes; scratch counts as live).
  MemoryStats memory_stats() const override;
  // Synchronizes the stream, then cudaFree()s every cached block.
  void release_cached_memory() override;

  void fill(const Tensor& out, float value) override;
  void fill_uniform(const Tensor& out, float low, float high, PhiloxSlice slice) override;
  void fill_normal(const Tensor& out, float mean, float stddev, PhiloxSlice slice) override;

  void gemm(bool transpose_a, bool transpose_b, float alpha, const Tensor& a, const Tensor& b,
            float beta, const Tensor& c) override;  // cuda_gemm.cu
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
  // cuda_conv.cu: cuDNN's convolutions
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

  // cuda_fused.cu
  void bias_activation(Activation kind, ActivationConstants constants, const Tensor& x, const Tensor& bias, const Tensor& pre,
                       const Tensor& y) override;
  void activation_backward_bias_grad(Activation kind, ActivationConstants constants, const Tensor& pre, const Tensor& y,
                                     const Tensor& grad_y, const Tensor& grad_pre,
                                     const Tensor& grad_bias) override;
  void linear(Activation kind, ActivationConstants constants, const Tensor& x, const Tensor& w, const Tensor& bias,
              const Tensor& pre, const Tensor& y) override;

  // cuda_train.cu
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
  // Puts a device back when destroyed (the last member to go: see ~CudaBackend).
  struct DeviceRestorer {
    bool restore = false;
    int device = -1;
    ~DeviceRestorer() {
      if (restore && cudaSetDevice(device) != cudaSuccess) cudaGetLastError();
    }
  };

  LaunchConfig launch() const { return {stream_.get(), max_blocks_}; }
  ConvEngine& conv_engine();  // made on the first convolution (cuda_conv.cu)
  // Reads the label error flag (the stream must be idle or this waits for it) and throws
  // ValueError, once, when a kernel set it. Resets the flag.
  void check_error_flag();

  DeviceRestorer restore_device_;  // first: destroyed last
  int index_;
  int max_blocks_ = 1024;
  // Declaration order is destruction order reversed: everything that needs the stream goes
  // after it.
  Stream stream_;
  CublasHandle cublas_;
  CublasLtHandle cublas_lt_;  // for fused-epilogue GEMMs; owned here so it lives with the stream
  std::mutex cublas_mutex_;   // cuBLAS math mode + call (see gemm)
  CachingAllocator allocator_;
  LtPlans lt_plans_;                // cuda_fused.cu: linear's descriptors, layouts and algorithms
  void* lt_workspace_ = nullptr;    // from allocator_ on the first fused linear, kept for good
  std::mutex conv_mutex_;           // the convolutions' cuDNN handle and plans
  std::unique_ptr<ConvEngine, ConvEngineDeleter> conv_;

  std::mutex staging_mutex_;
  PinnedBuffer staging_;
  Event staging_done_;  // recorded after the last copy that reads staging_
  // Small uploads (a batch's indices, a step's scalars) rotate through a ring of pinned
  // buffers, each with the event of its last copy: an upload waits only for the copy it
  // overwrites, kStagingSlots uploads back, so the host can run that far ahead of the GPU.
  static constexpr std::size_t kStagingSlots = 4;
  struct StagingSlot {
    PinnedBuffer buffer;
    Event done;
  };
  std::array<StagingSlot, kStagingSlots> staging_ring_;
  std::size_t next_staging_slot_ = 0;

  // Device words, all ones when clear: [0] the first bad label of a label loss (row << 32 |
  // label), [1] the first bad gather_rows index (position << 32 | index), [2] the first BCE
  // probability outside [0, 1] (its element index).
  static constexpr int kFlagWords = 3;
  std::mutex flag_mutex_;
  unsigned long long* error_flag_ = nullptr;  // device, from allocator_
  PinnedBuffer flag_host_;
  std::int64_t flag_classes_ = -1;      // classes of the label losses since the last check; -2 mixed
  std::int64_t flag_gather_rows_ = -1;  // rows of the gathers since the last check; -2 mixed
  std::string flag_label_loss_;         // the label losses' name since the last check
  bool flag_probabilities_ = false;     // a BCE ran since the last check
};

}  // namespace axon::cuda
