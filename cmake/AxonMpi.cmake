# Decides AXON_WITH_MPI from AXON_MPI (AUTO: when MPI is found; ON: it must be). Debian:
# libopenmpi-dev, openmpi-bin (scripts/install-deps installs them). axon calls MPI's C API from
# C++ (MPI_CXX_SKIP_MPICXX: not the deprecated C++ bindings).
set(AXON_WITH_MPI OFF)
set(MPI_CXX_SKIP_MPICXX TRUE)
if(NOT AXON_MPI STREQUAL "OFF")
  if(AXON_MPI STREQUAL "ON")
    find_package(MPI REQUIRED COMPONENTS CXX)
  else()
    find_package(MPI QUIET COMPONENTS CXX)
  endif()
  if(MPI_CXX_FOUND)
    set(AXON_WITH_MPI ON)
  endif()
endif()
