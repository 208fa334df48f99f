# Finds OpenBLAS and exposes it as the interface target `axon_openblas`.
#
# We prefer the OpenMP build of OpenBLAS (Debian: libopenblas-openmp-dev). It runs its GEMMs on
# the same libgomp thread pool as our own loops, so the two never compete for the cores (see
# docs/threading.md). The library is linked by full path and its folder is put on the RUNPATH,
# so the loader picks that build even when Debian's alternatives point elsewhere.
# AXON_OPENBLAS_LIBRARY and AXON_CBLAS_INCLUDE_DIR may be given to use another build.
find_library(AXON_OPENBLAS_LIBRARY NAMES openblas
  PATHS /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp NO_DEFAULT_PATH)
if(NOT AXON_OPENBLAS_LIBRARY)
  find_library(AXON_OPENBLAS_LIBRARY NAMES openblas)
endif()
if(NOT AXON_OPENBLAS_LIBRARY)
  message(FATAL_ERROR "OpenBLAS not found. On Debian: apt-get install libopenblas-openmp-dev")
endif()

get_filename_component(AXON_OPENBLAS_DIR "${AXON_OPENBLAS_LIBRARY}" DIRECTORY)
get_filename_component(_axon_blas_flavour "${AXON_OPENBLAS_DIR}" NAME)
find_path(AXON_CBLAS_INCLUDE_DIR cblas.h
  PATHS /usr/include/${CMAKE_LIBRARY_ARCHITECTURE}/${_axon_blas_flavour}
  PATH_SUFFIXES openblas)
if(NOT AXON_CBLAS_INCLUDE_DIR)
  message(FATAL_ERROR "cblas.h not found next to ${AXON_OPENBLAS_LIBRARY}")
endif()

add_library(axon_openblas INTERFACE)
target_link_libraries(axon_openblas INTERFACE "${AXON_OPENBLAS_LIBRARY}")
target_include_directories(axon_openblas SYSTEM INTERFACE "${AXON_CBLAS_INCLUDE_DIR}")
# The RUNPATH goes on the library (build and install tree) so it loads this OpenBLAS build.
list(APPEND CMAKE_BUILD_RPATH "${AXON_OPENBLAS_DIR}")
list(APPEND CMAKE_INSTALL_RPATH "${AXON_OPENBLAS_DIR}")
