#pragma once
// Vector versions of the libm functions the activation formulas call (core/src/kernels), from
// glibc's libmvec (x86-64, glibc >= 2.35). Declaring them `simd` lets GCC vectorise the loops
// that call them. Built for baseline x86-64, GCC calls the 4-lane SSE entry points (_ZGVbN4v_*);
// wider ones would need -march. Loops whose formulas do not if-convert (softplus) stay scalar.
// Their error is within 4 ulp (glibc's bound), far inside the 1e-5 our tests and the CUDA
// comparison allow. Without libmvec (other platforms) the loops stay scalar and correct.
//
// Include before core/src/kernels/*.h so the calls see the attribute. The CPU sources are built
// with -fno-math-errno -fno-trapping-math (cpu/CMakeLists.txt): we read neither errno nor FP
// exception flags, and those let GCC if-convert the formulas' selects.
#if defined(AXON_HAVE_LIBMVEC)
extern "C" {
float expf(float) noexcept __attribute__((simd("notinbranch")));
float expm1f(float) noexcept __attribute__((simd("notinbranch")));
float erff(float) noexcept __attribute__((simd("notinbranch")));
float tanhf(float) noexcept __attribute__((simd("notinbranch")));
float log1pf(float) noexcept __attribute__((simd("notinbranch")));
}
#endif
