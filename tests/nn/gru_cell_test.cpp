// The GRU cell ops (gru_cell_out, gru_cell_backward_out) on the CPU against a double reference
// of PyTorch's cell (gate blocks r, z, n; the reset gate on the hidden product with its bias),
// the backward against central finite differences of that reference, the in-place forms against
// the separate ones bit for bit, and the refusals. (CUDA against the CPU:
// tests/cuda/backend_ops_test.cpp.)
#include <cmath>

#include "test_util.h"

namespace {

using axon::Tensor;
using axon_test::near_ref;

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

struct Step {
  std::vector<double> h, activated;  // activated: [rows, 3 hidden], as the op leaves gates_x
};

// One step in double: gx, gh [rows, 3 hidden] (the input and hidden products), h_prev [rows, hidden].
Step reference(const std::vector<double>& gx, const std::vector<double>& gh, const std::vector<double>& h_prev,
               std::int64_t rows, std::int64_t hidden) {
  Step s{std::vector<double>(h_prev.size()), gx};
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t j = 0; j < hidden; ++j) {
      const auto at = [&](int gate) { return static_cast<std::size_t>(r * 3 * hidden + gate * hidden + j); };
      const double reset = sigmoid(gx[at(0)] + gh[at(0)]), update = sigmoid(gx[at(1)] + gh[at(1)]);
      const double candidate = std::tanh(gx[at(2)] + reset * gh[at(2)]);
      const auto k = static_cast<std::size_t>(r * hidden + j);
      s.h[k] = (1.0 - update) * candidate + update * h_prev[k];
      s.activated[at(0)] = reset, s.activated[at(1)] = update, s.activated[at(2)] = candidate;
    }
  }
  return s;
}

std::vector<double> as_doubles(const std::vector<float>& v) { return {v.begin(), v.end()}; }

const std::vector<std::pair<std::int64_t, std::int64_t>> kShapes{{1, 1}, {3, 5}, {17, 33}, {64, 128}};

TEST(GruCell, ForwardMatchesTheDoubleReference) {
  for (const auto& [rows, hidden] : kShapes) {
    SCOPED_TRACE(std::to_string(rows) + "x" + std::to_string(hidden));
    const std::size_t g = static_cast<std::size_t>(rows * 3 * hidden), n = static_cast<std::size_t>(rows * hidden);
    const auto gx = axon_test::random_floats(g, -3.0f, 3.0f, 1);
    const auto gh = axon_test::random_floats(g, -3.0f, 3.0f, 2);
    const auto h_prev = axon_test::random_floats(n, -1.0f, 1.0f, 3);
    const Step want = reference(as_doubles(gx), as_doubles(gh), as_doubles(h_prev), rows, hidden);
    const Tensor gates_x = axon_test::tensor_from({rows, 3 * hidden}, gx);
    const Tensor gates_h = axon_test::tensor_from({rows, 3 * hidden}, gh);
    const Tensor h_in = axon_test::tensor_from({rows, hidden}, h_prev), h = Tensor::empty({rows, hidden});
    axon::gru_cell_out(gates_x, gates_h, h_in, h);
    EXPECT_TRUE(near_ref(h, want.h, 1e-6, 1e-6)) << "h";
    // (n = tanh(x_n + r h_n) rounds the sum in float: absolute errors of ~1e-7 where it cancels)
    EXPECT_TRUE(near_ref(gates_x, want.activated, 1e-6, 1e-6)) << "activated gates";
    EXPECT_EQ(gates_h.to_vector(), gh) << "the hidden product is read, not written";
    // h written over h_prev: the same bits.
    const Tensor gates_x2 = axon_test::tensor_from({rows, 3 * hidden}, gx);
    const Tensor h_over = axon_test::tensor_from({rows, hidden}, h_prev);
    axon::gru_cell_out(gates_x2, gates_h, h_over, h_over);
    EXPECT_EQ(h_over.to_vector(), h.to_vector());
  }
}

