#pragma once
// axon::dist: the ranks of a data-parallel run and the collectives between them.
//
//   auto world = axon::dist::from_environment();   // MPI under mpirun/srun, else one process
//   trainer.distribute(*world);                    // fit averages gradients over the ranks
//
// Backends: MPI (CPU tensors; CUDA tensors staged through host memory, since Debian's Open MPI
// is not CUDA-aware), NCCL (CUDA tensors, one rank per GPU, its unique id broadcast over a
// bootstrap communicator such as MPI's), and one process (world 1, every collective a no-op).
// No MPI or NCCL header is seen outside cpu/ and cuda/: this interface is the seam.
//
// Faults: a rank that fails calls report_failure (fit does it for every error it throws; so does
// a communicator destroyed by an exception), and every other rank's next collective throws
// DistributedError naming that rank. A collective that waits longer than the timeout throws
// too, so a rank that hangs or dies stops the others in bounded time (under mpirun a rank that
// dies is reported by mpirun itself, which ends the job).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "axon/device.h"
#include "axon/error.h"
#include "axon/export.h"
#include "axon/tensor.h"

namespace axon::dist {

// A collective that could not complete: another rank failed (failed_rank() says which), or the
// timeout passed (failed_rank() is -1: the rank that did not arrive is unknown).
class AXON_API DistributedError : public Error {
 public:
  DistributedError(const std::string& message, int failed_rank) : Error(message), failed_rank_(failed_rank) {}
  int failed_rank() const noexcept { return failed_rank_; }

 private:
  int failed_rank_;
};

enum class Reduction : std::uint8_t { kSum, kAverage, kMax };

// What the tensor collectives moved, for benchmarks and the step checker.
struct CommunicatorStats {
  std::int64_t all_reduces = 0;     // of tensors
  std::int64_t bytes_reduced = 0;   // their payload (each rank's buffer)
  double seconds_reducing = 0;      // host time spent inside them (staging included)
};

class AXON_API Communicator {
 public:
  virtual ~Communicator() = default;
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  virtual std::string name() const = 0;  // "mpi", "nccl", "single process"

  // In place, over all ranks, every rank calling with the same shape; every rank ends with the
  // same bits. float32 only (kAverage divides the sum by the world size).
  virtual void all_reduce(const Tensor& tensor, Reduction op) = 0;
  // Root's values into every rank's tensor (float32 or int32, same shape everywhere).
  virtual void broadcast(const Tensor& tensor, int root) = 0;

  // Small host values (counters, flags, fingerprints): reduce in place, gather one per rank.
  virtual void all_reduce(std::span<double> values, Reduction op) = 0;
  virtual std::vector<std::uint64_t> all_gather(std::uint64_t value) = 0;
  virtual void broadcast(std::span<std::byte> bytes, int root) = 0;
  virtual void barrier() = 0;

  // Tells every other rank this one failed (their next collective throws DistributedError
  // naming it and quoting `what`). Never throws; once is enough.
  virtual void report_failure(const std::string& what) noexcept = 0;

  const CommunicatorStats& stats() const { return stats_; }
  void reset_stats() { stats_ = {}; }

 protected:
  Communicator() = default;
  CommunicatorStats stats_;
};

struct MpiOptions {
  // A collective that waits longer than this throws DistributedError (a hung or dead peer).
  // AXON_DIST_TIMEOUT_SECONDS in the environment overrides it.
  std::chrono::seconds timeout{300};
};

// World 1: rank 0, every collective leaves its data as it is.
AXON_API std::unique_ptr<Communicator> single_process();

// MPI_COMM_WORLD (initialising MPI if the program has not; finalising it when the last MPI
// communicator goes, if it initialised it). DeviceError when axon was built without MPI.
AXON_API std::unique_ptr<Communicator> mpi(MpiOptions options = {});
AXON_API bool mpi_available();  // built with MPI

// NCCL over CUDA `device` (one rank per GPU), its unique id sent from rank 0 by `bootstrap`
// (whose ranks it takes). DeviceError when built without NCCL or the device is not CUDA.
AXON_API std::unique_ptr<Communicator> nccl(Communicator& bootstrap, Device device);
AXON_API bool nccl_available();  // built with NCCL

// MPI when this process was started by an MPI launcher (mpirun, mpiexec, or srun with PMIx: the
// launcher's OMPI_COMM_WORLD_SIZE / PMIX_RANK / PMI_SIZE variables) and axon has MPI; one
// process otherwise.
AXON_API std::unique_ptr<Communicator> from_environment(MpiOptions options = {});
AXON_API bool launched_by_mpi();

// A 64-bit FNV-1a hash of a tensor's bytes (to check that every rank holds the same weights).
AXON_API std::uint64_t hash_bytes(const Tensor& tensor);

}  // namespace axon::dist
