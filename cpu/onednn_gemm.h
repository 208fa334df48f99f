#pragma once
// Matrix products on oneDNN's matmul primitive. oneDNN picks its kernels by the CPU's features
// at run time (AVX2, AVX-512, AMX), where a Debian OpenBLAS that does not know a newer CPU falls
// back to generic SSE3 code. Primitives are made once per shape and cached (onednn_gemm.cpp);
// their scratch memory belongs to the cache, so a steady step asks for no memory.
#include <cstdint>
#include <string>

namespace axon::cpu::onednn {

// Products with fewer rows than this get a primitive made for a row count given at run time:
// oneDNN 2.6 then picks its gemm kernels, which beat its brgemm kernels for a few rows (on
// AVX-512, [1, 784] @ [784, 256]^T: 7.4 us against 20 us on one thread, 12 against 109 on two);
// from about 16 rows on, brgemm is as fast or faster.
inline constexpr std::int64_t kFewRows = 16;

// c = alpha * op(a) @ op(b) + beta * c (+ bias on every row), row-major, c [m, n]. a is stored
// [k, m] when transposed, else [m, k]; b [n, k] when transposed, else [k, n]; ld* are the stored
// row lengths. With beta == 0, c is not read. m, n, k > 0.
struct Product {
  bool transpose_a = false;
  bool transpose_b = false;
  std::int64_t m = 0, n = 0, k = 0;
  float alpha = 1.0f;
  float beta = 0.0f;
  const float* a = nullptr;
  std::int64_t lda = 0;
  const float* b = nullptr;
  std::int64_t ldb = 0;
  float* c = nullptr;
  std::int64_t ldc = 0;
  const float* bias = nullptr;  // [n], added after the product (alpha must be 1), or null
};

// Runs the product on `threads` threads (the pool size; 1 inside a parallel region). Throws
// BackendError naming the shapes when oneDNN cannot make or run the primitive.
void multiply(const Product& product, int threads);

// False once the process is exiting and oneDNN's own state may be gone (onednn_gemm.cpp): the
// backend then multiplies with OpenBLAS, so an op from a static destructor still works.
bool usable();

// "oneDNN 2.6.3, ISA avx512_core_bf16": the library and the instruction set it dispatches to.
std::string describe();

}  // namespace axon::cpu::onednn
