#pragma once
// Bounds on numbers that come from files a user may be handed.
#include <cstdint>

namespace axon::detail {

// Counters restored from a checkpoint (optimizer steps, epochs, schedule epochs, plateau
// counters) are at most 2^53: exact in a double and in every JSON reader, and so far from
// INT64_MAX that counting on from them never overflows (a step a nanosecond would take 104
// days to reach 2^53 itself).
inline constexpr std::int64_t kMaxRestoredCount = std::int64_t{1} << 53;

}  // namespace axon::detail
