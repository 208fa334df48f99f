// Elementwise arithmetic: vectorised loops, threaded when large.
#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"

namespace axon::cpu {

void CpuBackend::binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  const float* x = a.data<float>();
  const float* y = b.data<float>();
  float* z = out.data<float>();
  const std::int64_t n = out.numel();
  switch (op) {
    case BinaryOp::kAdd: map_binary(n, x, y, z, [](float p, float q) { return p + q; }); break;
    case BinaryOp::kSub: map_binary(n, x, y, z, [](float p, float q) { return p - q; }); break;
    case BinaryOp::kMul: map_binary(n, x, y, z, [](float p, float q) { return p * q; }); break;
  }
}

void CpuBackend::scale(const Tensor& x, float alpha, const Tensor& out) {
  const float* in = x.data<float>();
  float* result = out.data<float>();
  map_unary(out.numel(), in, result, [alpha](float v) { return alpha * v; });
}

void CpuBackend::axpy(float alpha, const Tensor& x, const Tensor& y) {
  const float* in = x.data<float>();
  float* accumulator = y.data<float>();
  map_binary(y.numel(), in, accumulator, accumulator, [alpha](float v, float acc) { return acc + alpha * v; });
}

}  // namespace axon::cpu
