#include "axon/random.h"

#include <limits>

#include "axon/error.h"

namespace axon {

PhiloxSlice Generator::take(std::int64_t n) {
  if (n < 0) throw ValueError("Generator::take: negative count " + std::to_string(n));
  // Fills take one number per element, and no tensor holds more than this (tensor.cpp).
  constexpr std::int64_t kMostNumbers = std::numeric_limits<std::int64_t>::max() / 16;
  if (n > kMostNumbers) {
    throw ValueError("Generator::take: " + std::to_string(n) + " numbers are more than any tensor holds (at most " +
                     std::to_string(kMostNumbers) + ")");
  }
  const std::uint64_t blocks = static_cast<std::uint64_t>(n / 4 + (n % 4 != 0));  // (n + 3) / 4 overflows
  std::uint64_t first = offset_.load();
  std::uint64_t end = 0;
  do {
    // The offset counts 128-bit blocks in a 64-bit counter: refuse to wrap it, which would hand
    // out numbers already used.
    if (__builtin_add_overflow(first, blocks, &end)) {
      throw ValueError("Generator::take: " + std::to_string(n) + " numbers from offset " + std::to_string(first) +
                       " would run past the end of the Philox stream (2^64 blocks); reseed the generator");
    }
  } while (!offset_.compare_exchange_weak(first, end));
  return PhiloxSlice{seed_, first};
}

Generator& default_generator() {
  static Generator generator;
  return generator;
}

void manual_seed(std::uint64_t seed) { default_generator().reseed(seed); }

}  // namespace axon
