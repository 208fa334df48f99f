#pragma once
// The row maps of the recurrent layers (lstm.cpp, gru.cpp): their input and output are
// batch-major (row n * T + t of [N * T, F]), their recurrence time-major (block t of `capacity`
// rows, row t * capacity + n), so that each step's rows are one contiguous block. Built once per
// (steps, capacity) by reserve, uploaded once; gather_rows moves between the layouts.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "axon/error.h"
#include "axon/tensor.h"

namespace axon::nn::detail {

struct SequenceRowMaps {
  Tensor to_time_major;   // int32 [T * capacity]: row t * capacity + n -> n * T + t
  Tensor to_batch_major;  // int32 [capacity * T]: row n * T + t -> t * capacity + n
};

// ShapeError naming `layer` when the rows (times `width` gate columns) pass int32's range.
inline SequenceRowMaps make_sequence_row_maps(std::int64_t steps, std::int64_t capacity, std::int64_t width,
                                              const std::string& layer, Device device) {
  if (steps * capacity * width > std::numeric_limits<std::int32_t>::max()) {
    throw ShapeError(layer + ": " + std::to_string(capacity) + " sequences of " + std::to_string(steps) +
                     " steps make more rows of gates than int32 row maps hold");
  }
  std::vector<std::int32_t> to_time(static_cast<std::size_t>(steps * capacity)), to_batch(to_time.size());
  for (std::int64_t t = 0; t < steps; ++t) {
    for (std::int64_t n = 0; n < capacity; ++n) {
      to_time[static_cast<std::size_t>(t * capacity + n)] = static_cast<std::int32_t>(n * steps + t);
      to_batch[static_cast<std::size_t>(n * steps + t)] = static_cast<std::int32_t>(t * capacity + n);
    }
  }
  return {Tensor::from_vector({steps * capacity}, std::span<const std::int32_t>(to_time), device),
          Tensor::from_vector({capacity * steps}, std::span<const std::int32_t>(to_batch), device)};
}

}  // namespace axon::nn::detail
