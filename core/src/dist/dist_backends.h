#pragma once
// The contract between core/ and the communicators of cpu/ (MPI) and cuda/ (NCCL): core/ calls
// these factories; no MPI or NCCL type crosses this line.
#include <memory>

#include "axon/dist/communicator.h"

namespace axon::dist::detail {

#if defined(AXON_WITH_MPI)
// cpu/mpi_communicator.cpp
std::unique_ptr<Communicator> make_mpi_communicator(MpiOptions options);
#endif

#if defined(AXON_WITH_NCCL)
// cuda/nccl_communicator.cu
std::unique_ptr<Communicator> make_nccl_communicator(Communicator& bootstrap, int cuda_device);
#endif

// Shared checks of the tensor collectives (communicator.cpp): ValueError/DTypeError naming the
// collective and the tensor.
void check_all_reduce(const char* backend, const Tensor& tensor);
void check_broadcast(const char* backend, const Tensor& tensor, int root, int world_size);

}  // namespace axon::dist::detail
