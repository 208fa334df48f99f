# Finds oneDNN (Debian: libdnnl-dev) and exposes it as the interface target `axon_onednn`.
#
# The CPU backend runs its matrix products on oneDNN's matmul primitive, which picks its kernels
# by the CPU's features at run time (see docs/threading.md). Debian's build uses the OpenMP
# runtime (libgomp), the same pool as our loops and OpenBLAS.
#
# Found by hand rather than through dnnl-config.cmake: Debian's config also asks for OpenCL's
# development files (for oneDNN's GPU engine), which the CPU backend does not use.
# AXON_ONEDNN_LIBRARY and AXON_ONEDNN_INCLUDE_DIR may be given to use another build.
find_library(AXON_ONEDNN_LIBRARY NAMES dnnl)
find_path(AXON_ONEDNN_INCLUDE_DIR oneapi/dnnl/dnnl.h)
if(NOT AXON_ONEDNN_LIBRARY OR NOT AXON_ONEDNN_INCLUDE_DIR)
  message(FATAL_ERROR "oneDNN not found. On Debian: apt-get install libdnnl-dev")
endif()
file(STRINGS "${AXON_ONEDNN_INCLUDE_DIR}/oneapi/dnnl/dnnl_config.h" _axon_dnnl_runtime
     REGEX "^#define DNNL_CPU_RUNTIME ")
if(NOT _axon_dnnl_runtime MATCHES "DNNL_RUNTIME_OMP")
  # A TBB or sequential build would bring a second thread pool (or none): see docs/threading.md.
  message(FATAL_ERROR "oneDNN at ${AXON_ONEDNN_LIBRARY} is not built on OpenMP (${_axon_dnnl_runtime})")
endif()

add_library(axon_onednn INTERFACE)
target_link_libraries(axon_onednn INTERFACE "${AXON_ONEDNN_LIBRARY}")
target_include_directories(axon_onednn SYSTEM INTERFACE "${AXON_ONEDNN_INCLUDE_DIR}")
