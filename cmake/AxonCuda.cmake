# Decides whether the CUDA backend is built: AXON_CUDA = AUTO | ON | OFF.
# AUTO builds it when nvcc is found. A build with CUDA runs on machines without a GPU:
# the CUDA backend then reports zero devices and the library keeps working on the CPU.
include(CheckLanguage)

set(AXON_WITH_CUDA OFF)
string(TOUPPER "${AXON_CUDA}" _axon_cuda)
if(_axon_cuda STREQUAL "AUTO" OR _axon_cuda STREQUAL "ON")
  # Our default list, used unless the caller set CMAKE_CUDA_ARCHITECTURES: Turing, Ampere
  # (datacenter and workstation), Ada, Hopper as SASS, plus Hopper PTX so newer GPUs can JIT.
  # Never `native`: the build machine often has no GPU, and binaries must run elsewhere.
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES OR CMAKE_CUDA_ARCHITECTURES STREQUAL "")
    set(CMAKE_CUDA_ARCHITECTURES "75-real;80-real;86-real;89-real;90" CACHE STRING
        "CUDA architectures to build for" FORCE)
  endif()
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    enable_language(CUDA)
    find_package(CUDAToolkit 12.5 REQUIRED)  # cudaGetDriverEntryPointByVersion
    set(AXON_WITH_CUDA ON)
    # cuDNN 9 for the convolutions: beside the CUDA toolkit on our machines, or inside a Python
    # environment's nvidia-cudnn wheel (where PyTorch from PyPI puts it). Without it the CUDA
    # backend is built all the same and its convolutions throw BackendError saying so.
    set(_axon_cudnn_hints ${CUDAToolkit_LIBRARY_DIR} ${CUDAToolkit_INCLUDE_DIRS} /usr/local/cuda $ENV{CUDNN_ROOT})
    find_program(_axon_python python3)
    if(_axon_python)
      execute_process(COMMAND ${_axon_python} -c "import nvidia.cudnn as m, os; print(os.path.dirname(m.__file__))"
                      OUTPUT_VARIABLE _axon_cudnn_wheel OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
      if(_axon_cudnn_wheel)
        list(APPEND _axon_cudnn_hints ${_axon_cudnn_wheel})
      endif()
    endif()
    find_path(AXON_CUDNN_INCLUDE_DIR cudnn.h HINTS ${_axon_cudnn_hints} PATH_SUFFIXES include)
    find_library(AXON_CUDNN_LIBRARY NAMES cudnn libcudnn.so.9 HINTS ${_axon_cudnn_hints} PATH_SUFFIXES lib lib64)
    if(AXON_CUDNN_INCLUDE_DIR AND AXON_CUDNN_LIBRARY)
      set(AXON_WITH_CUDNN ON)
    else()
      set(AXON_WITH_CUDNN OFF)
      message(WARNING "cuDNN 9 (cudnn.h, libcudnn.so) was not found: the CUDA backend is built without it and "
                      "its convolutions throw. Set CUDNN_ROOT or AXON_CUDNN_INCLUDE_DIR and AXON_CUDNN_LIBRARY.")
    endif()
  elseif(_axon_cuda STREQUAL "ON")
    message(FATAL_ERROR "AXON_CUDA=ON but no CUDA compiler (nvcc) was found. "
                        "Install the CUDA toolkit, put nvcc on PATH, or use -DAXON_CUDA=AUTO|OFF.")
  endif()
elseif(NOT _axon_cuda STREQUAL "OFF")
  message(FATAL_ERROR "AXON_CUDA must be AUTO, ON or OFF (got '${AXON_CUDA}')")
endif()

if(AXON_WITH_CUDA)
  # CMake 3.25 predates nvcc's C++20 support and knows no flag for it: teach it the flag.
  if(NOT CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
    set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
    set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
  endif()
  set(CMAKE_CUDA_STANDARD 20)
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  set(CMAKE_CUDA_VISIBILITY_PRESET hidden)
endif()
