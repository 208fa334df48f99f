// Elementwise ops and fills.
#include <cmath>

#include "axon/backend.h"
#include "axon/ops.h"
#include "core/src/check.h"
#include "core/src/dispatch.h"

namespace axon {

void binary_out(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  detail::check_kind("binary_out", "binary op", op, kBinaryOpCount);
  const std::string_view name = binary_name(op);
  const Device device = detail::check_same_device(name, {{"a", &a}, {"b", &b}, {"out", &out}});
  detail::check_dtype(name, {{"a", &a}, {"b", &b}, {"out", &out}}, DType::kFloat32);
  detail::check_same_shape(name, {"a", &a}, {"b", &b});
  detail::check_shape(name, {"out", &out}, a.shape(), {{"a", &a}, {"b", &b}});
  detail::check_in_place_or_disjoint(name, {"out", &out}, {{"a", &a}, {"b", &b}});
  if (out.numel() == 0) return;
  detail::op_backend(device).binary(op, a, b, out);
}

namespace {
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  const std::string_view name = binary_name(op);
  detail::check_same_device(name, {{"a", &a}, {"b", &b}});
  detail::check_same_shape(name, {"a", &a}, {"b", &b});
  Tensor out = Tensor::empty(a.shape(), a.device());
  binary_out(op, a, b, out);
  return out;
}
}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return binary(BinaryOp::kAdd, a, b); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary(BinaryOp::kSub, a, b); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary(BinaryOp::kMul, a, b); }

void scale_out(const Tensor& x, float alpha, const Tensor& out) {
  const Device device = detail::check_same_device("scale", {{"x", &x}, {"out", &out}});
  detail::check_dtype("scale", {{"x", &x}, {"out", &out}}, DType::kFloat32);
  detail::check_shape("scale", {"out", &out}, x.shape(), {{"x", &x}});
  detail::check_in_place_or_disjoint("scale", {"out", &out}, {{"x", &x}});
  if (out.numel() == 0) return;
  detail::op_backend(device).scale(x, alpha, out);
}

Tensor scale(const Tensor& x, float alpha) {
  detail::check_same_device("scale", {{"x", &x}});
  Tensor out = Tensor::empty(x.shape(), x.device());
  scale_out(x, alpha, out);
  return out;
}

void axpy(float alpha, const Tensor& x, const Tensor& y) {
  const Device device = detail::check_same_device("axpy", {{"x", &x}, {"y", &y}});
  detail::check_dtype("axpy", {{"x", &x}, {"y", &y}}, DType::kFloat32);
  detail::check_same_shape("axpy", {"x", &x}, {"y", &y});
  detail::check_in_place_or_disjoint("axpy", {"y", &y}, {{"x", &x}});
  if (y.numel() == 0) return;
  detail::op_backend(device).axpy(alpha, x, y);
}

void fill(const Tensor& out, float value) {
  const Device device = detail::check_same_device("fill", {{"out", &out}});
  // An int32 fill casts the value (toward zero): it must be a number int32 can hold.
  if (out.dtype() == DType::kInt32 && !(value >= -2147483648.0f && value < 2147483648.0f)) {
    throw ValueError("axon::fill: " + std::to_string(value) + " does not fit the int32 tensor " + out.describe());
  }
  if (out.numel() == 0) return;
  detail::op_backend(device).fill(out, value);
}

void fill_uniform(const Tensor& out, float low, float high, Generator& generator) {
  const Device device = detail::check_same_device("fill_uniform", {{"out", &out}});
  detail::check_dtype("fill_uniform", {"out", &out}, DType::kFloat32);
  if (!std::isfinite(low) || !std::isfinite(high) || !(low <= high) || !std::isfinite(high - low)) {
    throw ValueError("axon::fill_uniform: needs finite low <= high with a finite high - low, got low=" +
                     std::to_string(low) +
                     ", high=" + std::to_string(high));
  }
  const PhiloxSlice slice = generator.take(out.numel());
  if (out.numel() == 0) return;
  detail::op_backend(device).fill_uniform(out, low, high, slice);
}

void fill_normal(const Tensor& out, float mean, float stddev, Generator& generator) {
  const Device device = detail::check_same_device("fill_normal", {{"out", &out}});
  detail::check_dtype("fill_normal", {"out", &out}, DType::kFloat32);
  if (!std::isfinite(mean) || !std::isfinite(stddev) || stddev < 0.0f) {
    throw ValueError("axon::fill_normal: needs a finite mean and stddev >= 0, got mean=" +
                     std::to_string(mean) + ", stddev=" + std::to_string(stddev));
  }
  const PhiloxSlice slice = generator.take(out.numel());
  if (out.numel() == 0) return;
  detail::op_backend(device).fill_normal(out, mean, stddev, slice);
}

void synchronize(Device device) {
  detail::count(detail::backend_counters().host_waits);
  detail::backend_of(device).synchronize();
}

}  // namespace axon
