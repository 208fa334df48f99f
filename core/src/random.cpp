#include "axon/random.h"

#include "axon/error.h"

namespace axon {

PhiloxSlice Generator::take(std::int64_t n) {
  if (n < 0) throw ValueError("Generator::take: negative count " + std::to_string(n));
  const std::uint64_t first = offset_.fetch_add(static_cast<std::uint64_t>((n + 3) / 4));
  return PhiloxSlice{seed_, first};
}

Generator& default_generator() {
  static Generator generator;
  return generator;
}

void manual_seed(std::uint64_t seed) { default_generator().reseed(seed); }

}  // namespace axon
