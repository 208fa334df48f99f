// libFuzzer target: CSV files, every way axon reads them (readers.h).
#include "fuzz_file.h"
#include "readers.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const axon_fuzz::InputFile file;
  axon_fuzz::read_csv_every_way(file.write(data, size));
  return 0;
}
