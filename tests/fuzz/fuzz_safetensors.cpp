// libFuzzer target: safetensors files (models, checkpoints), every way axon reads them
// (readers.h).
#include "fuzz_file.h"
#include "readers.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const axon_fuzz::InputFile file;
  // A fresh model and trainer per input: one input's successful load cannot shape the next
  // input's run (each finding must replay alone).
  axon_fuzz::SafetensorsTarget target;
  axon_fuzz::read_safetensors_every_way(file.write(data, size), target);
  return 0;
}
