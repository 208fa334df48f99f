// The cross-backend test: every backend op (axon::Op) run on the CPU and on cuda:0 with the same
// random inputs, the CUDA results compared against the CPU's within the op's own bound.
//
// For each op, shape and kind (activation, loss, reduction, binary op, transposes...), and for
// two placements of the CUDA tensors (16-byte aligned, which takes the float4 paths, and one
// element off, which takes the scalar paths), the test
//   * makes random inputs on the CPU (never all zero) and copies them to the device,
//   * runs the op through the public free functions (ops.h); the few ops without an `_out` form
//     are also run through the device's Backend directly, so that every kernel writes into
//     a guarded output,
//   * compares each result with the CPU's (max abs/rel error against the bound) and checks the
//     CUDA results hold no NaN or Inf,
//   * checks for out-of-bounds writes: every input and output is a view in the middle of a
//     larger buffer whose surroundings hold a sentinel that must be unchanged afterwards.
//
// Without a GPU the CUDA tests skip, unless AXON_REQUIRE_CUDA=1, which makes them fail.
// OpTable.CoversEveryOp fails when an Op is added to op_kinds.h without an entry here.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <limits>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "axon/precision.h"
#include "test_util.h"

namespace {

using axon::Activation;
using axon::BinaryOp;
using axon::Device;
using axon::DType;
using axon::LossKind;
using axon::Op;
using axon::ReduceOp;
using axon::Shape;
using axon::Tensor;

using axon_test::cuda_required;

// ---- guarded tensors ------------------------------------------------------------------------

constexpr float kSentinel = -77777.0f;  // exact in float and as an int32 after the fill's cast

// A view of `shape` in the middle of a 1-D buffer of pad + numel + pad elements.
struct Guarded {
  Tensor buffer;
  std::int64_t pad = 0;
  std::int64_t numel = 0;
  std::string what;
};

// Creates the inputs and outputs of one run on one device. Inputs come from a seeded sequence,
// so the CPU run and the CUDA run of a case see the same values.
class Env {
 public:
  Env(Device device, std::int64_t pad, std::uint32_t seed) : device_(device), pad_(pad), seed_(seed) {}

  Device device() const { return device_; }

  // Random values in [low, high) on the CPU (the next seed of the sequence).
  Tensor uniform_cpu(const Shape& shape, float low, float high) {
    const auto values = axon_test::random_floats(static_cast<std::size_t>(shape.numel()), low, high, next_seed());
    return Tensor::from_vector(shape, std::span<const float>(values));
  }
  // Small integers in [low, high] as floats: ties for max and argmax.
  Tensor small_ints_cpu(const Shape& shape, int low, int high) {
    const auto d = axon_test::random_small_ints(static_cast<std::size_t>(shape.numel()), low, high, next_seed());
    const std::vector<float> values(d.begin(), d.end());
    return Tensor::from_vector(shape, std::span<const float>(values));
  }
  Tensor labels_cpu(std::int64_t rows, int classes) {
    const auto values = axon_test::random_labels(static_cast<std::size_t>(rows), classes, next_seed());
    return Tensor::from_vector(Shape{rows}, std::span<const std::int32_t>(values));
  }

  // A copy of a CPU tensor on this device, placed as a guarded view.
  Tensor place(const Tensor& cpu, const std::string& what) {
    Tensor view = output(cpu.shape(), cpu.dtype(), what);
    view.copy_from(cpu);
    return view;
  }
  Tensor uniform(const Shape& shape, float low, float high, const std::string& what) {
    return place(uniform_cpu(shape, low, high), what);
  }

  // A guarded view whose elements hold the sentinel until the op writes them.
  Tensor output(const Shape& shape, DType dtype, const std::string& what) {
    Guarded g;
    g.pad = pad_;
    g.numel = shape.numel();
    g.what = what;
    g.buffer = Tensor::empty({pad_ + g.numel + pad_}, device_, dtype);
    axon::fill(g.buffer, kSentinel);
    Tensor view = g.buffer.rows(pad_, pad_ + g.numel).reshape(shape);
    guarded_.push_back(std::move(g));
    return view;
  }
  Tensor output(const Shape& shape, const std::string& what) { return output(shape, DType::kFloat32, what); }

  // The surroundings of every guarded view still hold the sentinel.
  ::testing::AssertionResult guards_intact() const {
    for (const Guarded& g : guarded_) {
      std::vector<double> values;
      if (g.buffer.dtype() == DType::kInt32) {
        for (std::int32_t v : g.buffer.to_int_vector()) values.push_back(v);
      } else {
        for (float v : g.buffer.to_vector()) values.push_back(v);
      }
      const std::int64_t total = static_cast<std::int64_t>(values.size());
      for (std::int64_t i = 0; i < total; ++i) {
        if (i >= g.pad && i < g.pad + g.numel) continue;
        if (values[static_cast<std::size_t>(i)] != static_cast<double>(kSentinel)) {
          const bool before = i < g.pad;
          const std::int64_t distance = before ? g.pad - i : i - (g.pad + g.numel) + 1;
          return ::testing::AssertionFailure()
                 << "out-of-bounds write on " << device_.str() << " around " << g.what << ": the element "
                 << distance << (before ? " before its start" : " past its end") << " holds "
                 << values[static_cast<std::size_t>(i)] << " instead of the sentinel " << kSentinel;
        }
      }
    }
    return ::testing::AssertionSuccess();
  }

 private:
  std::uint32_t next_seed() { return seed_++ * 2654435761u + 12345u; }