// L = sum(w * h) of one step: its gradients by the op (grad_h = w) against central differences
// of the double reference — of the input product, the hidden product and h_prev (whose
// gradient is the op's direct part plus the hidden product's, which the layer's GEMM carries
// on; here the hidden product is an input of its own).
TEST(GruCell, BackwardMatchesFiniteDifferences) {
  for (const auto& [rows, hidden] : kShapes) {
    if (rows * hidden > 600) continue;  // (finite differences cost two steps per input)
    SCOPED_TRACE(std::to_string(rows) + "x" + std::to_string(hidden));
    const std::size_t g = static_cast<std::size_t>(rows * 3 * hidden), n = static_cast<std::size_t>(rows * hidden);
    const auto gx = as_doubles(axon_test::random_floats(g, -2.5f, 2.5f, 4));
    const auto gh = as_doubles(axon_test::random_floats(g, -2.5f, 2.5f, 5));
    const auto h_prev = as_doubles(axon_test::random_floats(n, -1.0f, 1.0f, 6));
    const auto w = as_doubles(axon_test::random_floats(n, -1.0f, 1.0f, 7));
    const auto loss = [&](const std::vector<double>& x_in, const std::vector<double>& h_gates, const std::vector<double>& h_in) {
      const Step s = reference(x_in, h_gates, h_in, rows, hidden);
      double total = 0.0;
      for (std::size_t k = 0; k < n; ++k) total += w[k] * s.h[k];
      return total;
    };
    const auto want_x = axon_test::fd_gradient([&](const std::vector<double>& v) { return loss(v, gh, h_prev); }, gx);
    const auto want_h = axon_test::fd_gradient([&](const std::vector<double>& v) { return loss(gx, v, h_prev); }, gh);
    const auto want_prev = axon_test::fd_gradient([&](const std::vector<double>& v) { return loss(gx, gh, v); }, h_prev);

    const Tensor gates_x = axon_test::tensor_from({rows, 3 * hidden}, gx), gates_h = axon_test::tensor_from({rows, 3 * hidden}, gh);
    const Tensor h_in = axon_test::tensor_from({rows, hidden}, h_prev), h = Tensor::empty({rows, hidden});
    axon::gru_cell_out(gates_x, gates_h, h_in, h);
    const Tensor grad_h = axon_test::tensor_from({rows, hidden}, w);
    const Tensor grad_x = Tensor::empty({rows, 3 * hidden}), grad_gh = Tensor::empty({rows, 3 * hidden});
    const Tensor grad_prev = Tensor::empty({rows, hidden});
    axon::gru_cell_backward_out(gates_x, gates_h, h_in, grad_h, grad_x, grad_gh, grad_prev);
    EXPECT_TRUE(near_ref(grad_x, want_x, 1e-4, 1e-6)) << "the input product's gradients";
    EXPECT_TRUE(near_ref(grad_gh, want_h, 1e-4, 1e-6)) << "the hidden product's gradients";
    EXPECT_TRUE(near_ref(grad_prev, want_prev, 1e-4, 1e-6)) << "h_prev's direct gradient";

    // In place (over gates_x, gates_h and grad_h): the same bits.
    const Tensor x_copy = gates_x.clone(), h_copy = gates_h.clone(), dh_copy = grad_h.clone();
    axon::gru_cell_backward_out(x_copy, h_copy, h_in, dh_copy, x_copy, h_copy, dh_copy);
    EXPECT_EQ(x_copy.to_vector(), grad_x.to_vector());
    EXPECT_EQ(h_copy.to_vector(), grad_gh.to_vector());
    EXPECT_EQ(dh_copy.to_vector(), grad_prev.to_vector());
  }
}

TEST(GruCell, RefusesShapesThatDoNotFitAndOverlaps) {
  const Tensor gx = Tensor::zeros({4, 9}), gh = Tensor::zeros({4, 9}), h_prev = Tensor::zeros({4, 3}), h = Tensor::zeros({4, 3});
  axon_test::expect_error<axon::ShapeError>([&] { axon::gru_cell_out(Tensor::zeros({4, 10}), gh, h_prev, h); },
                                            {"gru_cell", "3 H columns", "[4, 10]"});
  axon_test::expect_error<axon::ShapeError>([&] { axon::gru_cell_out(gx, Tensor::zeros({4, 6}), h_prev, h); },
                                            {"gru_cell", "gates_h", "[4, 6]"});
  axon_test::expect_error<axon::ShapeError>([&] { axon::gru_cell_out(gx, gh, Tensor::zeros({4, 4}), h); }, {"gru_cell", "h_prev"});
  axon_test::expect_error<axon::Error>([&] { axon::gru_cell_out(gx, gx, h_prev, h); }, {"gru_cell", "gates"});
  axon_test::expect_error<axon::DTypeError>(
      [&] { axon::gru_cell_out(gx, gh, h_prev, Tensor::zeros({4, 3}, axon::Device::cpu(), axon::DType::kInt32)); },
      {"gru_cell", "h"});
  const Tensor grad = Tensor::zeros({4, 3});
  axon_test::expect_error<axon::ShapeError>(
      [&] { axon::gru_cell_backward_out(gx, gh, h_prev, grad, Tensor::zeros({4, 6}), Tensor::zeros({4, 9}), Tensor::zeros({4, 3})); },
      {"gru_cell_backward", "grad_gates_x"});
  axon_test::expect_error<axon::Error>(
      [&] { axon::gru_cell_backward_out(gx, gh, h_prev, grad, gh, gh, Tensor::zeros({4, 3})); },
      {"gru_cell_backward", "grad_gates_x"});
  // Empty batches run nothing.
  axon::gru_cell_out(Tensor::zeros({0, 9}), Tensor::zeros({0, 9}), Tensor::zeros({0, 3}), Tensor::zeros({0, 3}));
}

}  // namespace
