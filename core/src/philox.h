#pragma once
// Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11), shared
// by the CPU and CUDA backends so both produce the same stream. Plain integer arithmetic:
// compiles as host code and, under nvcc, as device code.
#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define AXON_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define AXON_HOST_DEVICE inline __attribute__((always_inline))
#endif

namespace axon::philox {

struct Block {
  std::uint32_t v[4];
};

AXON_HOST_DEVICE void mulhilo(std::uint32_t a, std::uint32_t b, std::uint32_t& hi,
                              std::uint32_t& lo) {
  const std::uint64_t product = static_cast<std::uint64_t>(a) * b;
  hi = static_cast<std::uint32_t>(product >> 32);
  lo = static_cast<std::uint32_t>(product);
}

// The four 32-bit outputs of counter block `counter` (a 64-bit block index) under `seed`.
AXON_HOST_DEVICE Block generate(std::uint64_t seed, std::uint64_t counter) {
  constexpr std::uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr std::uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  std::uint32_t c0 = static_cast<std::uint32_t>(counter);
  std::uint32_t c1 = static_cast<std::uint32_t>(counter >> 32);
  std::uint32_t c2 = 0, c3 = 0;
  std::uint32_t k0 = static_cast<std::uint32_t>(seed);
  std::uint32_t k1 = static_cast<std::uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    std::uint32_t hi0, lo0, hi1, lo1;
    mulhilo(kMul0, c0, hi0, lo0);
    mulhilo(kMul1, c2, hi1, lo1);
    const std::uint32_t n0 = hi1 ^ c1 ^ k0;
    const std::uint32_t n2 = hi0 ^ c3 ^ k1;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  return {{c0, c1, c2, c3}};
}

// Uniform in [0, 1): the top 24 bits, exact in float.
AXON_HOST_DEVICE float to_unit_float(std::uint32_t bits) {
  return static_cast<float>(bits >> 8) * (1.0f / 16777216.0f);
}

// Uniform in (0, 1]: safe for log() in Box-Muller.
AXON_HOST_DEVICE double to_open_unit_double(std::uint32_t bits) {
  return (static_cast<double>(bits) + 1.0) * (1.0 / 4294967296.0);
}

// Element i of a uniform fill in [low, high). One correctly rounded fma, so the CPU and the GPU
// give the same bits.
AXON_HOST_DEVICE float uniform_at(std::uint64_t seed, std::uint64_t offset, std::uint64_t i,
                                  float low, float high) {
  const Block block = generate(seed, offset + i / 4);
  const float value = ::fmaf(to_unit_float(block.v[i % 4]), high - low, low);
  // Rounding can land on high when the range is narrow next to |low|: keep [low, high).
  return value < high ? value : ::fmaxf(low, ::nextafterf(high, low));
}

// Element i of a normal fill: Box-Muller on the pair of numbers of its half block, in double,
// rounded once to float. CPU and GPU agree to the last bit except where their double-precision
// log/sin/cos differ in the last double ulp and that flips the float rounding (rare).
AXON_HOST_DEVICE float normal_at(std::uint64_t seed, std::uint64_t offset, std::uint64_t i,
                                 float mean, float stddev) {
  constexpr double kTwoPi = 6.283185307179586476925286766559;
  const Block block = generate(seed, offset + i / 4);
  const unsigned lane = static_cast<unsigned>(i % 4);
  const unsigned pair = lane / 2;
  const double radius = ::sqrt(-2.0 * ::log(to_open_unit_double(block.v[2 * pair])));
  const double angle = kTwoPi * to_unit_float(block.v[2 * pair + 1]);
  const double z = (lane % 2 == 0) ? radius * ::cos(angle) : radius * ::sin(angle);
  return static_cast<float>(::fma(static_cast<double>(stddev), z, static_cast<double>(mean)));
}

}  // namespace axon::philox