  Device device_;
  std::int64_t pad_;
  std::uint32_t seed_;
  std::vector<Guarded> guarded_;
};

// ---- the op table ---------------------------------------------------------------------------

struct Bound {
  double rtol = 0.0;
  double atol = 0.0;
};

struct OpEntry {
  Op op;
  int variants;  // kinds, transposes, ... (1 when the op has none)
  std::function<std::string(int variant)> variant_name;
  std::function<Bound(const Shape& shape, int variant)> bound;
  // Runs the op on env's device; returns the tensors to compare with the CPU's.
  std::function<std::vector<Tensor>(Env& env, const Shape& shape, int variant)> run;
};

Bound fixed(double rtol, double atol) { return {rtol, atol}; }
std::string no_variant(int) { return ""; }

const std::vector<OpEntry>& op_table() {
  static const std::vector<OpEntry> table = [] {
    std::vector<OpEntry> t;

    // fill: float32 and int32 (value cast)
    t.push_back({Op::kFill, 2, [](int v) { return v == 0 ? "float32" : "int32"; },
                 [](const Shape&, int) { return fixed(0, 0); },
                 [](Env& env, const Shape& shape, int v) {
                   Tensor out = env.output(shape, v == 0 ? DType::kFloat32 : DType::kInt32, "out");
                   axon::fill(out, v == 0 ? 0.75f : -3.0f);
                   return std::vector<Tensor>{out};
                 }});

    // fill_uniform / fill_normal: the same Philox stream on both devices
    t.push_back({Op::kFillUniform, 1, no_variant, [](const Shape&, int) { return fixed(0, 0); },
                 [](Env& env, const Shape& shape, int) {
                   axon::Generator generator(1234);
                   Tensor out = env.output(shape, "out");
                   axon::fill_uniform(out, -2.0f, 3.0f, generator);
                   axon::fill_uniform(out, -2.0f, 3.0f, generator);  // a non-zero offset
                   return std::vector<Tensor>{out};
                 }});
    // Box-Muller in double: the last bit may differ where the libraries' log/sin/cos do.
    t.push_back({Op::kFillNormal, 1, no_variant, [](const Shape&, int) { return fixed(1e-6, 1e-6); },
                 [](Env& env, const Shape& shape, int) {
                   axon::Generator generator(4321);
                   Tensor out = env.output(shape, "out");
                   axon::fill_normal(out, 0.5f, 2.0f, generator);
                   axon::fill_normal(out, 0.5f, 2.0f, generator);
                   return std::vector<Tensor>{out};
                 }});

    // gemm: 4 transpose combinations x {beta = 0 (c is NaN before: must not be read),
    // alpha = 1.5 and beta = 0.5, k = 0 with beta = 0.5, k = 0 with beta = 0}
    t.push_back({Op::kGemm, 16,
                 [](int v) {
                   static const char* modes[] = {"beta0", "alpha_beta", "k0_beta", "k0_beta0"};
                   return std::string((v & 1) ? "ta" : "na") + ((v & 2) ? "_tb_" : "_nb_") + modes[v / 4];
                 },
                 [](const Shape&, int) { return fixed(1e-5, 2e-5); },
                 [](Env& env, const Shape& shape, int v) {
                   const bool ta = (v & 1) != 0, tb = (v & 2) != 0;
                   const int mode = v / 4;
                   const std::int64_t m = shape[0], n = shape[1];
                   const std::int64_t k = mode >= 2 ? 0 : 37;
                   Tensor a = env.uniform(ta ? Shape{k, m} : Shape{m, k}, -1.0f, 1.0f, "a");
                   Tensor b = env.uniform(tb ? Shape{n, k} : Shape{k, n}, -1.0f, 1.0f, "b");
                   const bool beta0 = mode == 0 || mode == 3;
                   Tensor c = beta0 ? env.output(Shape{m, n}, "c") : env.uniform(Shape{m, n}, -1.0f, 1.0f, "c");
                   if (beta0) axon::fill(c, NAN);
                   axon::gemm(a, b, c, mode == 1 ? 1.5f : 1.0f, beta0 ? 0.0f : 0.5f, ta, tb);
                   std::vector<Tensor> results{c};
                   if (mode == 0) results.push_back(axon::matmul(a, b, ta, tb));
                   return results;
                 }});

    t.push_back({Op::kBiasAdd, 1, no_variant, [](const Shape&, int) { return fixed(0, 0); },
                 [](Env& env, const Shape& shape, int) {
                   Tensor x = env.uniform(shape, -2.0f, 2.0f, "x");
                   Tensor bias = env.uniform(Shape{shape.cols()}, -1.0f, 1.0f, "bias");
                   Tensor out = env.output(shape, "out");
                   axon::bias_add_out(x, bias, out);
                   return std::vector<Tensor>{out, axon::bias_add(x, bias)};
                 }});

    // Column sums: the CPU adds in float, row by row; CUDA in double over row chunks.
    t.push_back({Op::kBiasGrad, 1, no_variant,
                 [](const Shape& shape, int) {
                   return fixed(1e-5, 1e-6 + 2e-7 * static_cast<double>(shape.rows()));
                 },
                 [](Env& env, const Shape& shape, int) {
                   Tensor grad = env.uniform(shape, -1.0f, 1.0f, "grad");
                   Tensor out = env.output(Shape{shape.cols()}, "out");
                   axon::bias_grad_out(grad, out);
                   return std::vector<Tensor>{out, axon::bias_grad(grad)};
                 }});

    t.push_back({Op::kBinary, 3, [](int v) { return std::string(axon::binary_name(static_cast<BinaryOp>(v))); },
                 [](const Shape&, int) { return fixed(0, 0); },
                 [](Env& env, const Shape& shape, int v) {
                   Tensor a = env.uniform(shape, -2.0f, 2.0f, "a");
                   Tensor b = env.uniform(shape, -2.0f, 2.0f, "b");
                   Tensor out = env.output(shape, "out");
                   axon::binary_out(static_cast<BinaryOp>(v), a, b, out);
                   return std::vector<Tensor>{out};
                 }});

    t.push_back({Op::kScale, 1, no_variant, [](const Shape&, int) { return fixed(0, 0); },
                 [](Env& env, const Shape& shape, int) {
                   Tensor x = env.uniform(shape, -2.0f, 2.0f, "x");
                   Tensor out = env.output(shape, "out");
                   axon::scale_out(x, -1.75f, out);
                   return std::vector<Tensor>{out};
                 }});

    // y += alpha x: one multiply and one add on both devices; a 1-ulp margin all the same.
    t.push_back({Op::kAxpy, 1, no_variant, [](const Shape&, int) { return fixed(2e-7, 1e-7); },
                 [](Env& env, const Shape& shape, int) {
                   Tensor x = env.uniform(shape, -2.0f, 2.0f, "x");
                   Tensor y = env.uniform(shape, -2.0f, 2.0f, "y");
                   axon::axpy(0.625f, x, y);
                   return std::vector<Tensor>{y};
                 }});

    // Activations over [-4, 4): both sides of every kink, the hard-sigmoid clamps included.
    t.push_back({Op::kActivationForward, axon::kActivationCount,
                 [](int v) { return std::string(axon::activation_name(static_cast<Activation>(v))); },
                 [](const Shape&, int) { return fixed(1e-5, 1e-6); },
                 [](Env& env, const Shape& shape, int v) {
                   const auto kind = static_cast<Activation>(v);
                   Tensor x = env.uniform(shape, -4.0f, 4.0f, "x");
                   Tensor y = env.output(shape, "y");
                   axon::activation_out(kind, x, y);
                   // a non-default alpha for the kinds that have one
                   Tensor y2 = env.output(shape, "y2");
                   axon::activation_out(kind, x, y2, {0.3f});
                   return std::vector<Tensor>{y, y2};
                 }});

    // y = f(x) is computed on the CPU and copied, so both devices differentiate the same y.
    t.push_back({Op::kActivationBackward, axon::kActivationCount,
                 [](int v) { return std::string(axon::activation_name(static_cast<Activation>(v))); },
                 [](const Shape&, int) { return fixed(1e-5, 1e-6); },
                 [](Env& env, const Shape& shape, int v) {
                   const auto kind = static_cast<Activation>(v);
                   const Tensor x_cpu = env.uniform_cpu(shape, -4.0f, 4.0f);
                   const Tensor y_cpu = axon::activation(kind, x_cpu);
                   Tensor x = env.place(x_cpu, "x");
                   Tensor y = env.place(y_cpu, "y");
                   Tensor grad_y = env.uniform(shape, -1.0f, 1.0f, "grad_y");
                   Tensor grad_x = env.output(shape, "grad_x");
                   axon::activation_backward_out(kind, x, y, grad_y, grad_x);
                   return std::vector<Tensor>{grad_x};
                 }});

    // softmax / log_softmax: moderate logits, and logits of +-1e4 (stability)
    for (const Op op : {Op::kSoftmax, Op::kLogSoftmax}) {
      const bool log = op == Op::kLogSoftmax;
      t.push_back({op, 2, [](int v) { return v == 0 ? "moderate" : "huge"; },
                   [log](const Shape&, int) { return log ? fixed(1e-5, 2e-6) : fixed(1e-5, 1e-7); },
                   [log](Env& env, const Shape& shape, int v) {
                     const float range = v == 0 ? 8.0f : 1e4f;
                     Tensor x = env.uniform(shape, -range, range, "x");
                     Tensor y = env.output(shape, "y");
                     if (log) {
                       axon::log_softmax_out(x, y);
                     } else {
                       axon::softmax_out(x, y);
                     }
                     return std::vector<Tensor>{y};
                   }});
    }

    // softmax_backward / log_softmax_backward: no `_out` form; the Backend call writes the
    // guarded output.
    for (const Op op : {Op::kSoftmaxBackward, Op::kLogSoftmaxBackward}) {
      const bool log = op == Op::kLogSoftmaxBackward;
      t.push_back({op, 1, no_variant, [](const Shape&, int) { return fixed(1e-5, 2e-6); },
                   [log](Env& env, const Shape& shape, int) {
                     const Tensor x_cpu = env.uniform_cpu(shape, -4.0f, 4.0f);
                     Tensor y = env.place(log ? axon::log_softmax(x_cpu) : axon::softmax(x_cpu), "y");
                     Tensor grad_y = env.uniform(shape, -1.0f, 1.0f, "grad_y");
                     Tensor result = log ? axon::log_softmax_backward(y, grad_y) : axon::softmax_backward(y, grad_y);
                     Tensor grad_x = env.output(shape, "grad_x");
                     auto backend = axon::backend_for(env.device());
                     if (log) {
                       backend->log_softmax_backward(y, grad_y, grad_x);
                     } else {
                       backend->softmax_backward(y, grad_y, grad_x);
                     }
                     return std::vector<Tensor>{result, grad_x};
                   }});
    }

    // PReLU: one slope per column of [rows, cols]; one slope for all; one per row of the input
    // seen as [1, rows, cols] (channels `cols` elements apart). The backward also in place
    // (grad_x = grad_y) and without grad_x. The slope sums are double on both devices, in
    // different orders: a last-bit difference at most.
    static const char* prelu_names[] = {"per_column", "shared", "per_plane", "per_plane_in_place", "no_grad_x"};
    const auto prelu_inputs = [](Env& env, const Shape& shape, int v) {
      const Shape x_shape = v >= 2 ? Shape{1, shape[0], shape[1]} : shape;
      const std::int64_t slopes = v == 1 ? 1 : v == 0 ? shape[1] : shape[0];
      Tensor x = env.uniform(x_shape, -2.0f, 2.0f, "x");
      Tensor weight = env.uniform(Shape{slopes}, -0.5f, 1.5f, "weight");
      return std::pair{x, weight};
    };
    t.push_back({Op::kPrelu, 3, [](int v) { return std::string(prelu_names[v]); },
                 [](const Shape&, int) { return fixed(0, 0); },
                 [prelu_inputs](Env& env, const Shape& shape, int v) {
                   const auto [x, weight] = prelu_inputs(env, shape, v);
                   Tensor y = env.output(x.shape(), "y");
                   axon::prelu_out(x, weight, y);
                   return std::vector<Tensor>{y, axon::prelu(x, weight)};
                 }});
    t.push_back({Op::kPreluBackward, 5, [](int v) { return std::string(prelu_names[v]); },
                 [](const Shape&, int) { return fixed(3e-7, 1e-9); },
                 [prelu_inputs](Env& env, const Shape& shape, int v) {
                   const auto [x, weight] = prelu_inputs(env, shape, v);
                   Tensor grad_y = env.uniform(x.shape(), -1.0f, 1.0f, "grad_y");
                   Tensor grad_x = v == 3 ? grad_y : v == 4 ? Tensor() : env.output(x.shape(), "grad_x");
                   Tensor grad_weight = env.output(weight.shape(), "grad_weight");
                   axon::prelu_backward_out(x, weight, grad_y, grad_x, grad_weight);
                   return v == 4 ? std::vector<Tensor>{grad_weight} : std::vector<Tensor>{grad_x, grad_weight};
                 }});

    // The LSTM cell on [rows, cols] states (gates [rows, 4 cols]): separate outputs, and c
    // written over c_prev. The backward with the next step's grad_c, without it (the last step),
    // and in place (grad_gates = gates, grad_c_prev = grad_c). Its inputs are activated gates
    // as the forward leaves them (in (0, 1), inside tanh's range too). expf and tanhf differ
    // by a few ulp between libm and CUDA.
    static const char* lstm_names[] = {"separate", "c_over_c_prev"};
    t.push_back({Op::kLstmCell, 2, [](int v) { return std::string(lstm_names[v]); },
                 [](const Shape&, int) { return fixed(1e-5, 1e-6); },
                 [](Env& env, const Shape& shape, int v) {
                   const Shape state{shape[0], shape[1]};
                   Tensor gates = env.uniform(Shape{shape[0], 4 * shape[1]}, -3.0f, 3.0f, "gates");
                   Tensor c_prev = env.uniform(state, -2.0f, 2.0f, "c_prev");
                   Tensor c = v == 1 ? c_prev : env.output(state, "c");
                   Tensor h = env.output(state, "h");
                   axon::lstm_cell_out(gates, c_prev, c, h);
                   return std::vector<Tensor>{gates, c, h};
                 }});
    static const char* lstm_backward_names[] = {"with_grad_c", "last_step", "in_place"};
    t.push_back({Op::kLstmCellBackward, 3, [](int v) { return std::string(lstm_backward_names[v]); },
                 [](const Shape&, int) { return fixed(1e-5, 1e-6); },
                 [](Env& env, const Shape& shape, int v) {
                   const Shape state{shape[0], shape[1]};
                   Tensor gates = env.uniform(Shape{shape[0], 4 * shape[1]}, 0.02f, 0.98f, "gates");
                   Tensor c_prev = env.uniform(state, -2.0f, 2.0f, "c_prev");
                   Tensor c = env.uniform(state, -2.0f, 2.0f, "c");
                   Tensor grad_h = env.uniform(state, -1.0f, 1.0f, "grad_h");
                   Tensor grad_c = v == 1 ? Tensor() : env.uniform(state, -1.0f, 1.0f, "grad_c");
                   Tensor grad_gates = v == 2 ? gates : env.output(gates.shape(), "grad_gates");
                   Tensor grad_c_prev = v == 2 ? grad_c : env.output(state, "grad_c_prev");
                   axon::lstm_cell_backward_out(gates, c_prev, c, grad_h, grad_c, grad_gates, grad_c_prev);
                   return std::vector<Tensor>{grad_gates, grad_c_prev};
                 }});

    // The GRU cell on [rows, cols] states (gates [rows, 3 cols]): separate outputs, and h
    // written over h_prev; the backward separate and in place (over gates_x, gates_h, grad_h),
    // from activated gates as the forward leaves them.
    static const char* gru_names[] = {"separate", "h_over_h_prev"};
    t.push_back({Op::kGruCell, 2, [](int v) { return std::string(gru_names[v]); },
                 [](const Shape&, int) { return fixed(1e-5, 1e-6); },
                 [](Env& env, const Shape& shape, int v) {
                   const Shape state{shape[0], shape[1]}, gates{shape[0], 3 * shape[1]};
                   Tensor gates_x = env.uniform(gates, -3.0f, 3.0f, "gates_x");
                   Tensor gates_h = env.uniform(gates, -3.0f, 3.0f, "gates_h");
                   Tensor h_prev = env.uniform(state, -1.0f, 1.0f, "h_prev");
                   Tensor h = v == 1 ? h_prev : env.output(state, "h");
                   axon::gru_cell_out(gates_x, gates_h, h_prev, h);
                   return std::vector<Tensor>{gates_x, h};
                 }});
    static const char* gru_backward_names[] = {"separate", "in_place"};
    t.push_back({Op::kGruCellBackward, 2, [](int v) { return std::string(gru_backward_names[v]); },
                 [](const Shape&, int) { return fixed(1e-5, 1e-6); },
                 [](Env& env, const Shape& shape, int v) {
                   const Shape state{shape[0], shape[1]}, gates{shape[0], 3 * shape[1]};
                   Tensor gates_x = env.uniform(gates, 0.02f, 0.98f, "gates_x");
                   Tensor gates_h = env.uniform(gates, -2.0f, 2.0f, "gates_h");
                   Tensor h_prev = env.uniform(state, -1.0f, 1.0f, "h_prev");
                   Tensor grad_h = env.uniform(state, -1.0f, 1.0f, "grad_h");
                   Tensor grad_x = v == 1 ? gates_x : env.output(gates, "grad_gates_x");
                   Tensor grad_gh = v == 1 ? gates_h : env.output(gates, "grad_gates_h");
                   Tensor grad_prev = v == 1 ? grad_h : env.output(state, "grad_h_prev");
                   axon::gru_cell_backward_out(gates_x, gates_h, h_prev, grad_h, grad_x, grad_gh, grad_prev);
                   return std::vector<Tensor>{grad_x, grad_gh, grad_prev};
                 }});

    // Convolutions on a batch of 2 images of 6 channels whose height and width follow the
    // table's shape: a 3x3 kernel with padding 1 and a bias; stride 2, dilation 2, 3 groups,
    // padding 2; a depthwise 1x1 without a bias. cuDNN and oneDNN sum in their own orders.
    static const char* conv_names[] = {"3x3_pad1_bias", "stride2_dilation2_groups3", "depthwise_1x1_no_bias"};
    struct ConvInputs {
      Tensor x, weight, bias;
      axon::Conv2dOptions options;
    };
    const auto conv_inputs = [](Env& env, const Shape& shape, int v) {
      const std::int64_t h = shape[0] % 13 + 3, w = shape[1] % 17 + 3;
      ConvInputs in;
      in.x = env.uniform(Shape{2, 6, h, w}, -1.0f, 1.0f, "x");
      const std::int64_t k = v == 2 ? 1 : 3, groups = v == 0 ? 1 : v == 1 ? 3 : 6;
      in.weight = env.uniform(Shape{6, 6 / groups, k, k}, -0.5f, 0.5f, "weight");
      if (v != 2) in.bias = env.uniform(Shape{6}, -0.5f, 0.5f, "bias");
      const std::int64_t pad = v == 0 ? 1 : v == 1 ? 2 : 0;
      in.options = {.stride_h = v == 1 ? 2 : 1, .stride_w = v == 1 ? 2 : 1, .pad_top = pad, .pad_left = pad,
                    .pad_bottom = pad, .pad_right = pad, .dilation_h = v == 1 ? 2 : 1, .dilation_w = v == 1 ? 2 : 1,
                    .groups = groups};
      return in;
    };
    t.push_back({Op::kConv2d, 3, [](int v) { return std::string(conv_names[v]); },
                 [](const Shape&, int) { return fixed(1e-5, 2e-6); },
                 [conv_inputs](Env& env, const Shape& shape, int v) {
                   const ConvInputs in = conv_inputs(env, shape, v);
                   Tensor y = env.output(axon::conv2d_output_shape(in.x.shape(), in.weight.shape(), in.options), "y");
                   axon::conv2d_out(in.x, in.weight, in.bias, y, in.options);
                   return std::vector<Tensor>{y};
                 }});
    t.push_back({Op::kConv2dBackwardData, 3, [](int v) { return std::string(conv_names[v]); },
                 [](const Shape&, int) { return fixed(1e-5, 2e-6); },
                 [conv_inputs](Env& env, const Shape& shape, int v) {
                   const ConvInputs in = conv_inputs(env, shape, v);
                   const Shape y_shape = axon::conv2d_output_shape(in.x.shape(), in.weight.shape(), in.options);
                   Tensor grad_y = env.uniform(y_shape, -1.0f, 1.0f, "grad_y");
                   Tensor grad_x = env.output(in.x.shape(), "grad_x");
                   axon::conv2d_backward_data_out(grad_y, in.weight, grad_x, in.options);
                   return std::vector<Tensor>{grad_x};
                 }});
    t.push_back({Op::kConv2dBackwardWeights, 3, [](int v) { return std::string(conv_names[v]); },
                 [](const Shape&, int) { return fixed(1e-5, 1e-5); },
                 [conv_inputs](Env& env, const Shape& shape, int v) {
                   const ConvInputs in = conv_inputs(env, shape, v);
                   const Shape y_shape = axon::conv2d_output_shape(in.x.shape(), in.weight.shape(), in.options);
                   Tensor grad_y = env.uniform(y_shape, -1.0f, 1.0f, "grad_y");
                   Tensor grad_weight = env.output(in.weight.shape(), "grad_weight");
                   Tensor grad_bias = v == 2 ? Tensor() : env.output(Shape{6}, "grad_bias");
                   axon::conv2d_backward_weights_out(in.x, grad_y, grad_weight, grad_bias, in.options);
                   return v == 2 ? std::vector<Tensor>{grad_weight} : std::vector<Tensor>{grad_weight, grad_bias};
                 }});

    // Pooling: the same formulas on both devices, so the same bits. Images of 3 channels whose
    // height and width follow the table's shape; max pooling with ties (small integers) too.
    static const char* pool_names[] = {"2x2", "3x3_stride2_pad1_ceil", "2x2_dilation2_pad1_ties"};
    const auto pool_options = [](int v, bool max) {
      axon::Pool2dOptions o{.kernel_h = v == 1 ? 3 : 2, .kernel_w = v == 1 ? 3 : 2, .stride_h = v == 2 ? 1 : 2,
                            .stride_w = v == 2 ? 1 : 2, .pad_h = v == 0 ? 0 : 1, .pad_w = v == 0 ? 0 : 1};
      if (v == 1) o.ceil_mode = true;
      if (v == 1 && !max) o.count_include_pad = false;
      if (v == 2) o.dilation_h = o.dilation_w = 2;
      return o;
    };
    const auto pool_input = [](Env& env, const Shape& shape, int v) {
      const Shape x_shape{2, 3, shape[0] % 13 + 3, shape[1] % 17 + 3};
      return v == 2 ? env.place(env.small_ints_cpu(x_shape, -2, 2), "x") : env.uniform(x_shape, -1.0f, 1.0f, "x");
    };
    t.push_back({Op::kMaxPool2d, 3, [](int v) { return std::string(pool_names[v]); },
                 [](const Shape&, int) { return fixed(0, 0); },
                 [=](Env& env, const Shape& shape, int v) {
                   const Tensor x = pool_input(env, shape, v);
                   const auto o = pool_options(v, true);
                   const Shape y_shape = axon::max_pool2d_output_shape(x.shape(), o);
                   Tensor y = env.output(y_shape, "y");
                   Tensor indices = env.output(y_shape, DType::kInt32, "indices");
                   axon::max_pool2d_out(x, y, indices, o);
                   return std::vector<Tensor>{y, indices};
                 }});
    t.push_back({Op::kMaxPool2dBackward, 3, [](int v) { return std::string(pool_names[v]); },
                 [](const Shape&, int) { return fixed(0, 0); },
                 [=](Env& env, const Shape& shape, int v) {
                   const Tensor x_cpu = v == 2 ? env.small_ints_cpu(Shape{2, 3, shape[0] % 13 + 3, shape[1] % 17 + 3}, -2, 2)
                                               : env.uniform_cpu(Shape{2, 3, shape[0] % 13 + 3, shape[1] % 17 + 3}, -1.0f, 1.0f);
                   const auto o = pool_options(v, true);
                   const Shape y_shape = axon::max_pool2d_output_shape(x_cpu.shape(), o);
                   Tensor indices_cpu = Tensor::empty(y_shape, Device::cpu(), DType::kInt32);
                   axon::max_pool2d_out(x_cpu, Tensor::empty(y_shape), indices_cpu, o);  // the CPU's argmax on both
                   Tensor indices = env.place(indices_cpu, "indices");
                   Tensor grad_y = env.uniform(y_shape, -1.0f, 1.0f, "grad_y");
                   Tensor grad_x = env.output(x_cpu.shape(), "grad_x");
                   axon::max_pool2d_backward_out(grad_y, indices, grad_x, o);
                   return std::vector<Tensor>{grad_x};
                 }});
    t.push_back({Op::kAvgPool2d, 2, [](int v) { return std::string(pool_names[v]); },
                 [](const Shape&, int) { return fixed(0, 0); },
                 [=](Env& env, const Shape& shape, int v) {
                   const Tensor x = pool_input(env, shape, v);
                   const auto o = pool_options(v, false);
                   Tensor y = env.output(axon::avg_pool2d_output_shape(x.shape(), o), "y");
                   axon::avg_pool2d_out(x, y, o);
                   return std::vector<Tensor>{y};
                 }});
    t.push_back({Op::kAvgPool2dBackward, 2, [](int v) { return std::string(pool_names[v]); },
                 [](const Shape&, int) { return fixed(0, 0); },
                 [=](Env& env, const Shape& shape, int v) {
                   const Shape x_shape{2, 3, shape[0] % 13 + 3, shape[1] % 17 + 3};
                   const auto o = pool_options(v, false);
                   Tensor grad_y = env.uniform(axon::avg_pool2d_output_shape(x_shape, o), -1.0f, 1.0f, "grad_y");
                   Tensor grad_x = env.output(x_shape, "grad_x");
                   axon::avg_pool2d_backward_out(grad_y, grad_x, o);
                   return std::vector<Tensor>{grad_x};
                 }});

    // Batch normalisation over the table's shape as [rows, channels] (variant 0) and as
    // [1, rows, cols] planes (variant 1, no affine): double sums in different orders on the two
    // devices, so the last bit may differ.
    static const char* bn_names[] = {"columns_affine", "planes_no_affine"};
    const auto bn_x = [](Env& env, const Shape& shape, int v) {
      const Shape x_shape = v == 0 ? shape : Shape{1, shape[0], shape[1]};
      return env.uniform(x_shape, -2.0f, 3.0f, "x");
    };
    const auto bn_channels = [](const Shape& shape, int v) { return v == 0 ? shape[1] : shape[0]; };
    t.push_back({Op::kBatchNormTrain, 2, [](int v) { return std::string(bn_names[v]); },
                 [](const Shape&, int) { return fixed(2e-6, 2e-6); },
                 [=](Env& env, const Shape& shape, int v) {
                   const Tensor x = bn_x(env, shape, v);
                   const std::int64_t c = bn_channels(shape, v);
                   if (x.numel() / c < 2) return std::vector<Tensor>{};  // one value per channel: refused
                   Tensor w = v == 0 ? env.uniform(Shape{c}, 0.5f, 1.5f, "weight") : Tensor();
                   Tensor b = v == 0 ? env.uniform(Shape{c}, -0.5f, 0.5f, "bias") : Tensor();
                   Tensor y = env.output(x.shape(), "y");
                   Tensor mean = env.output(Shape{c}, "save_mean"), invstd = env.output(Shape{c}, "save_invstd");
                   Tensor rm = env.uniform(Shape{c}, -1.0f, 1.0f, "running_mean");
                   Tensor rv = env.uniform(Shape{c}, 0.5f, 2.0f, "running_var");
                   axon::batch_norm_train_out(x, w, b, y, mean, invstd, rm, rv, 0.1f, 1e-5f);
                   return std::vector<Tensor>{y, mean, invstd, rm, rv};
                 }});
    t.push_back({Op::kBatchNormEval, 2, [](int v) { return std::string(bn_names[v]); },
                 [](const Shape&, int) { return fixed(1e-6, 1e-6); },
                 [=](Env& env, const Shape& shape, int v) {
                   const Tensor x = bn_x(env, shape, v);
                   const std::int64_t c = bn_channels(shape, v);
                   Tensor w = v == 0 ? env.uniform(Shape{c}, 0.5f, 1.5f, "weight") : Tensor();
                   Tensor b = v == 0 ? env.uniform(Shape{c}, -0.5f, 0.5f, "bias") : Tensor();
                   Tensor rm = env.uniform(Shape{c}, -1.0f, 1.0f, "running_mean");
                   Tensor rv = env.uniform(Shape{c}, 0.5f, 2.0f, "running_var");
                   Tensor y = env.output(x.shape(), "y");
                   axon::batch_norm_eval_out(x, w, b, rm, rv, y, 1e-5f);
                   return std::vector<Tensor>{y};
                 }});
    t.push_back({Op::kBatchNormBackward, 2, [](int v) { return std::string(bn_names[v]); },
                 [](const Shape&, int) { return fixed(2e-6, 2e-6); },
                 [=](Env& env, const Shape& shape, int v) {
                   const Tensor x = bn_x(env, shape, v);
                   const std::int64_t c = bn_channels(shape, v);
                   Tensor w = v == 0 ? env.uniform(Shape{c}, 0.5f, 1.5f, "weight") : Tensor();
                   Tensor mean = env.uniform(Shape{c}, -0.5f, 0.5f, "save_mean");
                   Tensor invstd = env.uniform(Shape{c}, 0.5f, 2.0f, "save_invstd");
                   Tensor grad_y = env.uniform(x.shape(), -1.0f, 1.0f, "grad_y");
                   Tensor grad_x = env.output(x.shape(), "grad_x");
                   Tensor grad_w = v == 0 ? env.output(Shape{c}, "grad_weight") : Tensor();
                   Tensor grad_b = env.output(Shape{c}, "grad_bias");
                   axon::batch_norm_backward_out(x, grad_y, w, mean, invstd, grad_x, grad_w, grad_b);
                   return v == 0 ? std::vector<Tensor>{grad_x, grad_w, grad_b} : std::vector<Tensor>{grad_x, grad_b};
                 }});

    // Layer normalisation of the table's rows (variant 0, with weight and bias) and of the whole
    // shape as one sample (variant 1, no affine): double sums in different orders.
    static const char* ln_names[] = {"rows_affine", "one_sample_no_affine"};
    t.push_back({Op::kLayerNorm, 2, [](int v) { return std::string(ln_names[v]); },
                 [](const Shape&, int) { return fixed(2e-6, 2e-6); },
                 [](Env& env, const Shape& shape, int v) {
                   const Shape x_shape = v == 0 ? shape : Shape{1, shape[0], shape[1]};
                   const std::int64_t size = v == 0 ? shape[1] : shape.numel(), rows = x_shape.numel() / size;
                   Tensor x = env.uniform(x_shape, -2.0f, 3.0f, "x");
                   Tensor w = v == 0 ? env.uniform(Shape{size}, 0.5f, 1.5f, "weight") : Tensor();
                   Tensor b = v == 0 ? env.uniform(Shape{size}, -0.5f, 0.5f, "bias") : Tensor();
                   Tensor y = env.output(x_shape, "y");
                   Tensor mean = env.output(Shape{rows}, "save_mean"), invstd = env.output(Shape{rows}, "save_invstd");
                   axon::layer_norm_out(x, size, w, b, y, mean, invstd, 1e-5f);
                   return std::vector<Tensor>{y, mean, invstd};
                 }});
    t.push_back({Op::kLayerNormBackward, 2, [](int v) { return std::string(ln_names[v]); },
                 [](const Shape& shape, int) { return fixed(2e-6, 1e-6 * static_cast<double>(shape[0])); },
                 [](Env& env, const Shape& shape, int v) {
                   const Shape x_shape = v == 0 ? shape : Shape{1, shape[0], shape[1]};
                   const std::int64_t size = v == 0 ? shape[1] : shape.numel(), rows = x_shape.numel() / size;
                   Tensor x = env.uniform(x_shape, -2.0f, 3.0f, "x");
                   Tensor w = v == 0 ? env.uniform(Shape{size}, 0.5f, 1.5f, "weight") : Tensor();
                   Tensor mean = env.uniform(Shape{rows}, -0.5f, 0.5f, "save_mean");
                   Tensor invstd = env.uniform(Shape{rows}, 0.5f, 2.0f, "save_invstd");
                   Tensor grad_y = env.uniform(x_shape, -1.0f, 1.0f, "grad_y");
                   Tensor grad_x = env.output(x_shape, "grad_x");
                   Tensor grad_w = v == 0 ? env.output(Shape{size}, "grad_weight") : Tensor();
                   Tensor grad_b = env.output(Shape{size}, "grad_bias");
                   axon::layer_norm_backward_out(x, size, grad_y, w, mean, invstd, grad_x, grad_w, grad_b);
                   return v == 0 ? std::vector<Tensor>{grad_x, grad_w, grad_b} : std::vector<Tensor>{grad_x, grad_b};
                 }});

    // losses: every kind x {mean, sum, none} x {value and gradient, value only}; the sum and
    // none variants with the options (class weights and ignored rows for the label losses, label
    // smoothing for cross-entropy, pos_weight for BCE with logits).
    t.push_back({Op::kLoss, 6 * axon::kLossCount,
                 [](int v) {
                   return std::string(axon::loss_name(static_cast<LossKind>(v / 6))) + "_" +
                          std::string(axon::reduction_name(static_cast<axon::Reduction>(v / 2 % 3))) +
                          (v % 2 ? "_value" : "_grad");
                 },
                 [](const Shape&, int) { return fixed(1e-5, 1e-7); },
                 [](Env& env, const Shape& shape, int v) {
                   const auto kind = static_cast<LossKind>(v / 6);
                   const auto reduction = static_cast<axon::Reduction>(v / 2 % 3);
                   const bool with_options = reduction != axon::Reduction::kMean;
                   const bool with_grad = v % 2 == 0;
                   const bool labels = kind == LossKind::kSoftmaxCrossEntropy || kind == LossKind::kNll;
                   axon::LossParams params{.huber_delta = 0.8f, .reduction = reduction};
                   Tensor pred = kind == LossKind::kBce ? env.uniform(shape, 0.02f, 0.98f, "pred")
                                                        : env.uniform(shape, -3.0f, 3.0f, "pred");
                   Tensor target, weight;
                   if (labels) {
                     Tensor cpu_labels = env.labels_cpu(shape.rows(), static_cast<int>(shape.cols()));
                     if (with_options) {
                       // every third row ignored
                       std::vector<std::int32_t> values = cpu_labels.to_int_vector();
                       for (std::size_t r = 0; r < values.size(); r += 3) values[r] = -100;
                       cpu_labels = Tensor::from_vector(cpu_labels.shape(), std::span<const std::int32_t>(values));
                       weight = env.uniform(Shape{shape.cols()}, 0.1f, 2.0f, "weight");
                       if (kind == LossKind::kSoftmaxCrossEntropy) params.label_smoothing = 0.1f;
                     }
                     target = env.place(cpu_labels, "labels");
                   } else if (kind == LossKind::kBceWithLogits || kind == LossKind::kBce) {
                     target = env.uniform(shape, 0.0f, 1.0f, "target");
                     if (with_options && kind == LossKind::kBceWithLogits) {
                       weight = env.uniform(Shape{shape[shape.rank() - 1]}, 0.5f, 3.0f, "pos_weight");
                     }
                   } else {
                     target = env.uniform(shape, -3.0f, 3.0f, "target");
                   }
                   const Shape value_shape = reduction != axon::Reduction::kNone ? Shape{1}
                                             : labels                           ? Shape{shape.rows()}
                                                                                : shape;
                   Tensor value = env.output(value_shape, "value");
                   Tensor grad = with_grad ? env.output(shape, "grad") : Tensor();
                   axon::loss_out(kind, pred, target, value, grad, params, weight);
                   std::vector<Tensor> results{value};
                   if (with_grad) results.push_back(grad);
                   return results;
                 }});

    // reduce_all: no `_out` form; the Backend call writes the guarded output. Both sides sum
    // in double.
    t.push_back({Op::kReduceAll, 3, [](int v) { return std::string(axon::reduce_name(static_cast<ReduceOp>(v))); },
                 [](const Shape&, int) { return fixed(1e-6, 1e-5); },
                 [](Env& env, const Shape& shape, int v) {
                   const auto op = static_cast<ReduceOp>(v);
                   Tensor x = env.uniform(shape, -1.0f, 1.0f, "x");
                   Tensor result = axon::reduce_all(op, x);
                   Tensor out = env.output(Shape{1}, "out");
                   axon::backend_for(env.device())->reduce_all(op, x, out);
                   return std::vector<Tensor>{result, out};
                 }});

    // reduce_rows: sum / mean / max, and max over small integers (ties)
    t.push_back({Op::kReduceRows, 4,
                 [](int v) { return v == 3 ? std::string("max_ties") : std::string(axon::reduce_name(static_cast<ReduceOp>(v))); },
                 [](const Shape&, int) { return fixed(1e-6, 1e-6); },
                 [](Env& env, const Shape& shape, int v) {
                   const auto op = static_cast<ReduceOp>(v == 3 ? 2 : v);
                   Tensor x = v == 3 ? env.place(env.small_ints_cpu(shape, -3, 3), "x") : env.uniform(shape, -1.0f, 1.0f, "x");
                   Tensor out = env.output(Shape{shape.rows()}, "out");
                   axon::reduce_rows_out(op, x, out);
                   return std::vector<Tensor>{out, axon::reduce_rows(op, x)};
                 }});

    // argmax_rows: no `_out` form. Distinct values, and small integers (ties: the first index).
    t.push_back({Op::kArgmaxRows, 2, [](int v) { return v == 0 ? "distinct" : "ties"; },
                 [](const Shape&, int) { return fixed(0, 0); },
                 [](Env& env, const Shape& shape, int v) {
                   Tensor x = v == 0 ? env.uniform(shape, -1.0f, 1.0f, "x") : env.place(env.small_ints_cpu(shape, -3, 3), "x");
                   Tensor result = axon::argmax_rows(x);
                   Tensor out = env.output(Shape{shape.rows()}, DType::kInt32, "out");
                   axon::backend_for(env.device())->argmax_rows(x, out);
                   return std::vector<Tensor>{result, out};
                 }});

    // Fused Dense ops, every activation. pre = x + bias is exact on both devices.
    t.push_back({Op::kBiasActivation, axon::kActivationCount,
                 [](int v) { return std::string(axon::activation_name(static_cast<Activation>(v))); },
                 [](const Shape&, int) { return fixed(1e-5, 1e-6); },
                 [](Env& env, const Shape& shape, int v) {
                   const auto kind = static_cast<Activation>(v);
                   Tensor x = env.uniform(shape, -4.0f, 4.0f, "x");
                   Tensor bias = env.uniform(Shape{shape.cols()}, -1.0f, 1.0f, "bias");
                   Tensor pre = env.output(shape, "pre");
                   Tensor y = env.output(shape, "y");
                   axon::bias_activation_out(kind, x, bias, pre, y);
                   return std::vector<Tensor>{pre, y};
                 }});

    // grad_pre elementwise, grad_bias a column sum (float on the CPU, double on CUDA).
    t.push_back({Op::kActivationBackwardBiasGrad, axon::kActivationCount,
                 [](int v) { return std::string(axon::activation_name(static_cast<Activation>(v))); },
                 [](const Shape& shape, int) { return fixed(1e-5, 1e-6 + 2e-7 * static_cast<double>(shape.rows())); },
                 [](Env& env, const Shape& shape, int v) {
                   const auto kind = static_cast<Activation>(v);
                   const Tensor pre_cpu = env.uniform_cpu(shape, -4.0f, 4.0f);
                   const Tensor y_cpu = axon::activation(kind, pre_cpu);
                   Tensor pre = env.place(pre_cpu, "pre");
                   Tensor y = env.place(y_cpu, "y");
                   Tensor grad_y = env.uniform(shape, -1.0f, 1.0f, "grad_y");
                   Tensor grad_pre = env.output(shape, "grad_pre");
                   Tensor grad_bias = env.output(Shape{shape.cols()}, "grad_bias");
                   axon::activation_backward_bias_grad_out(kind, pre, y, grad_y, grad_pre, grad_bias);
                   return std::vector<Tensor>{grad_pre, grad_bias};
                 }});

    // The Dense forward through cublasLt's bias epilogue: x [rows, 37] @ w^T + bias, w [cols, 37];
    // odd variants leave pre out (inference: only y, in place).
    t.push_back({Op::kLinear, axon::kActivationCount,
                 [](int v) { return std::string(axon::activation_name(static_cast<Activation>(v))); },
                 [](const Shape&, int) { return fixed(1e-5, 2e-5); },
                 [](Env& env, const Shape& shape, int v) {
                   const auto kind = static_cast<Activation>(v);
                   const std::int64_t k = 37;
                   Tensor x = env.uniform(Shape{shape[0], k}, -1.0f, 1.0f, "x");
                   Tensor w = env.uniform(Shape{shape[1], k}, -1.0f, 1.0f, "w");
                   Tensor bias = env.uniform(Shape{shape[1]}, -1.0f, 1.0f, "bias");
                   Tensor y = env.output(shape, "y");
                   if (v % 2 == 1) {
                     axon::linear_out(kind, x, w, bias, Tensor(), y);
                     return std::vector<Tensor>{y};
                   }
                   Tensor pre = env.output(shape, "pre");
                   axon::linear_out(kind, x, w, bias, pre, y);
                   return std::vector<Tensor>{pre, y};
                 }});

    // gather_rows: float32 and int32 rows picked by random indices (repeats included).
    t.push_back({Op::kGatherRows, 2, [](int v) { return v == 0 ? "float32" : "int32"; },
                 [](const Shape&, int) { return fixed(0, 0); },
                 [](Env& env, const Shape& shape, int v) {
                   const std::int64_t picks = shape[0] + 3;
                   Tensor x = v == 0 ? env.uniform(shape, -2.0f, 2.0f, "x")
                                     : env.place(env.labels_cpu(shape.numel(), 1000).reshape(shape), "x");
                   Tensor indices = env.place(env.labels_cpu(picks, static_cast<int>(shape[0])), "indices");
                   Tensor out = env.output(Shape{picks, shape[1]}, v == 0 ? DType::kFloat32 : DType::kInt32, "out");
                   axon::gather_rows_out(x, indices, out);
                   return std::vector<Tensor>{out};
                 }});
    // Dropout: the same Philox mask on both devices (bit for bit), p = 0.3, after an offset.
    t.push_back({Op::kDropout, 2, [](int v) { return v == 0 ? "out_of_place" : "in_place"; },
                 [](const Shape&, int) { return fixed(0, 0); },
                 [](Env& env, const Shape& shape, int v) {
                   axon::Generator generator(77);
                   (void)generator.take(5);
                   Tensor x = env.uniform(shape, -2.0f, 2.0f, "x");
                   Tensor mask = env.output(shape, "mask");
                   Tensor y = v == 0 ? env.output(shape, "y") : x;
                   axon::dropout_out(x, 0.3f, y, mask, generator);
                   return std::vector<Tensor>{y, mask};
                 }});
    t.push_back({Op::kClamp, 1, no_variant, [](const Shape&, int) { return fixed(0, 0); },
                 [](Env& env, const Shape& shape, int) {
                   Tensor x = env.uniform(shape, -2.0f, 2.0f, "x");
                   Tensor out = env.output(shape, "out");
                   axon::clamp_out(x, -0.5f, 1.25f, out);
                   return std::vector<Tensor>{out};
                 }});
    // Clipping: a norm above max_norm (scaled) and one below (factor 1).
    // ... and of each order (1, 3, 0.5, infinity).
    t.push_back({Op::kClipGradNorm, 6,
                 [](int v) {
                   const char* names[] = {"clipped", "unclipped", "order_1", "order_3", "order_0.5", "order_inf"};
                   return std::string(names[v]);
                 },
                 [](const Shape&, int) { return fixed(2e-6, 1e-7); },
                 [](Env& env, const Shape& shape, int v) {
                   Tensor grads = env.uniform(shape, -1.0f, 1.0f, "grads");
                   Tensor norm = env.output(Shape{1}, "norm");
                   const float orders[] = {2.0f, 2.0f, 1.0f, 3.0f, 0.5f, std::numeric_limits<float>::infinity()};
                   axon::clip_grad_norm_out(grads, v == 1 ? 1e6f : 0.5f, norm, orders[v]);
                   return std::vector<Tensor>{grads, norm};
                 }});
    // Optimizer steps: three steps each (state carried), every option of each optimizer.
    t.push_back({Op::kSgdStep, 3, [](int v) { return std::string(v == 0 ? "plain" : v == 1 ? "momentum" : "nesterov"); },
                 [](const Shape&, int) { return fixed(1e-5, 1e-6); },
                 [](Env& env, const Shape& shape, int v) {
                   Tensor p = env.uniform(shape, -1.0f, 1.0f, "params");
                   Tensor buf = env.output(shape, "momentum_buffer");
                   for (int step = 1; step <= 3; ++step) {
                     Tensor g = env.uniform(shape, -1.0f, 1.0f, "grads");
                     axon::SgdHyper h;
                     h.lr = 0.1f;
                     h.momentum = v == 0 ? 0.0f : 0.9f;
                     h.one_minus_dampening = v == 1 ? 0.9f : 1.0f;
                     h.weight_decay = 0.01f;
                     h.nesterov = v == 2;
                     h.first_step = step == 1;
                     axon::sgd_step(h, p, g, v == 0 ? Tensor() : buf);
                   }
                   return v == 0 ? std::vector<Tensor>{p} : std::vector<Tensor>{p, buf};
                 }});
    t.push_back({Op::kAdagradStep, 1, no_variant, [](const Shape&, int) { return fixed(1e-5, 1e-6); },
                 [](Env& env, const Shape& shape, int) {
                   Tensor p = env.uniform(shape, -1.0f, 1.0f, "params");
                   Tensor sum = env.uniform(shape, 0.0f, 0.5f, "state_sum");
                   for (int step = 1; step <= 3; ++step) {
                     Tensor g = env.uniform(shape, -1.0f, 1.0f, "grads");
                     axon::adagrad_step({0.05f, 0.01f, 1e-10f}, p, g, sum);
                   }
                   return std::vector<Tensor>{p, sum};
                 }});
    t.push_back({Op::kRmspropStep, 3,
                 [](int v) { return std::string(v == 0 ? "plain" : v == 1 ? "momentum" : "centered_momentum"); },
                 [](const Shape&, int) { return fixed(1e-5, 1e-6); },
                 [](Env& env, const Shape& shape, int v) {
                   Tensor p = env.uniform(shape, -1.0f, 1.0f, "params");
                   Tensor square = env.uniform(shape, 0.5f, 1.0f, "square_avg");
                   Tensor buf = env.output(shape, "momentum_buffer");
                   Tensor avg = env.output(shape, "grad_avg");
                   axon::fill(buf, 0.0f);
                   axon::fill(avg, 0.0f);
                   axon::RmspropHyper h;
                   h.weight_decay = 0.01f;
                   h.momentum = v == 0 ? 0.0f : 0.9f;
                   h.centered = v == 2;
                   for (int step = 1; step <= 3; ++step) {
                     Tensor g = env.uniform(shape, -1.0f, 1.0f, "grads");
                     axon::rmsprop_step(h, p, g, square, v == 0 ? Tensor() : buf, v == 2 ? avg : Tensor());
                   }
                   return std::vector<Tensor>{p, square, buf, avg};
                 }});
    t.push_back({Op::kAdamStep, 3, [](int v) { return std::string(v == 0 ? "adam_l2" : v == 1 ? "adamw" : "amsgrad"); },
                 [](const Shape&, int) { return fixed(1e-5, 1e-6); },
                 [](Env& env, const Shape& shape, int v) {
                   Tensor p = env.uniform(shape, -1.0f, 1.0f, "params");
                   Tensor m = env.output(shape, "exp_avg");
                   Tensor s = env.output(shape, "exp_avg_sq");
                   Tensor s_max = env.output(shape, "max_exp_avg_sq");
                   for (const Tensor& state : {m, s, s_max}) axon::fill(state, 0.0f);
                   for (int step = 1; step <= 3; ++step) {
                     Tensor g = env.uniform(shape, -1.0f, 1.0f, "grads");
                     axon::AdamHyper h;
                     h.lr = 0.01f;
                     h.weight_decay = 0.05f;
                     h.decoupled_weight_decay = v == 1;
                     h.amsgrad = v == 2;
                     h.step_size = static_cast<float>(0.01 / (1.0 - std::pow(0.9, step)));
                     h.bias_correction2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(0.999, step)));
                     axon::adam_step(h, p, g, m, s, v == 2 ? s_max : Tensor());
                   }
                   return std::vector<Tensor>{p, m, s, s_max};
                 }});

