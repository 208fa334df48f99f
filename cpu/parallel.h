#pragma once
// How CPU loops are split across threads. Small loops run on the calling thread: waking the
// OpenMP team costs more than a few thousand elements of work.
#include <cstdint>

namespace axon::cpu {

// Elementwise loops with fewer elements than this stay on one thread.
inline constexpr std::int64_t kParallelElements = 1 << 15;

// Row loops: parallel when rows * cols reaches the same amount of work.
inline bool parallel_rows(std::int64_t rows, std::int64_t cols) {
  return rows > 1 && rows * cols >= kParallelElements;
}

}  // namespace axon::cpu
