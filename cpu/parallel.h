#pragma once
// How CPU loops are split across the one OpenMP pool (docs/threading.md). Small loops run on
// the calling thread: waking the team costs more than a few thousand elements of work.
//
// Loop bodies copy their pointers into locals before looping: a pointer read from a lambda's
// closure inside the loop may alias the output, which stops GCC from vectorising.
#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace axon::cpu {

// Elementwise loops with fewer elements than this stay on one thread.
inline constexpr std::int64_t kParallelElements = 1 << 15;

// Row loops: parallel when rows * cols reaches the same amount of work.
inline bool parallel_rows(std::int64_t rows, std::int64_t cols) {
  return rows > 1 && rows * cols >= kParallelElements;
}

// Calls body(begin, end) on contiguous chunks of [0, n), one per thread, when n reaches grain;
// else once on this thread. Chunks start on multiples of 16 elements (64 bytes).
template <class Body>
void parallel_for(std::int64_t n, std::int64_t grain, const Body& body) {
  if (n <= 0) return;
  if (n < grain || omp_get_max_threads() == 1 || omp_in_parallel()) {
    body(std::int64_t{0}, n);
    return;
  }
#pragma omp parallel
  {
    const std::int64_t threads = omp_get_num_threads();
    const std::int64_t chunk = ((n + threads - 1) / threads + 15) / 16 * 16;
    const std::int64_t begin = std::min(n, omp_get_thread_num() * chunk);
    const std::int64_t end = std::min(n, begin + chunk);
    if (begin < end) body(begin, end);
  }
}

// out[i] = f(in[i])
template <class F>
void map_unary(std::int64_t n, const float* in, float* out, F f) {
  parallel_for(n, kParallelElements, [=](std::int64_t begin, std::int64_t end) {
    const float* src = in;
    float* dst = out;
#pragma omp simd
    for (std::int64_t i = begin; i < end; ++i) dst[i] = f(src[i]);
  });
}

// out[i] = f(a[i], b[i])
template <class F>
void map_binary(std::int64_t n, const float* a, const float* b, float* out, F f) {
  parallel_for(n, kParallelElements, [=](std::int64_t begin, std::int64_t end) {
    const float* src_a = a;
    const float* src_b = b;
    float* dst = out;
#pragma omp simd
    for (std::int64_t i = begin; i < end; ++i) dst[i] = f(src_a[i], src_b[i]);
  });
}

// out[i] = f(a[i], b[i], c[i])
template <class F>
void map_ternary(std::int64_t n, const float* a, const float* b, const float* c, float* out, F f) {
  parallel_for(n, kParallelElements, [=](std::int64_t begin, std::int64_t end) {
    const float* src_a = a;
    const float* src_b = b;
    const float* src_c = c;
    float* dst = out;
#pragma omp simd
    for (std::int64_t i = begin; i < end; ++i) dst[i] = f(src_a[i], src_b[i], src_c[i]);
  });
}

}  // namespace axon::cpu
