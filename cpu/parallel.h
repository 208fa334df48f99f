#pragma once
// How CPU loops are split across the one OpenMP pool (docs/threading.md). Every threaded loop
// goes through these helpers, which stay on the calling thread when the work is small: entering
// an OpenMP region costs ~150 ns even with if(false), more than a small op's whole work.
//
// Loop bodies copy their pointers into locals before looping: a pointer read from a lambda's
// closure inside the loop may alias the output, which stops GCC from vectorising.
#include <omp.h>

#include <algorithm>
#include <array>
#include <cstdint>

namespace axon::cpu {

// For a function whose loops are compute-bound at the SSE2 width of baseline x86-64 (what the
// library is built for): compiled once more for AVX-512 and for AVX2, the copy picked when the
// library loads by the CPU's features (GCC's target_clones; measured on 235k parameters, SGD
// with momentum 28 -> 13 us on 2 threads). IEEE arithmetic without contraction (-ffp-contract=off,
// set in CMakeLists.txt: GCC would fuse FMAs in the clones) gives the same bits at every width; libmvec's vector math (vector_math.h)
// has an entry point per width, each within its 4 ulp. Clang (the fuzz build) cannot clone
// templates, and under ThreadSanitizer the loader would run the instrumented resolvers before
// the sanitizer's runtime exists (a crash at load): both build the baseline only.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__)
#define AXON_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define AXON_VECTOR_CLONES
#endif

// Elementwise loops with fewer elements than this stay on one thread.
inline constexpr std::int64_t kParallelElements = 1 << 15;

// Row loops: parallel when rows * cols reaches the same amount of work.
inline bool parallel_rows(std::int64_t rows, std::int64_t cols) {
  return rows > 1 && rows * cols >= kParallelElements;
}

// The process-wide pool size (axon::set_num_threads; cpu_threading.cpp).
int pool_threads();

// Held around every OpenBLAS call: a pool-size change waits until no GEMM runs, and the calling
// thread's OpenMP setting matches OpenBLAS's thread count (cpu_threading.cpp says why).
class BlasCall {
 public:
  BlasCall();
  ~BlasCall();
  BlasCall(const BlasCall&) = delete;
  BlasCall& operator=(const BlasCall&) = delete;
};

// Whether products go to oneDNN now (axon/cpu_gemm.h; OpenBLAS once the process is exiting).
bool gemm_on_onednn();

namespace detail {

inline constexpr int kMaxThreads = 256;

// Threads to use for a loop, 1 when it should stay on this thread.
inline int loop_threads(bool parallel) {
  if (!parallel || omp_in_parallel()) return 1;
  return std::min(pool_threads(), kMaxThreads);
}

// [begin, end) of thread t of `threads` over n items, chunks starting on multiples of `align`.
struct Chunk {
  std::int64_t begin, end;
};
inline Chunk chunk_of(std::int64_t n, std::int64_t align, int t, int threads) {
  const std::int64_t size = ((n + threads - 1) / threads + align - 1) / align * align;
  const std::int64_t begin = std::min(n, t * size);
  return {begin, std::min(n, begin + size)};
}

}  // namespace detail

// Threads for a product: the pool, or 1 inside a parallel region.
inline int gemm_threads() { return detail::loop_threads(true); }

// Calls body(begin, end) on contiguous chunks of [0, n), one per thread when `parallel`, else
// once on this thread. Chunks start on multiples of `align` items.
template <class Body>
void parallel_chunks(bool parallel, std::int64_t n, std::int64_t align, const Body& body) {
  if (n <= 0) return;
  const int threads = detail::loop_threads(parallel);
  if (threads == 1) {
    body(std::int64_t{0}, n);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const auto [begin, end] = detail::chunk_of(n, align, omp_get_thread_num(), omp_get_num_threads());
    if (begin < end) body(begin, end);
  }
}

// Elementwise: parallel from `grain` elements, chunks on 16-element (64-byte) boundaries.
template <class Body>
void parallel_for(std::int64_t n, std::int64_t grain, const Body& body) {
  parallel_chunks(n >= grain, n, 16, body);
}

// Rows of a [rows, cols] matrix: body(first_row, end_row).
template <class Body>
void parallel_for_rows(std::int64_t rows, std::int64_t cols, const Body& body) {
  parallel_chunks(parallel_rows(rows, cols), rows, 1, body);
}

// Calls body(first_col, end_col) for blocks of 64 columns of a [rows, cols] matrix, threads
// owning whole blocks: each column is then summed by one thread in row order, so column sums
// (bias gradients) do not depend on the thread count.
inline constexpr std::int64_t kColumnBlock = 64;  // the widest block parallel_column_blocks hands out
// Column sums add their rows in float over blocks of this many, and the blocks in double: a
// relative error near 1e-7 at a million rows (one float running sum: 1.5e-5), and the same bits
// whatever the thread count.
inline constexpr std::int64_t kSumRowBlock = 128;

template <class Body>
void parallel_column_blocks(std::int64_t rows, std::int64_t cols, const Body& body) {
  constexpr std::int64_t kBlock = kColumnBlock;
  const std::int64_t blocks = (cols + kBlock - 1) / kBlock;
  parallel_chunks(blocks > 1 && rows * cols >= kParallelElements, blocks, 1, [&](std::int64_t first, std::int64_t last) {
    for (std::int64_t block = first; block < last; ++block) {
      body(block * kBlock, std::min(cols, (block + 1) * kBlock));
    }
  });
}

// combine over chunks of range(begin, end) -> T (chunks start on multiples of `align` items). The chunks' results are combined in chunk
// order, so the result is the same run after run for a given thread count.
template <class T, class Range, class Combine>
T parallel_reduce(bool parallel, std::int64_t n, std::int64_t align, T identity, const Range& range,
                  const Combine& combine) {
  if (n <= 0) return identity;
  const int threads = detail::loop_threads(parallel);
  if (threads == 1) return range(std::int64_t{0}, n);
  std::array<T, detail::kMaxThreads> partial;
  partial.fill(identity);
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    const auto [begin, end] = detail::chunk_of(n, align, t, omp_get_num_threads());
    if (begin < end) partial[static_cast<std::size_t>(t)] = range(begin, end);
  }
  T result = identity;
  for (int t = 0; t < threads; ++t) result = combine(result, partial[static_cast<std::size_t>(t)]);
  return result;
}

