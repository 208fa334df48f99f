#pragma once
// Argument checks shared by the free functions. Each throws the matching axon::Error subclass
// with a message that names the op, the arguments' shapes, dtypes and devices.
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "axon/error.h"
#include "axon/op_kinds.h"
#include "axon/tensor.h"

namespace axon::detail {

// A named argument, for messages: {"a", tensor}.
using Arg = std::pair<std::string_view, const Tensor*>;

// The name an op's messages give it, in up to three pieces ("linear_" + "relu"), joined only
// when a message is built: a call that does not throw allocates nothing.
class OpName {
 public:
  constexpr OpName(const char* name) : pieces_{name, {}, {}} {}  // NOLINT: implicit by design
  constexpr OpName(std::string_view name) : pieces_{name, {}, {}} {}  // NOLINT
  constexpr OpName(std::string_view a, std::string_view b, std::string_view c = {}) : pieces_{a, b, c} {}
  std::string str() const { return std::string(pieces_[0]) + std::string(pieces_[1]) + std::string(pieces_[2]); }

 private:
  std::string_view pieces_[3];
};

// "axon::<op>: " — the start of every message.
std::string prefix(const OpName& op);

// "a [2, 3] float32 cpu, b [4] float32 cpu"
std::string describe(std::initializer_list<Arg> args);

// Every argument is defined and all are on one device; returns that device.
Device check_same_device(const OpName& op, std::initializer_list<Arg> args);
// Each optional argument that is defined is on `on`'s device (DeviceError naming both, else).
void check_same_device_where_defined(const OpName& op, const Arg& on, std::initializer_list<Arg> optional);
void check_dtype(const OpName& op, const Arg& arg, DType dtype);
void check_dtype(const OpName& op, std::initializer_list<Arg> args, DType dtype);  // each of them
void check_shape(const OpName& op, const Arg& arg, const Shape& expected,
                 std::initializer_list<Arg> context);
void check_rank(const OpName& op, const Arg& arg, int rank);
void check_min_rank(const OpName& op, const Arg& arg, int rank);
// a and b have the same shape.
void check_same_shape(const OpName& op, const Arg& a, const Arg& b);
// Aliasing of outputs. Elementwise and row-wise ops may write in place: an output may be exactly
// one of its inputs (same bytes), but must not partly overlap one, which would let a write land
// on an element not yet read.
void check_in_place_or_disjoint(const OpName& op, const Arg& out, std::initializer_list<Arg> inputs);
// Outputs that are accumulated or read back (sums, GEMM results) must not overlap these at all.
void check_disjoint(const OpName& op, const Arg& out, std::initializer_list<Arg> others);

// BLAS takes 32-bit sizes: every named size must fit, else ValueError (never a truncated GEMM).
void check_blas_sizes(const OpName& op, std::initializer_list<std::pair<std::string_view, std::int64_t>> sizes,
                      std::initializer_list<Arg> context);

// An enum argument holds one of its `count` values (a cast from a bad integer would otherwise
// reach a kernel's switch and write nothing).
void check_kind(const OpName& op, std::string_view what, int value, int count);
template <class Enum>
void check_kind(const OpName& op, std::string_view what, Enum value, int count) {
  check_kind(op, what, static_cast<int>(value), count);
}

// The constants an activation runs with: those of params, the kind's defaults where NaN. ValueError
// naming the op for an infinite constant, Hardtanh's min_val >= max_val, a Softplus beta of 0.
ActivationConstants resolve_constants(const OpName& op, Activation kind, ActivationParams params);

[[noreturn]] void throw_shape(const OpName& op, const std::string& what,
                              std::initializer_list<Arg> args);

}  // namespace axon::detail
