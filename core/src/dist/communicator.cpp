// The backend-free part of axon::dist: one process, the factories, the launcher's environment.
#include "axon/dist/communicator.h"

#include <cstdlib>

#include "core/src/dist/dist_backends.h"

namespace axon::dist {

namespace {

class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  std::string name() const override { return "single process"; }
  void all_reduce(const Tensor& tensor, Reduction) override {
    detail::check_all_reduce("single process", tensor);
    ++stats_.all_reduces;
    stats_.bytes_reduced += static_cast<std::int64_t>(tensor.nbytes());
  }
  void broadcast(const Tensor& tensor, int root) override { detail::check_broadcast("single process", tensor, root, 1); }
  void all_reduce(std::span<double>, Reduction) override {}
  std::vector<std::uint64_t> all_gather(std::uint64_t value) override { return {value}; }
  void broadcast(std::span<std::byte>, int root) override {
    if (root != 0) throw ValueError("dist::broadcast: root " + std::to_string(root) + " is not a rank of a world of 1");
  }
  void barrier() override {}
  void report_failure(const std::string&) noexcept override {}
};

bool has_env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0';
}

}  // namespace

namespace detail {

void check_all_reduce(const char* backend, const Tensor& tensor) {
  if (!tensor.defined()) throw ValueError(std::string("dist::all_reduce (") + backend + "): the tensor is undefined");
  if (tensor.dtype() != DType::kFloat32) {
    throw DTypeError(std::string("dist::all_reduce (") + backend + "): needs float32, got " + tensor.describe());
  }
}

void check_broadcast(const char* backend, const Tensor& tensor, int root, int world_size) {
  if (!tensor.defined()) throw ValueError(std::string("dist::broadcast (") + backend + "): the tensor is undefined");
  if (root < 0 || root >= world_size) {
    throw ValueError(std::string("dist::broadcast (") + backend + "): root " + std::to_string(root) +
                     " is not a rank of a world of " + std::to_string(world_size));
  }
}

}  // namespace detail

std::unique_ptr<Communicator> single_process() { return std::make_unique<SingleProcess>(); }

bool mpi_available() {
#if defined(AXON_WITH_MPI)
  return true;
#else
  return false;
#endif
}

bool nccl_available() {
#if defined(AXON_WITH_NCCL)
  return true;
#else
  return false;
#endif
}

std::unique_ptr<Communicator> mpi(MpiOptions options) {
  if (const char* timeout = std::getenv("AXON_DIST_TIMEOUT_SECONDS"); timeout != nullptr && *timeout != '\0') {
    char* end = nullptr;
    const long seconds = std::strtol(timeout, &end, 10);
    if (end == timeout || *end != '\0' || seconds < 1) {
      throw ValueError(std::string("dist::mpi: AXON_DIST_TIMEOUT_SECONDS must be a whole number of seconds >= 1, got '") +
                       timeout + "'");
    }
    options.timeout = std::chrono::seconds(seconds);
  }
  if (options.timeout.count() < 1) throw ValueError("dist::mpi: the timeout must be at least one second");
#if defined(AXON_WITH_MPI)
  return detail::make_mpi_communicator(options);
#else
  throw DeviceError("dist::mpi: this axon was built without MPI (install libopenmpi-dev and rebuild)");
#endif
}

std::unique_ptr<Communicator> nccl(Communicator& bootstrap, Device device) {
  if (!device.is_cuda()) throw DeviceError("dist::nccl: needs a CUDA device, got " + device.str());
#if defined(AXON_WITH_NCCL)
  return detail::make_nccl_communicator(bootstrap, device.index);
#else
  (void)bootstrap;
  throw DeviceError("dist::nccl: this axon was built without NCCL (it needs the CUDA toolkit's nccl.h)");
#endif
}

bool launched_by_mpi() {
  // Open MPI's mpirun, PMIx launchers (srun --mpi=pmix, prterun) and PMI-1/2 launchers (MPICH's
  // Hydra, srun --mpi=pmi2).
  return has_env("OMPI_COMM_WORLD_SIZE") || has_env("PMIX_RANK") || has_env("PMI_SIZE");
}

std::unique_ptr<Communicator> from_environment(MpiOptions options) {
  if (launched_by_mpi() && mpi_available()) return mpi(options);
  return single_process();
}

std::uint64_t hash_bytes(const Tensor& tensor) {
  const Tensor host = tensor.device().is_cpu() ? tensor : tensor.to(Device::cpu());
  const auto* bytes = static_cast<const unsigned char*>(
      host.dtype() == DType::kFloat32 ? static_cast<const void*>(host.data<float>())
                                      : static_cast<const void*>(host.data<std::int32_t>()));
  std::uint64_t hash = 0xcbf29ce484222325ull;
  for (std::size_t i = 0; i < host.nbytes(); ++i) hash = (hash ^ bytes[i]) * 0x100000001b3ull;
  return hash;
}

}  // namespace axon::dist
