// Recurrent cells: the elementwise half of one LSTM step (the gates' products are GEMMs).
#include "axon/backend.h"
#include "axon/ops.h"
#include "core/src/check.h"
#include "core/src/dispatch.h"

namespace axon {

namespace {

// The hidden size H of gates [N, 4H], with state [N, H] checked against it.
std::int64_t lstm_hidden(const detail::OpName& op, const Tensor& gates, std::initializer_list<detail::Arg> states) {
  detail::check_rank(op, {"gates", &gates}, 2);
  if (gates.dim(1) % 4 != 0) {
    detail::throw_shape(op, "gates must have 4 H columns (the i, f, g, o blocks)", {{"gates", &gates}});
  }
  const std::int64_t hidden = gates.dim(1) / 4;
  for (const detail::Arg& state : states) detail::check_shape(op, state, Shape{gates.dim(0), hidden}, {{"gates", &gates}});
  return hidden;
}

}  // namespace

void lstm_cell_out(const Tensor& gates, const Tensor& c_prev, const Tensor& c, const Tensor& h) {
  constexpr const char* kOp = "lstm_cell";
  const Device device = detail::check_same_device(kOp, {{"gates", &gates}, {"c_prev", &c_prev}, {"c", &c}, {"h", &h}});
  detail::check_dtype(kOp, {{"gates", &gates}, {"c_prev", &c_prev}, {"c", &c}, {"h", &h}}, DType::kFloat32);
  lstm_hidden(kOp, gates, {{"c_prev", &c_prev}, {"c", &c}, {"h", &h}});
  detail::check_in_place_or_disjoint(kOp, {"c", &c}, {{"c_prev", &c_prev}});
  detail::check_disjoint(kOp, {"c", &c}, {{"gates", &gates}});
  detail::check_disjoint(kOp, {"h", &h}, {{"gates", &gates}, {"c_prev", &c_prev}, {"c", &c}});
  detail::check_disjoint(kOp, {"gates", &gates}, {{"c_prev", &c_prev}});
  if (gates.numel() == 0) return;
  detail::op_backend(device).lstm_cell(gates, c_prev, c, h);
}

void lstm_cell_backward_out(const Tensor& gates, const Tensor& c_prev, const Tensor& c, const Tensor& grad_h,
                            const Tensor& grad_c, const Tensor& grad_gates, const Tensor& grad_c_prev) {
  constexpr const char* kOp = "lstm_cell_backward";
  const Device device = detail::check_same_device(kOp, {{"gates", &gates}, {"c_prev", &c_prev}, {"c", &c}, {"grad_h", &grad_h},
                                                        {"grad_gates", &grad_gates}, {"grad_c_prev", &grad_c_prev}});
  detail::check_dtype(kOp, {{"gates", &gates}, {"c_prev", &c_prev}, {"c", &c}, {"grad_h", &grad_h}, {"grad_gates", &grad_gates},
                            {"grad_c_prev", &grad_c_prev}},
                      DType::kFloat32);
  lstm_hidden(kOp, gates, {{"c_prev", &c_prev}, {"c", &c}, {"grad_h", &grad_h}, {"grad_c_prev", &grad_c_prev}});
  detail::check_shape(kOp, {"grad_gates", &grad_gates}, gates.shape(), {{"gates", &gates}});
  if (grad_c.defined()) {
    detail::check_same_device(kOp, {{"gates", &gates}, {"grad_c", &grad_c}});
    detail::check_dtype(kOp, {"grad_c", &grad_c}, DType::kFloat32);
    detail::check_shape(kOp, {"grad_c", &grad_c}, c.shape(), {{"c", &c}});
    detail::check_in_place_or_disjoint(kOp, {"grad_c_prev", &grad_c_prev}, {{"grad_c", &grad_c}});
    detail::check_disjoint(kOp, {"grad_gates", &grad_gates}, {{"grad_c", &grad_c}});
  }
  // Each (row, unit) reads its four gates and writes their gradients: in place is safe.
  detail::check_in_place_or_disjoint(kOp, {"grad_gates", &grad_gates}, {{"gates", &gates}});
  detail::check_disjoint(kOp, {"grad_gates", &grad_gates}, {{"c_prev", &c_prev}, {"c", &c}, {"grad_h", &grad_h}, {"grad_c_prev", &grad_c_prev}});
  detail::check_disjoint(kOp, {"grad_c_prev", &grad_c_prev}, {{"gates", &gates}, {"c_prev", &c_prev}, {"c", &c}, {"grad_h", &grad_h}});
  if (gates.numel() == 0) return;
  detail::op_backend(device).lstm_cell_backward(gates, c_prev, c, grad_h, grad_c, grad_gates, grad_c_prev);
}

}  // namespace axon