    return t;
  }();
  return table;
}

// 7x13 and 33x1001 and 513x257 are odd (misaligned rows, tails); 16x64 keeps every row of a
// 16-byte aligned view aligned; 513x257 is many blocks.
const std::vector<Shape>& shapes() {
  static const std::vector<Shape> list{Shape{1, 1}, Shape{7, 13}, Shape{16, 64}, Shape{33, 1001}, Shape{513, 257}};
  return list;
}

// ---- comparison -----------------------------------------------------------------------------

::testing::AssertionResult matches(const Tensor& want, const Tensor& got, Bound bound) {
  if (got.shape() != want.shape() || got.dtype() != want.dtype()) {
    return ::testing::AssertionFailure() << "got " << got.describe() << ", want " << want.describe();
  }
  if (want.dtype() == DType::kInt32) {
    const auto w = want.to_int_vector();
    const auto g = got.to_int_vector();
    for (std::size_t i = 0; i < w.size(); ++i) {
      if (w[i] != g[i]) {
        return ::testing::AssertionFailure() << "element " << i << ": got " << g[i] << ", want " << w[i];
      }
    }
    return ::testing::AssertionSuccess();
  }
  const auto finite = axon_test::all_finite(got);
  if (!finite) return finite;
  return axon_test::near_ref(axon_test::values_of(got), axon_test::values_of(want), bound.rtol, bound.atol);
}

