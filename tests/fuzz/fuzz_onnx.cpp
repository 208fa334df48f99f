// libFuzzer target: ONNX files, through load_onnx (readers.h).
#include "fuzz_file.h"
#include "readers.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const axon_fuzz::InputFile file;
  axon_fuzz::read_onnx_every_way(file.write(data, size));
  return 0;
}
