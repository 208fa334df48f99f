// Convolutions on oneDNN: one primitive per (direction, geometry, bias, threads), with the
// forward primitive descriptor as the backward ones' hint, as oneDNN asks. Tensors stay in the
// plain NCHW / OIHW layouts that torch and axon's other ops use; each primitive picks the
// layouts it runs fastest on (format_tag::any: blocked nChw16c and the like on AVX-512), and a
// plan reorders its arguments into them and its result back, in memory the plan owns. The
// fashion_mnist_cnn training step (bench: cnn_step_b128, 2 cores with AVX-512) took 21.2 ms on
// plain layouts (oneDNN's im2col + GEMM kernels) and 15.7 ms this way, the reorders (about
// 1.8 ms of it) included.
#include "cpu/onednn_conv.h"

#include <omp.h>

#include <array>
#include <memory>
#include <string>

#include "axon/error.h"
#include "core/src/no_destructor.h"
#include "cpu/onednn_common.h"
#include "cpu/onednn_gemm.h"

namespace axon::cpu::onednn {

namespace {

using dims = dnnl::memory::dims;
using tag = dnnl::memory::format_tag;
constexpr auto kF32 = dnnl::memory::data_type::f32;

enum class Direction : std::uint8_t { kForward, kBackwardData, kBackwardWeights };

struct Key {
  Direction direction;
  Conv2dGeometry geometry;
  bool has_bias;
  int threads;
  bool operator==(const Key&) const = default;
};

struct KeyHash {
  std::size_t operator()(const Key& key) const noexcept {
    const Conv2dGeometry& g = key.geometry;
    std::size_t h = static_cast<std::size_t>(key.direction) | static_cast<std::size_t>(key.has_bias) << 2;
    const auto mix = [&](std::int64_t v) { h = (h ^ static_cast<std::uint64_t>(v)) * 0x100000001b3ULL + (h >> 29); };
    for (const std::int64_t v : {g.batch, g.in_channels, g.height, g.width, g.out_channels, g.kernel_h, g.kernel_w,
                                 g.stride_h, g.stride_w, g.pad_top, g.pad_left, g.pad_bottom, g.pad_right,
                                 g.dilation_h, g.dilation_w, g.groups}) {
      mix(v);
    }
    mix(key.threads);
    return h;
  }
};

// One argument of a plan: the caller's memory in the plain layout (its pointer set per call)
// and, when the primitive chose another layout, memory of the plan's own in that layout with
// the reorder between them (into it before the primitive for an input, out of it after for the
// result).
struct Arg {
  dnnl::memory user;
  dnnl::memory staged;
  ScratchMemory staged_bytes;
  dnnl::primitive reorder;
  std::array<dnnl_exec_arg_t, 2> reorder_args{};
  bool is_output = false;
  bool is_staged() const { return staged_bytes != nullptr; }
};

struct Plan {
  dnnl::primitive primitive;
  dnnl::stream stream;
  // src / diff_src, weights / diff_weights, bias / diff_bias, dst / diff_dst
  Arg data, weights, bias, output;
  dnnl::memory scratchpad;
  ScratchMemory scratch;
  std::array<dnnl_exec_arg_t, 5> args{};
  int arg_count = 0;
};

PlanCache<Key, KeyHash, Plan>& plans() {
  static detail::NoDestructor<PlanCache<Key, KeyHash, Plan>> instance;
  return instance.get();
}

std::string describe(const Conv2dGeometry& g) {
  return "conv2d x [" + std::to_string(g.batch) + ", " + std::to_string(g.in_channels) + ", " +
         std::to_string(g.height) + ", " + std::to_string(g.width) + "], weight [" + std::to_string(g.out_channels) +
         ", " + std::to_string(g.in_channels / g.groups) + ", " + std::to_string(g.kernel_h) + ", " +
         std::to_string(g.kernel_w) + "], stride (" + std::to_string(g.stride_h) + ", " + std::to_string(g.stride_w) +
         "), groups " + std::to_string(g.groups);
}

struct Descs {
  dnnl::memory::desc src, weights, bias, dst;
  dims strides, dilates, pad_l, pad_r;
};

// The plain layouts (what the caller's memory holds) and, for the primitives, the same shapes
// in any layout.
Descs descs_of(const Conv2dGeometry& g, bool any_layout) {
  Descs d;
  const dims src{g.batch, g.in_channels, g.height, g.width};
  const dims dst{g.batch, g.out_channels, g.out_height(), g.out_width()};
  // Groups as oneDNN's leading weights axis: [G, O / G, C / G, KH, KW] is torch's
  // [O, C / G, KH, KW] memory read as it is.
  const dims weights = g.groups == 1 ? dims{g.out_channels, g.in_channels, g.kernel_h, g.kernel_w}
                                     : dims{g.groups, g.out_channels / g.groups, g.in_channels / g.groups,
                                            g.kernel_h, g.kernel_w};
  d.src = dnnl::memory::desc(src, kF32, any_layout ? tag::any : tag::nchw);
  d.dst = dnnl::memory::desc(dst, kF32, any_layout ? tag::any : tag::nchw);
  d.weights = dnnl::memory::desc(weights, kF32, any_layout ? tag::any : g.groups == 1 ? tag::oihw : tag::goihw);
  d.bias = dnnl::memory::desc({g.out_channels}, kF32, tag::x);
  d.strides = {g.stride_h, g.stride_w};
  d.dilates = {g.dilation_h - 1, g.dilation_w - 1};  // oneDNN counts the gaps: 0 is none
  d.pad_l = {g.pad_top, g.pad_left};
  d.pad_r = {g.pad_bottom, g.pad_right};
  return d;
}

dnnl::convolution_forward::primitive_desc forward_pd(const Descs& d, bool with_bias, const dnnl::primitive_attr& attr) {
  const dnnl::memory::desc no_bias;
  const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                              d.src, d.weights, with_bias ? d.bias : no_bias, d.dst, d.strides,
                                              d.dilates, d.pad_l, d.pad_r);
  return {desc, attr, cpu_engine()};
}

// Binds `arg` to the primitive's argument `name`: the caller's memory in the plain layout, or
// staged memory in the layout the primitive chose (`chosen`) with its reorder.
void add_arg(Plan& plan, int name, Arg& arg, const dnnl::memory::desc& plain, const dnnl::memory::desc& chosen,
             bool is_output, const Conv2dGeometry& g) {
  arg.user = dnnl::memory(plain, cpu_engine(), DNNL_MEMORY_NONE);
  arg.is_output = is_output;
  dnnl::memory* bound = &arg.user;
  if (chosen != plain) {
    arg.staged_bytes = allocate_scratch(chosen.get_size(), "cpu " + describe(g) + " (oneDNN): a reordered argument");
    arg.staged = dnnl::memory(chosen, cpu_engine(), arg.staged_bytes.get());
    const dnnl::memory& from = is_output ? arg.staged : arg.user;
    const dnnl::memory& to = is_output ? arg.user : arg.staged;
    arg.reorder = dnnl::reorder(dnnl::reorder::primitive_desc(from, to));
    arg.reorder_args = {{{DNNL_ARG_FROM, from.get()}, {DNNL_ARG_TO, to.get()}}};
    bound = &arg.staged;
  }
  plan.args[static_cast<std::size_t>(plan.arg_count++)] = {name, bound->get()};
}

void add_scratch(Plan& plan, const dnnl::memory::desc& md, const Conv2dGeometry& g) {
  if (const std::size_t bytes = md.get_size(); bytes > 0) {
    plan.scratch = allocate_scratch(bytes, "cpu " + describe(g) + " (oneDNN): scratch");
    plan.scratchpad = dnnl::memory(md, cpu_engine(), plan.scratch.get());
    plan.args[static_cast<std::size_t>(plan.arg_count++)] = {DNNL_ARG_SCRATCHPAD, plan.scratchpad.get()};
  }
}

std::unique_ptr<Plan> make_plan(const Key& key) {
  const Conv2dGeometry& g = key.geometry;
  const Descs plain = descs_of(g, false);
  const Descs d = descs_of(g, true);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  auto plan = std::make_unique<Plan>();
  plan->stream = dnnl::stream(cpu_engine());
  Plan& p = *plan;
  switch (key.direction) {
    case Direction::kForward: {
      const auto pd = forward_pd(d, key.has_bias, attr);
      p.primitive = dnnl::convolution_forward(pd);
      add_arg(p, DNNL_ARG_SRC, p.data, plain.src, pd.src_desc(), false, g);
      add_arg(p, DNNL_ARG_WEIGHTS, p.weights, plain.weights, pd.weights_desc(), false, g);
      if (key.has_bias) add_arg(p, DNNL_ARG_BIAS, p.bias, plain.bias, pd.bias_desc(), false, g);
      add_arg(p, DNNL_ARG_DST, p.output, plain.dst, pd.dst_desc(), true, g);
      add_scratch(p, pd.scratchpad_desc(), g);
      break;
    }
    case Direction::kBackwardData: {
      const auto hint = forward_pd(d, false, dnnl::primitive_attr());
      const dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, d.src, d.weights, d.dst,
                                                       d.strides, d.dilates, d.pad_l, d.pad_r);
      const dnnl::convolution_backward_data::primitive_desc pd(desc, attr, cpu_engine(), hint);
      p.primitive = dnnl::convolution_backward_data(pd);
      add_arg(p, DNNL_ARG_DIFF_DST, p.output, plain.dst, pd.diff_dst_desc(), false, g);
      add_arg(p, DNNL_ARG_WEIGHTS, p.weights, plain.weights, pd.weights_desc(), false, g);
      add_arg(p, DNNL_ARG_DIFF_SRC, p.data, plain.src, pd.diff_src_desc(), true, g);
      add_scratch(p, pd.scratchpad_desc(), g);
      break;
    }
    case Direction::kBackwardWeights: {
      const auto hint = forward_pd(d, key.has_bias, dnnl::primitive_attr());
      const dnnl::memory::desc no_bias;
      const dnnl::convolution_backward_weights::desc desc(dnnl::algorithm::convolution_direct, d.src, d.weights,
                                                          key.has_bias ? d.bias : no_bias, d.dst, d.strides,
                                                          d.dilates, d.pad_l, d.pad_r);
      const dnnl::convolution_backward_weights::primitive_desc pd(desc, attr, cpu_engine(), hint);
      p.primitive = dnnl::convolution_backward_weights(pd);
      add_arg(p, DNNL_ARG_SRC, p.data, plain.src, pd.src_desc(), false, g);
      add_arg(p, DNNL_ARG_DIFF_DST, p.output, plain.dst, pd.diff_dst_desc(), false, g);
      add_arg(p, DNNL_ARG_DIFF_WEIGHTS, p.weights, plain.weights, pd.diff_weights_desc(), true, g);
      if (key.has_bias) add_arg(p, DNNL_ARG_DIFF_BIAS, p.bias, plain.bias, pd.diff_bias_desc(), true, g);
      add_scratch(p, pd.scratchpad_desc(), g);
      break;
    }
  }
  return plan;
}