std::string case_name(const OpEntry& entry, const Shape& shape, int variant, std::int64_t pad) {
  std::ostringstream s;
  s << axon::op_name(entry.op);
  const std::string v = entry.variant_name(variant);
  if (!v.empty()) s << "(" << v << ")";
  s << " " << shape.str() << (pad % 4 == 0 ? " aligned" : " misaligned");
  return s.str();
}

// ---- the tests ------------------------------------------------------------------------------

TEST(OpTable, CoversEveryOp) {
  std::multiset<int> listed;
  for (const OpEntry& entry : op_table()) listed.insert(static_cast<int>(entry.op));
  for (int op = 0; op < axon::kOpCount; ++op) {
    EXPECT_EQ(listed.count(op), 1u) << "axon::Op " << op << " (" << axon::op_name(static_cast<Op>(op))
                                    << ") must appear exactly once in the cross-backend table";
  }
  EXPECT_EQ(listed.size(), static_cast<std::size_t>(axon::kOpCount));
}

class CudaOps : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    if (axon::device_count(axon::DeviceType::kCuda) == 0) {
      if (cuda_required()) {
        FAIL() << "AXON_REQUIRE_CUDA=1 but no CUDA device is available (CUDA backend compiled: "
               << (axon::cuda_compiled() ? "yes" : "no") << ")";
      }
      GTEST_SKIP() << "no CUDA device (set AXON_REQUIRE_CUDA=1 to make this a failure)";
    }
    axon::set_allow_tf32(false);  // exact FP32 GEMMs, comparable with the CPU
  }
};

