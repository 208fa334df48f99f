#pragma once
// Numeric modes that trade precision for speed. Off by default: results match FP32 math.
#include "axon/export.h"

namespace axon {

// Lets CUDA GEMMs use TF32 tensor cores (10-bit mantissa inputs, FP32 accumulation) on GPUs
// that have them: several times faster, with relative errors near 1e-3 instead of 1e-6.
// The CPU backend ignores it.
AXON_API void set_allow_tf32(bool allow);
AXON_API bool allow_tf32();

}  // namespace axon