namespace detail {
template <class F>
AXON_VECTOR_CLONES void map_unary_chunk(const float* in, float* out, F f, std::int64_t begin, std::int64_t end) {
#pragma omp simd
  for (std::int64_t i = begin; i < end; ++i) out[i] = f(in[i]);
}
template <class F>
AXON_VECTOR_CLONES void map_binary_chunk(const float* a, const float* b, float* out, F f, std::int64_t begin,
                                         std::int64_t end) {
#pragma omp simd
  for (std::int64_t i = begin; i < end; ++i) out[i] = f(a[i], b[i]);
}
template <class F>
AXON_VECTOR_CLONES void map_ternary_chunk(const float* a, const float* b, const float* c, float* out, F f,
                                          std::int64_t begin, std::int64_t end) {
#pragma omp simd
  for (std::int64_t i = begin; i < end; ++i) out[i] = f(a[i], b[i], c[i]);
}
}  // namespace detail

// out[i] = f(in[i]). The chunk loops are functions of their own: their pointers are then
// parameters, which the compiler knows the closure's copy does not alias, and they can be
// cloned per vector width.
template <class F>
void map_unary(std::int64_t n, const float* in, float* out, F f) {
  parallel_for(n, kParallelElements,
               [=](std::int64_t begin, std::int64_t end) { detail::map_unary_chunk(in, out, f, begin, end); });
}

// out[i] = f(a[i], b[i])
template <class F>
void map_binary(std::int64_t n, const float* a, const float* b, float* out, F f) {
  parallel_for(n, kParallelElements,
               [=](std::int64_t begin, std::int64_t end) { detail::map_binary_chunk(a, b, out, f, begin, end); });
}

// out[i] = f(a[i], b[i], c[i])
template <class F>
void map_ternary(std::int64_t n, const float* a, const float* b, const float* c, float* out, F f) {
  parallel_for(n, kParallelElements,
               [=](std::int64_t begin, std::int64_t end) { detail::map_ternary_chunk(a, b, c, out, f, begin, end); });
}

}  // namespace axon::cpu