// Runs every shape and variant of an entry on the CPU (the reference, aligned) and on `target`
// with aligned and misaligned placements, and compares.
void check_against_cpu(int index, Device target) {
  const OpEntry& entry = op_table()[static_cast<std::size_t>(index)];
  for (std::size_t s = 0; s < shapes().size(); ++s) {
    const Shape& shape = shapes()[s];
    for (int variant = 0; variant < entry.variants; ++variant) {
      const auto seed = static_cast<std::uint32_t>(1000 * index + 100 * static_cast<int>(s) + variant);
      Env cpu_env(Device::cpu(), 4, seed);
      const std::vector<Tensor> want = entry.run(cpu_env, shape, variant);
      ASSERT_TRUE(cpu_env.guards_intact()) << case_name(entry, shape, variant, 4);
      for (const std::int64_t pad : {4, 1}) {
        const std::string name = case_name(entry, shape, variant, pad) + " on " + target.str();
        SCOPED_TRACE(name);
        Env env(target, pad, seed);
        std::vector<Tensor> got;
        ASSERT_NO_THROW(got = entry.run(env, shape, variant));
        ASSERT_NO_THROW(axon::synchronize(target));
        ASSERT_EQ(got.size(), want.size());
        const Bound bound = entry.bound(shape, variant);
        for (std::size_t r = 0; r < want.size(); ++r) {
          EXPECT_EQ(got[r].device(), target) << name << ", result " << r;
          EXPECT_TRUE(matches(want[r], got[r], bound)) << name << ", result " << r;
        }
        EXPECT_TRUE(env.guards_intact()) << name;
      }
    }
  }
}

// The harness itself, on any machine: the CPU against itself (aligned vs misaligned views).
TEST(OpTable, HarnessRunsOnCpu) {
  for (int index = 0; index < static_cast<int>(op_table().size()); ++index) {
    SCOPED_TRACE(std::string(axon::op_name(op_table()[static_cast<std::size_t>(index)].op)));
    check_against_cpu(index, Device::cpu());
  }
}

TEST_P(CudaOps, MatchesCpu) { check_against_cpu(GetParam(), Device::cuda(0)); }

INSTANTIATE_TEST_SUITE_P(AllOps, CudaOps, ::testing::Range(0, static_cast<int>(op_table().size())),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::string(axon::op_name(op_table()[static_cast<std::size_t>(info.param)].op));
                         });

}  // namespace
