// The LSTM cell ops (lstm_cell_out, lstm_cell_backward_out) on the CPU against a double
// reference of PyTorch's cell (gate blocks i, f, g, o), the backward against central finite
// differences of that reference, the in-place forms against the separate ones bit for bit, and
// the refusals. (CUDA against the CPU: tests/cuda/backend_ops_test.cpp.)
#include <cmath>

#include "test_util.h"

namespace {

using axon::Shape;
using axon::Tensor;
using axon_test::near_ref;

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

struct Step {
  std::vector<double> c, h, activated;  // activated: [rows, 4 hidden], as the op leaves gates
};

// One step in double: a [rows, 4 hidden] pre-activations, c_prev [rows, hidden].
Step reference(const std::vector<double>& a, const std::vector<double>& c_prev, std::int64_t rows, std::int64_t hidden) {
  Step s{std::vector<double>(c_prev.size()), std::vector<double>(c_prev.size()), a};
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t j = 0; j < hidden; ++j) {
      const auto at = [&](int gate) { return static_cast<std::size_t>(r * 4 * hidden + gate * hidden + j); };
      const double i = sigmoid(a[at(0)]), f = sigmoid(a[at(1)]), g = std::tanh(a[at(2)]), o = sigmoid(a[at(3)]);
      const auto k = static_cast<std::size_t>(r * hidden + j);
      s.c[k] = f * c_prev[k] + i * g;
      s.h[k] = o * std::tanh(s.c[k]);
      s.activated[at(0)] = i, s.activated[at(1)] = f, s.activated[at(2)] = g, s.activated[at(3)] = o;
    }
  }
  return s;
}

std::vector<double> as_doubles(const std::vector<float>& v) { return {v.begin(), v.end()}; }

const std::vector<std::pair<std::int64_t, std::int64_t>> kShapes{{1, 1}, {3, 5}, {17, 33}, {64, 128}};

TEST(LstmCell, ForwardMatchesTheDoubleReference) {
  for (const auto& [rows, hidden] : kShapes) {
    SCOPED_TRACE(std::to_string(rows) + "x" + std::to_string(hidden));
    const auto a = axon_test::random_floats(static_cast<std::size_t>(rows * 4 * hidden), -4.0f, 4.0f, 1);
    const auto c_prev = axon_test::random_floats(static_cast<std::size_t>(rows * hidden), -2.0f, 2.0f, 2);
    const Step want = reference(as_doubles(a), as_doubles(c_prev), rows, hidden);
    const Tensor gates = axon_test::tensor_from({rows, 4 * hidden}, a);
    const Tensor c_in = axon_test::tensor_from({rows, hidden}, c_prev);
    const Tensor c = Tensor::empty({rows, hidden}), h = Tensor::empty({rows, hidden});
    axon::lstm_cell_out(gates, c_in, c, h);
    EXPECT_TRUE(near_ref(c, want.c, 1e-6, 1e-6)) << "c";
    EXPECT_TRUE(near_ref(h, want.h, 1e-6, 1e-6)) << "h";
    EXPECT_TRUE(near_ref(gates, want.activated, 1e-6, 1e-7)) << "activated gates";
    // c written over c_prev: the same bits.
    const Tensor gates2 = axon_test::tensor_from({rows, 4 * hidden}, a);
    const Tensor c_over = axon_test::tensor_from({rows, hidden}, c_prev), h2 = Tensor::empty({rows, hidden});
    axon::lstm_cell_out(gates2, c_over, c_over, h2);
    EXPECT_EQ(c_over.to_vector(), c.to_vector());
    EXPECT_EQ(h2.to_vector(), h.to_vector());
  }
}

