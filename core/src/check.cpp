#include "core/src/check.h"

namespace axon::detail {

std::string prefix(const OpName& op) { return "axon::" + op.str() + ": "; }

std::string describe(std::initializer_list<Arg> args) {
  std::string text;
  for (const auto& [name, tensor] : args) {
    if (!text.empty()) text += ", ";
    text += std::string(name) + " " + (tensor->defined() ? tensor->describe() : "(undefined)");
  }
  return text;
}

Device check_same_device(const OpName& op, std::initializer_list<Arg> args) {
  for (const auto& [name, tensor] : args) {
    if (!tensor->defined()) {
      throw ValueError(prefix(op) + "argument " + std::string(name) +
                       " is an undefined tensor");
    }
  }
  const Device device = args.begin()->second->device();
  for (const auto& arg : args) {
    if (arg.second->device() != device) {
      throw DeviceError(prefix(op) + "tensors are on different devices: " +
                        describe(args));
    }
  }
  return device;
}

void check_same_device_where_defined(const OpName& op, const Arg& on, std::initializer_list<Arg> optional) {
  for (const Arg& arg : optional) {
    if (arg.second->defined() && arg.second->device() != on.second->device()) check_same_device(op, {on, arg});
  }
}

void check_dtype(const OpName& op, const Arg& arg, DType dtype) {
  if (arg.second->dtype() != dtype) {
    throw DTypeError(prefix(op) + std::string(arg.first) + " must be " +
                     std::string(dtype_name(dtype)) + ", got " + arg.second->describe());
  }
}

void check_dtype(const OpName& op, std::initializer_list<Arg> args, DType dtype) {
  for (const Arg& arg : args) check_dtype(op, arg, dtype);
}

void throw_shape(const OpName& op, const std::string& what, std::initializer_list<Arg> args) {
  throw ShapeError(prefix(op) + what + " (" + describe(args) + ")");
}

void check_shape(const OpName& op, const Arg& arg, const Shape& expected,
                 std::initializer_list<Arg> context) {
  if (arg.second->shape() != expected) {
    throw ShapeError(prefix(op) + std::string(arg.first) + " must have shape " +
                     expected.str() + ", got " + arg.second->shape().str() + " (" +
                     describe(context) + ")");
  }
}

void check_rank(const OpName& op, const Arg& arg, int rank) {
  if (arg.second->rank() != rank) {
    throw ShapeError(prefix(op) + std::string(arg.first) + " must be " +
                     std::to_string(rank) + "-D, got " + arg.second->describe());
  }
}

void check_min_rank(const OpName& op, const Arg& arg, int rank) {
  if (arg.second->rank() < rank) {
    throw ShapeError(prefix(op) + std::string(arg.first) +
                     " must have at least " + std::to_string(rank) + " dimension(s), got " +
                     arg.second->describe());
  }
}

void check_in_place_or_disjoint(const OpName& op, const Arg& out, std::initializer_list<Arg> inputs) {
  for (const Arg& input : inputs) {
    if (out.second->overlaps(*input.second) && !out.second->same_memory(*input.second)) {
      throw ValueError(prefix(op) + std::string(out.first) + " partly overlaps " +
                       std::string(input.first) + " (an output may be exactly an input, or disjoint from it)");
    }
  }
}

void check_disjoint(const OpName& op, const Arg& out, std::initializer_list<Arg> others) {
  for (const Arg& other : others) {
    if (out.second->overlaps(*other.second)) {
      throw ValueError(prefix(op) + std::string(out.first) + " must not overlap " +
                       std::string(other.first) + " in memory");
    }
  }
}

void check_blas_sizes(const OpName& op, std::initializer_list<std::pair<std::string_view, std::int64_t>> sizes,
                      std::initializer_list<Arg> context) {
  constexpr std::int64_t kLimit = 2147483647;  // INT_MAX: BLAS's int
  for (const auto& [name, value] : sizes) {
    if (value > kLimit) {
      throw ValueError(prefix(op) + std::string(name) + " = " + std::to_string(value) +
                       " exceeds BLAS's 32-bit limit of " + std::to_string(kLimit) + " (" + describe(context) + ")");
    }
  }
}

void check_kind(const OpName& op, std::string_view what, int value, int count) {
  if (value < 0 || value >= count) {
    throw ValueError(prefix(op) + std::string(what) + " " + std::to_string(value) +
                     " is not one of the " + std::to_string(count) + " defined values");
  }
}

void check_same_shape(const OpName& op, const Arg& a, const Arg& b) {
  if (a.second->shape() != b.second->shape()) {
    throw_shape(op, std::string(a.first) + " and " + std::string(b.first) + " must have the same shape",
                {a, b});
  }
}

}  // namespace axon::detail
