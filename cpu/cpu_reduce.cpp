// Reductions: whole tensor and per row. Sums accumulate in double. Max and argmax propagate NaN
// as PyTorch does: a NaN anywhere makes the max NaN, and argmax points at the first NaN.
#include <cmath>
#include <limits>

#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"

namespace axon::cpu {

namespace {

double row_reduce(ReduceOp op, const float* row, std::int64_t cols) {
  if (op == ReduceOp::kMax) {
    float best = row[0];
    for (std::int64_t col = 0; col < cols; ++col) {
      if (std::isnan(row[col])) return row[col];
      best = row[col] > best ? row[col] : best;
    }
    return best;
  }
  double total = 0.0;
#pragma omp simd reduction(+ : total)
  for (std::int64_t col = 0; col < cols; ++col) total += row[col];
  return op == ReduceOp::kMean ? total / static_cast<double>(cols) : total;
}

}  // namespace

void CpuBackend::reduce_all(ReduceOp op, const Tensor& x, const Tensor& out) {
  const std::int64_t n = x.numel();
  const float* in = x.data<float>();
  const bool parallel = n >= kParallelElements;
  double result = 0.0;
  if (op == ReduceOp::kMax) {
    // The max of each chunk (NaN if it holds one), then the max of the chunks, NaN winning.
    result = parallel_reduce(
        parallel, n, 16, -std::numeric_limits<float>::infinity(),
        [=](std::int64_t begin, std::int64_t end) { return static_cast<float>(row_reduce(op, in + begin, end - begin)); },
        [](float a, float b) { return std::isnan(a) ? a : (std::isnan(b) || b > a ? b : a); });
  } else {
    const double total = parallel_reduce(
        parallel, n, 16, 0.0, [=](std::int64_t begin, std::int64_t end) { return row_reduce(ReduceOp::kSum, in + begin, end - begin); },
        [](double a, double b) { return a + b; });
    result = op == ReduceOp::kMean ? total / static_cast<double>(n) : total;
  }
  out.data<float>()[0] = static_cast<float>(result);
}

void CpuBackend::reduce_rows(ReduceOp op, const Tensor& x, const Tensor& out) {
  const std::int64_t rows = x.shape().rows();
  const std::int64_t cols = x.shape().cols();
  const float* in = x.data<float>();
  float* result = out.data<float>();
  parallel_for_rows(rows, cols, [=](std::int64_t first, std::int64_t end) {
    for (std::int64_t r = first; r < end; ++r) {
      result[r] = cols == 0 ? 0.0f : static_cast<float>(row_reduce(op, in + r * cols, cols));
    }
  });
}

void CpuBackend::argmax_rows(const Tensor& x, const Tensor& out) {
  const std::int64_t rows = x.shape().rows();
  const std::int64_t cols = x.shape().cols();
  const float* in = x.data<float>();
  std::int32_t* result = out.data<std::int32_t>();
  parallel_for_rows(rows, cols, [=](std::int64_t first, std::int64_t end) {
    for (std::int64_t r = first; r < end; ++r) {
      const float* row = in + r * cols;
      std::int64_t best = 0;
      for (std::int64_t col = 0; col < cols; ++col) {
        if (std::isnan(row[col])) {
          best = col;
          break;
        }
        best = row[col] > row[best] ? col : best;
      }
      result[r] = static_cast<std::int32_t>(best);
    }
  });
}

}  // namespace axon::cpu
