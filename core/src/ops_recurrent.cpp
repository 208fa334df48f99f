// Recurrent cells: the elementwise half of one LSTM or GRU step (the gates' products are GEMMs).
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

// The hidden size H of GRU gates [N, 3H], with the other gates and states checked against it.
std::int64_t gru_hidden(const detail::OpName& op, const Tensor& gates_x, std::initializer_list<detail::Arg> gates,
                        std::initializer_list<detail::Arg> states) {
  detail::check_rank(op, {"gates_x", &gates_x}, 2);
  if (gates_x.dim(1) % 3 != 0) {
    detail::throw_shape(op, "gates_x must have 3 H columns (the r, z, n blocks)", {{"gates_x", &gates_x}});
  }
  const std::int64_t hidden = gates_x.dim(1) / 3;
  for (const detail::Arg& g : gates) detail::check_shape(op, g, gates_x.shape(), {{"gates_x", &gates_x}});
  for (const detail::Arg& state : states) detail::check_shape(op, state, Shape{gates_x.dim(0), hidden}, {{"gates_x", &gates_x}});
  return hidden;
}

}  // namespace

void gru_cell_out(const Tensor& gates_x, const Tensor& gates_h, const Tensor& h_prev, const Tensor& h) {
  constexpr const char* kOp = "gru_cell";
  const std::initializer_list<detail::Arg> all{{"gates_x", &gates_x}, {"gates_h", &gates_h}, {"h_prev", &h_prev}, {"h", &h}};
  const Device device = detail::check_same_device(kOp, all);
  detail::check_dtype(kOp, all, DType::kFloat32);
  gru_hidden(kOp, gates_x, {{"gates_h", &gates_h}}, {{"h_prev", &h_prev}, {"h", &h}});
  detail::check_in_place_or_disjoint(kOp, {"h", &h}, {{"h_prev", &h_prev}});
  detail::check_disjoint(kOp, {"h", &h}, {{"gates_x", &gates_x}, {"gates_h", &gates_h}});
  detail::check_disjoint(kOp, {"gates_x", &gates_x}, {{"gates_h", &gates_h}, {"h_prev", &h_prev}});
  if (gates_x.numel() == 0) return;
  detail::op_backend(device).gru_cell(gates_x, gates_h, h_prev, h);
}

void gru_cell_backward_out(const Tensor& gates_x, const Tensor& gates_h, const Tensor& h_prev, const Tensor& grad_h,
                           const Tensor& grad_gates_x, const Tensor& grad_gates_h, const Tensor& grad_h_prev) {
  constexpr const char* kOp = "gru_cell_backward";
  const std::initializer_list<detail::Arg> all{{"gates_x", &gates_x},           {"gates_h", &gates_h},
                                               {"h_prev", &h_prev},             {"grad_h", &grad_h},
                                               {"grad_gates_x", &grad_gates_x}, {"grad_gates_h", &grad_gates_h},
                                               {"grad_h_prev", &grad_h_prev}};
  const Device device = detail::check_same_device(kOp, all);
  detail::check_dtype(kOp, all, DType::kFloat32);
  gru_hidden(kOp, gates_x, {{"gates_h", &gates_h}, {"grad_gates_x", &grad_gates_x}, {"grad_gates_h", &grad_gates_h}},
             {{"h_prev", &h_prev}, {"grad_h", &grad_h}, {"grad_h_prev", &grad_h_prev}});
  // Each (row, unit) reads its own gates and writes their gradients: these in place are safe.
  detail::check_in_place_or_disjoint(kOp, {"grad_gates_x", &grad_gates_x}, {{"gates_x", &gates_x}});
  detail::check_in_place_or_disjoint(kOp, {"grad_gates_h", &grad_gates_h}, {{"gates_h", &gates_h}});
  detail::check_in_place_or_disjoint(kOp, {"grad_h_prev", &grad_h_prev}, {{"grad_h", &grad_h}});
  detail::check_disjoint(kOp, {"grad_gates_x", &grad_gates_x},
                         {{"gates_h", &gates_h}, {"h_prev", &h_prev}, {"grad_h", &grad_h}, {"grad_gates_h", &grad_gates_h},
                          {"grad_h_prev", &grad_h_prev}});
  detail::check_disjoint(kOp, {"grad_gates_h", &grad_gates_h},
                         {{"gates_x", &gates_x}, {"h_prev", &h_prev}, {"grad_h", &grad_h}, {"grad_h_prev", &grad_h_prev}});
  detail::check_disjoint(kOp, {"grad_h_prev", &grad_h_prev}, {{"gates_x", &gates_x}, {"gates_h", &gates_h}, {"h_prev", &h_prev}});
  if (gates_x.numel() == 0) return;
  detail::op_backend(device).gru_cell_backward(gates_x, gates_h, h_prev, grad_h, grad_gates_x, grad_gates_h, grad_h_prev);
}

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
