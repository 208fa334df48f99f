#pragma once
// Dropout's seed on a rank of a data-parallel run (trainer.cpp, checkpoint.cpp).
#include <cstdint>

namespace axon::train {

// The run's own seed on rank 0 (so one rank is a plain run), a SplitMix64 mix of it and the
// rank elsewhere: masks differ per rank by design, as in DDP.
inline std::uint64_t rank_seed(std::uint64_t seed, int rank) {
  if (rank == 0) return seed;
  std::uint64_t z = seed + 0x9e3779b97f4a7c15ull * static_cast<std::uint64_t>(rank);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace axon::train
