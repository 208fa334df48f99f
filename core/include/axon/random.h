#pragma once
// Random numbers from a counter-based generator (Philox-4x32-10). Element i of a fill is a pure
// function of (seed, the generator's offset, i), so the same seed gives the same numbers on
// every backend and for every thread count.
#include <atomic>
#include <cstdint>

#include "axon/export.h"

namespace axon {

// Where one fill reads the Philox stream: key = seed, first counter = offset.
struct PhiloxSlice {
  std::uint64_t seed = 0;
  std::uint64_t offset = 0;  // in 128-bit Philox blocks (4 numbers each)
};

class AXON_API Generator {
 public:
  explicit Generator(std::uint64_t seed = 0x5eed) : seed_(seed) {}
  // At a position offset() gave (to continue a stream, as from a checkpoint).
  Generator(std::uint64_t seed, std::uint64_t offset) : seed_(seed), offset_(offset) {}
  Generator(const Generator& other) : seed_(other.seed_), offset_(other.offset_.load()) {}
  Generator& operator=(const Generator& other) {
    seed_ = other.seed_;
    offset_.store(other.offset_.load());
    return *this;
  }
  std::uint64_t seed() const { return seed_; }
  std::uint64_t offset() const { return offset_.load(); }
  // Not safe while another thread fills from this generator.
  void reseed(std::uint64_t seed) {
    seed_ = seed;
    offset_.store(0);
  }
  // Reserves the blocks for n numbers and returns where they start. Thread-safe: concurrent
  // fills get disjoint parts of the stream (which part each gets depends on their order).
  PhiloxSlice take(std::int64_t n);

 private:
  std::uint64_t seed_;
  std::atomic<std::uint64_t> offset_{0};
};

// The generator factories use when none is given. Filling from several threads is safe; for
// numbers that do not depend on thread timing, give each thread its own generator.
AXON_API Generator& default_generator();
AXON_API void manual_seed(std::uint64_t seed);

}  // namespace axon
