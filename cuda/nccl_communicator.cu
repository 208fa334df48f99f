// The NCCL communicator: one rank per GPU, the collectives on the device's stream (ordered with
// the kernels around them, no host wait), the host collectives and failure notices through the
// bootstrap communicator (MPI's), which has the timeout.
#include <nccl.h>

#include <memory>

#include "cuda/cuda_backend.h"
#include "cuda/cuda_check.h"
#include "core/src/dist/dist_backends.h"

namespace axon::dist::detail {

namespace {

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(Communicator& bootstrap, int device) : bootstrap_(bootstrap), device_(device) {
    backend_ = std::dynamic_pointer_cast<cuda::CudaBackend>(backend_for(Device::cuda(device)));
    if (!backend_) throw DeviceError("dist::nccl: cuda:" + std::to_string(device) + " has no CUDA backend");
    ncclUniqueId id{};
    if (bootstrap.rank() == 0) check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    bootstrap.broadcast(std::span<std::byte>(reinterpret_cast<std::byte*>(&id), sizeof id), 0);
    const cuda::DeviceGuard guard(device);
    check(ncclCommInitRank(&comm_, bootstrap.world_size(), id, bootstrap.rank()), "ncclCommInitRank");
  }

  ~NcclCommunicator() override {
    if (comm_ == nullptr) return;
    if (failed_) {
      ncclCommAbort(comm_);  // a collective may never complete
    } else {
      ncclCommDestroy(comm_);
    }
  }

  int rank() const override { return bootstrap_.rank(); }
  int world_size() const override { return bootstrap_.world_size(); }
  std::string name() const override { return "nccl"; }

  void all_reduce(const Tensor& tensor, Reduction op) override {
    check_all_reduce("nccl", tensor);
    require_device(tensor, "all_reduce");
    const ncclRedOp_t nccl_op = op == Reduction::kMax ? ncclMax : op == Reduction::kAverage ? ncclAvg : ncclSum;
    float* data = tensor.data<float>();
    check(ncclAllReduce(data, data, static_cast<std::size_t>(tensor.numel()), ncclFloat32, nccl_op, comm_,
                        backend_->stream()),
          "ncclAllReduce");
    ++stats_.all_reduces;
    stats_.bytes_reduced += static_cast<std::int64_t>(tensor.nbytes());
  }

  void broadcast(const Tensor& tensor, int root) override {
    check_broadcast("nccl", tensor, root, world_size());
    require_device(tensor, "broadcast");
    void* data = tensor.dtype() == DType::kFloat32 ? static_cast<void*>(tensor.data<float>())
                                                   : static_cast<void*>(tensor.data<std::int32_t>());
    check(ncclBroadcast(data, data, tensor.nbytes(), ncclUint8, root, comm_, backend_->stream()), "ncclBroadcast");
  }

  void all_reduce(std::span<double> values, Reduction op) override { bootstrap_.all_reduce(values, op); }
  std::vector<std::uint64_t> all_gather(std::uint64_t value) override { return bootstrap_.all_gather(value); }
  void broadcast(std::span<std::byte> bytes, int root) override { bootstrap_.broadcast(bytes, root); }
  void barrier() override { bootstrap_.barrier(); }
  void report_failure(const std::string& what) noexcept override {
    failed_ = true;
    bootstrap_.report_failure(what);
  }

 private:
  void require_device(const Tensor& tensor, const char* what) const {
    if (tensor.device() != Device::cuda(device_)) {
      throw DeviceError("dist::" + std::string(what) + " (nccl): the communicator is on cuda:" +
                        std::to_string(device_) + ", the tensor " + tensor.describe());
    }
  }
  void check(ncclResult_t result, const char* call) {
    if (result == ncclSuccess) return;
    failed_ = true;
    throw DistributedError("dist::nccl: " + std::string(call) + " failed on rank " + std::to_string(rank()) + ": " +
                               ncclGetErrorString(result),
                           -1);
  }

  Communicator& bootstrap_;
  int device_;
  std::shared_ptr<cuda::CudaBackend> backend_;
  ncclComm_t comm_ = nullptr;
  bool failed_ = false;
};

}  // namespace

std::unique_ptr<Communicator> make_nccl_communicator(Communicator& bootstrap, int cuda_device) {
  return std::make_unique<NcclCommunicator>(bootstrap, cuda_device);
}

}  // namespace axon::dist::detail