// L = sum(w_h * h) + sum(w_c * c) of one step: its gradients by the op (grad_h = w_h, the next
// step's grad_c = w_c) against central differences of the double reference.
TEST(LstmCell, BackwardMatchesFiniteDifferences) {
  for (const auto& [rows, hidden] : kShapes) {
    if (rows * hidden > 600) continue;  // (finite differences cost two steps per input)
    SCOPED_TRACE(std::to_string(rows) + "x" + std::to_string(hidden));
    const std::size_t n_gates = static_cast<std::size_t>(rows * 4 * hidden), n = static_cast<std::size_t>(rows * hidden);
    const auto a = as_doubles(axon_test::random_floats(n_gates, -3.0f, 3.0f, 3));
    const auto c_prev = as_doubles(axon_test::random_floats(n, -2.0f, 2.0f, 4));
    const auto w_h = as_doubles(axon_test::random_floats(n, -1.0f, 1.0f, 5));
    const auto w_c = as_doubles(axon_test::random_floats(n, -1.0f, 1.0f, 6));
    const auto loss = [&](const std::vector<double>& gates_in, const std::vector<double>& c_in) {
      const Step s = reference(gates_in, c_in, rows, hidden);
      double total = 0.0;
      for (std::size_t k = 0; k < n; ++k) total += w_h[k] * s.h[k] + w_c[k] * s.c[k];
      return total;
    };
    const auto want_gates = axon_test::fd_gradient([&](const std::vector<double>& g) { return loss(g, c_prev); }, a);
    const auto want_c_prev = axon_test::fd_gradient([&](const std::vector<double>& c) { return loss(a, c); }, c_prev);

    const Tensor gates = axon_test::tensor_from({rows, 4 * hidden}, a);
    const Tensor c_in = axon_test::tensor_from({rows, hidden}, c_prev);
    const Tensor c = Tensor::empty({rows, hidden}), h = Tensor::empty({rows, hidden});
    axon::lstm_cell_out(gates, c_in, c, h);
    const Tensor grad_h = axon_test::tensor_from({rows, hidden}, w_h), grad_c = axon_test::tensor_from({rows, hidden}, w_c);
    const Tensor grad_gates = Tensor::empty({rows, 4 * hidden}), grad_c_prev = Tensor::empty({rows, hidden});
    axon::lstm_cell_backward_out(gates, c_in, c, grad_h, grad_c, grad_gates, grad_c_prev);
    EXPECT_TRUE(near_ref(grad_gates, want_gates, 1e-4, 1e-6)) << "the gates' gradients";
    EXPECT_TRUE(near_ref(grad_c_prev, want_c_prev, 1e-4, 1e-6)) << "c_prev's gradient";

    // In place (grad_gates over gates, grad_c_prev over grad_c): the same bits.
    const Tensor gates_copy = gates.clone(), grad_c_copy = grad_c.clone();
    axon::lstm_cell_backward_out(gates_copy, c_in, c, grad_h, grad_c_copy, gates_copy, grad_c_copy);
    EXPECT_EQ(gates_copy.to_vector(), grad_gates.to_vector());
    EXPECT_EQ(grad_c_copy.to_vector(), grad_c_prev.to_vector());

    // The last step (no grad_c) is the step with grad_c = 0.
    const Tensor last_gates = Tensor::empty({rows, 4 * hidden}), last_c_prev = Tensor::empty({rows, hidden});
    axon::lstm_cell_backward_out(gates, c_in, c, grad_h, Tensor(), last_gates, last_c_prev);
    const Tensor zero_gates = Tensor::empty({rows, 4 * hidden}), zero_c_prev = Tensor::empty({rows, hidden});
    axon::lstm_cell_backward_out(gates, c_in, c, grad_h, Tensor::zeros({rows, hidden}), zero_gates, zero_c_prev);
    EXPECT_EQ(last_gates.to_vector(), zero_gates.to_vector());
    EXPECT_EQ(last_c_prev.to_vector(), zero_c_prev.to_vector());
  }
}

TEST(LstmCell, RefusesShapesThatDoNotFitAndOverlaps) {
  const Tensor gates = Tensor::zeros({4, 12}), c_prev = Tensor::zeros({4, 3}), c = Tensor::zeros({4, 3}), h = Tensor::zeros({4, 3});
  axon_test::expect_error<axon::ShapeError>([&] { axon::lstm_cell_out(Tensor::zeros({4, 10}), c_prev, c, h); },
                                            {"lstm_cell", "4 H columns", "[4, 10]"});
  axon_test::expect_error<axon::ShapeError>([&] { axon::lstm_cell_out(gates, Tensor::zeros({4, 4}), c, h); },
                                            {"lstm_cell", "c_prev", "[4, 4]"});
  axon_test::expect_error<axon::ShapeError>([&] { axon::lstm_cell_out(gates, c_prev, c, Tensor::zeros({3, 3})); },
                                            {"lstm_cell", "h"});
  axon_test::expect_error<axon::Error>([&] { axon::lstm_cell_out(gates, c_prev, c, c); }, {"lstm_cell", "h"});
  axon_test::expect_error<axon::DTypeError>(
      [&] { axon::lstm_cell_out(gates, c_prev, c, Tensor::zeros({4, 3}, axon::Device::cpu(), axon::DType::kInt32)); },
      {"lstm_cell", "h"});
  const Tensor grad = Tensor::zeros({4, 3}), grad_gates = Tensor::zeros({4, 12});
  axon_test::expect_error<axon::ShapeError>(
      [&] { axon::lstm_cell_backward_out(gates, c_prev, c, grad, Tensor::zeros({4, 2}), grad_gates, Tensor::zeros({4, 3})); },
      {"lstm_cell_backward", "grad_c"});
  axon_test::expect_error<axon::Error>(
      [&] { axon::lstm_cell_backward_out(gates, c_prev, c, grad, Tensor(), grad_gates, grad); },
      {"lstm_cell_backward", "grad_c_prev"});
  // Empty batches run nothing.
  axon::lstm_cell_out(Tensor::zeros({0, 12}), Tensor::zeros({0, 3}), Tensor::zeros({0, 3}), Tensor::zeros({0, 3}));
}

}  // namespace
