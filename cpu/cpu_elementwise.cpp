// Elementwise arithmetic: vectorised loops, threaded when large.
#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"

namespace axon::cpu {

namespace {

template <class Function>
void elementwise(std::int64_t n, Function function) {
#pragma omp parallel for simd schedule(static) if (n >= kParallelElements)
  for (std::int64_t i = 0; i < n; ++i) function(i);
}

}  // namespace

void CpuBackend::binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  const float* x = a.data<float>();
  const float* y = b.data<float>();
  float* z = out.data<float>();
  const std::int64_t n = out.numel();
  switch (op) {
    case BinaryOp::kAdd: elementwise(n, [=](std::int64_t i) { z[i] = x[i] + y[i]; }); break;
    case BinaryOp::kSub: elementwise(n, [=](std::int64_t i) { z[i] = x[i] - y[i]; }); break;
    case BinaryOp::kMul: elementwise(n, [=](std::int64_t i) { z[i] = x[i] * y[i]; }); break;
  }
}

void CpuBackend::scale(const Tensor& x, float alpha, const Tensor& out) {
  const float* in = x.data<float>();
  float* result = out.data<float>();
  elementwise(out.numel(), [=](std::int64_t i) { result[i] = alpha * in[i]; });
}

void CpuBackend::axpy(float alpha, const Tensor& x, const Tensor& y) {
  const float* in = x.data<float>();
  float* accumulator = y.data<float>();
  elementwise(y.numel(), [=](std::int64_t i) { accumulator[i] += alpha * in[i]; });
}

}  // namespace axon::cpu
