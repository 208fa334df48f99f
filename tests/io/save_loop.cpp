// Saves a model-sized file over and over, alternating two contents (all 1s in [1000, 100]; all
// 2s in [1000, 300]), until killed: tests/io/kill_during_save_test.cpp kills it at random
// moments and checks that what is left is always one whole version.
#include <cstdio>

#include "axon/axon.h"

int main(int argc, char** argv) try {
  if (argc != 2) return 2;
  const axon::Tensor one = axon::Tensor::full({1000, 100}, 1.0f);
  const axon::Tensor two = axon::Tensor::full({1000, 300}, 2.0f);
  for (long i = 0;; ++i) axon::io::save_safetensors(argv[1], {{"w", i % 2 == 0 ? one : two}});
} catch (const std::exception& e) {
  std::fprintf(stderr, "save_loop: %s\n", e.what());
  return 1;
}