// Runs the plan for `key` on data, weights, bias and output pointers (their meaning per
// direction as in Plan).
void run(const Key& key, const float* data, const float* weights, const float* bias, const float* output) {
  prepare_for_exit();
  if (!usable()) {
    throw BackendError("cpu " + describe(key.geometry) + ": oneDNN has shut down (the process is exiting)");
  }
  if (omp_get_max_threads() != key.threads) omp_set_num_threads(key.threads);
  const char* what = key.direction == Direction::kForward        ? " forward"
                     : key.direction == Direction::kBackwardData ? " backward (data)"
                                                                 : " backward (weights)";
  try {
    auto lease = plans().take(key, [&] { return make_plan(key); });
    Plan& plan = lease.plan();
    const auto failed = [&] { return "cpu " + describe(key.geometry) + what + " (oneDNN)"; };
    const auto reorder = [&](Arg& arg, bool outputs) {
      if (arg.is_staged() && arg.is_output == outputs) {
        execute(arg.reorder, plan.stream, 2, arg.reorder_args.data(), failed);
      }
    };
    set_handle(plan.data.user, data);
    set_handle(plan.weights.user, weights);
    if (key.has_bias) set_handle(plan.bias.user, bias);
    set_handle(plan.output.user, output);
    for (Arg* arg : {&plan.data, &plan.weights, &plan.bias, &plan.output}) reorder(*arg, false);
    execute(plan.primitive, plan.stream, plan.arg_count, plan.args.data(), failed);
    for (Arg* arg : {&plan.data, &plan.weights, &plan.bias, &plan.output}) reorder(*arg, true);
  } catch (const dnnl::error& error) {
    throw BackendError("cpu " + describe(key.geometry) + what + " (oneDNN): cannot make the primitive: " + error.what());
  }
}

}  // namespace

void conv2d_forward(const Conv2dGeometry& g, const float* x, const float* w, const float* bias, float* y, int threads) {
  run({Direction::kForward, g, bias != nullptr, threads}, x, w, bias, y);
}

void conv2d_backward_data(const Conv2dGeometry& g, const float* grad_y, const float* w, float* grad_x, int threads) {
  run({Direction::kBackwardData, g, false, threads}, grad_x, w, nullptr, grad_y);
}

void conv2d_backward_weights(const Conv2dGeometry& g, const float* x, const float* grad_y, float* grad_w,
                             float* grad_bias, int threads) {
  run({Direction::kBackwardWeights, g, grad_bias != nullptr, threads}, x, grad_w, grad_bias, grad_y);
}

}  // namespace axon::cpu::onednn
