// Matrix products on oneDNN's matmul primitive, made once per shape and cached
// (onednn_common.h: plans, leases). What the engine still allocates on every execution is its
// own argument map (dnnl_primitive_execute builds a std::unordered_map of the arguments): the
// tests count it exactly (testing_hooks.h).
#include "cpu/onednn_gemm.h"

#include <omp.h>

#include <array>
#include <atomic>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "axon/error.h"
#include "core/src/no_destructor.h"
#include "core/src/testing_hooks.h"
#include "cpu/onednn_common.h"

namespace axon::cpu::onednn {

namespace {

struct Key {
  bool transpose_a, transpose_b, has_bias;
  std::int64_t m, n, k, lda, ldb, ldc;
  std::uint32_t alpha_bits, beta_bits;
  int threads;
  bool operator==(const Key&) const = default;
};

struct KeyHash {
  std::size_t operator()(const Key& key) const noexcept {
    std::size_t h = static_cast<std::size_t>(key.transpose_a) | static_cast<std::size_t>(key.transpose_b) << 1 |
                    static_cast<std::size_t>(key.has_bias) << 2;
    const auto mix = [&](std::uint64_t v) { h = (h ^ v) * 0x100000001b3ULL + (h >> 29); };
    for (const std::int64_t v : {key.m, key.n, key.k, key.lda, key.ldb, key.ldc}) mix(static_cast<std::uint64_t>(v));
    mix(key.alpha_bits);
    mix(key.beta_bits);
    mix(static_cast<std::uint64_t>(key.threads));
    return h;
  }
};

struct Plan {
  dnnl::matmul primitive;
  dnnl::stream stream;  // one per plan: a plan runs on one thread at a time
  dnnl::memory src, weights, bias, dst, scratchpad;
  ScratchMemory scratch;
  std::array<dnnl_exec_arg_t, 5> args{};
  int arg_count = 0;
};

std::atomic<bool> g_exiting{false};
std::atomic<std::int64_t> g_executions{0};
std::atomic<int> g_running{0};  // executions in progress, for the tests (testing_hooks.h)

PlanCache<Key, KeyHash, Plan>& plans() {
  static detail::NoDestructor<PlanCache<Key, KeyHash, Plan>> instance;
  return instance.get();
}

std::string shapes_of(const Product& p) {
  return "[" + std::to_string(p.m) + ", " + std::to_string(p.k) + "] @ [" + std::to_string(p.k) + ", " +
         std::to_string(p.n) + "]" + (p.transpose_a ? " (a transposed)" : "") +
         (p.transpose_b ? " (b transposed)" : "");
}

dnnl::memory::desc matrix(std::int64_t rows, std::int64_t cols, bool transposed, std::int64_t ld) {
  // Row-major [rows, cols] with row length ld; its transpose is the same memory with the
  // strides swapped.
  return {{rows, cols}, dnnl::memory::data_type::f32,
          transposed ? dnnl::memory::dims{1, ld} : dnnl::memory::dims{ld, 1}};
}

std::unique_ptr<Plan> make_plan(const Product& p) {
  const dnnl::engine& engine = cpu_engine();
  const bool few_rows = p.m < kFewRows;
  const std::int64_t rows = few_rows ? DNNL_RUNTIME_DIM_VAL : p.m;
  const auto a_md = [&](std::int64_t m) { return matrix(m, p.k, p.transpose_a, p.lda); };
  const auto c_md = [&](std::int64_t m) { return matrix(m, p.n, false, p.ldc); };
  const dnnl::memory::desc b_md = matrix(p.k, p.n, p.transpose_b, p.ldb);
  const dnnl::memory::desc bias_md({1, p.n}, dnnl::memory::data_type::f32, dnnl::memory::dims{p.n, 1});

  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (p.alpha != 1.0f) attr.set_output_scales(0, {p.alpha});
  if (p.beta != 0.0f) {
    dnnl::post_ops ops;
    ops.append_sum(p.beta);
    attr.set_post_ops(ops);
  }
  const dnnl::matmul::desc desc = p.bias != nullptr ? dnnl::matmul::desc(a_md(rows), b_md, bias_md, c_md(rows))
                                                    : dnnl::matmul::desc(a_md(rows), b_md, c_md(rows));
  const dnnl::matmul::primitive_desc pd(desc, attr, engine);

  auto plan = std::make_unique<Plan>();
  plan->primitive = dnnl::matmul(pd);
  plan->stream = dnnl::stream(engine);
  // The memory objects describe this call's rows (a run-time row count is fixed per plan).
  plan->src = dnnl::memory(a_md(p.m), engine, DNNL_MEMORY_NONE);
  plan->weights = dnnl::memory(b_md, engine, DNNL_MEMORY_NONE);
  plan->dst = dnnl::memory(c_md(p.m), engine, DNNL_MEMORY_NONE);
  plan->args[0] = {DNNL_ARG_SRC, plan->src.get()};
  plan->args[1] = {DNNL_ARG_WEIGHTS, plan->weights.get()};
  plan->args[2] = {DNNL_ARG_DST, plan->dst.get()};
  plan->arg_count = 3;
  if (p.bias != nullptr) {
    plan->bias = dnnl::memory(bias_md, engine, DNNL_MEMORY_NONE);
    plan->args[static_cast<std::size_t>(plan->arg_count++)] = {DNNL_ARG_BIAS, plan->bias.get()};
  }
  const dnnl::memory::desc scratch_md = pd.scratchpad_desc();
  if (const std::size_t bytes = scratch_md.get_size(); bytes > 0) {
    plan->scratch = allocate_scratch(bytes, "cpu gemm (oneDNN): scratch for " + shapes_of(p));
    plan->scratchpad = dnnl::memory(scratch_md, engine, plan->scratch.get());
    plan->args[static_cast<std::size_t>(plan->arg_count++)] = {DNNL_ARG_SCRATCHPAD, plan->scratchpad.get()};
  }
  return plan;
}

const char* isa_name(dnnl::cpu_isa isa) {
  switch (isa) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_mic: return "avx512_mic";
    case dnnl::cpu_isa::avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "generic";
  }
}

void run(const Product& p, int threads) {
  // The primitive sizes its work for the calling thread's OpenMP setting: make it the pool's.
  if (omp_get_max_threads() != threads) omp_set_num_threads(threads);
  const Key key{p.transpose_a, p.transpose_b, p.bias != nullptr, p.m, p.n, p.k, p.lda, p.ldb, p.ldc,
                std::bit_cast<std::uint32_t>(p.alpha), std::bit_cast<std::uint32_t>(p.beta), threads};
  try {
    auto lease = plans().take(key, [&] { return make_plan(p); });
    Plan& plan = lease.plan();
    set_handle(plan.src, p.a);
    set_handle(plan.weights, p.b);
    set_handle(plan.dst, p.c);
    if (p.bias != nullptr) set_handle(plan.bias, p.bias);
    execute(plan.primitive, plan.stream, plan.arg_count, plan.args.data(),
            [&] { return "cpu gemm (oneDNN): the matmul " + shapes_of(p); });
  } catch (const dnnl::error& error) {
    throw BackendError("cpu gemm (oneDNN): cannot make the matmul " + shapes_of(p) + ": " + error.what());
  }
}

}  // namespace

// Once, before the first product. oneDNN keeps state in function-local statics (its primitive
// cache, its JIT kernels) that are destroyed at exit in reverse order of construction, so an op
// from a user's static destructor could reach oneDNN after that state is gone. Making primitives
// here builds it; the handler registered after it runs before it is destroyed, and from then on
// usable() is false (the backend multiplies with OpenBLAS).
void prepare_for_exit() {
  static const bool prepared = [] {
    Product probe{.m = 1, .n = 1, .k = 1};
    const float one = 1.0f;
    float out = 0.0f;
    probe.a = &one;
    probe.lda = 1;
    probe.b = &one;
    probe.ldb = 1;
    probe.c = &out;
    probe.ldc = 1;
    run(probe, 1);
    probe.m = kFewRows;  // the brgemm kernels' state too
    std::vector<float> a(kFewRows, 1.0f), c(kFewRows);
    probe.a = a.data();
    probe.c = c.data();
    run(probe, 1);
    std::atexit([] { g_exiting.store(true, std::memory_order_release); });
    return true;
  }();
  (void)prepared;
}

bool usable() { return !g_exiting.load(std::memory_order_acquire); }

dnnl::engine& cpu_engine() {
  static detail::NoDestructor<dnnl::engine> engine(dnnl::engine::kind::cpu, 0);
  return engine.get();
}

Running::Running() { g_running.fetch_add(1, std::memory_order_relaxed); }
Running::~Running() {
  g_running.fetch_sub(1, std::memory_order_relaxed);
  g_executions.fetch_add(1, std::memory_order_relaxed);
}

ScratchMemory allocate_scratch(std::size_t bytes, const std::string& what) {
  if (bytes == 0) return {};
  const std::size_t rounded = (bytes + 63) / 64 * 64;
  ScratchMemory memory(std::aligned_alloc(64, rounded));
  if (!memory) throw OutOfMemory(what + ": cannot allocate " + std::to_string(bytes) + " bytes", bytes, 0);
  return memory;
}

dnnl_status_t run_primitive(const dnnl::primitive& primitive, const dnnl::stream& stream, int count,
                            const dnnl_exec_arg_t* args) {
  const Running running;
  return dnnl_primitive_execute(primitive.get(), stream.get(), count, args);
}

void throw_failed(const std::string& what, dnnl_status_t status) {
  throw BackendError(what + ": execution failed with oneDNN status " + std::to_string(static_cast<int>(status)));
}

void multiply(const Product& product, int threads) {
  prepare_for_exit();
  run(product, threads);
}

std::string describe() {
  const dnnl_version_t* version = dnnl_version();
  return "oneDNN " + std::to_string(version->major) + "." + std::to_string(version->minor) + "." +
         std::to_string(version->patch) + ", ISA " + isa_name(dnnl::get_effective_cpu_isa());
}

}  // namespace axon::cpu::onednn

namespace axon::testing {
std::int64_t cpu_engine_executions() { return cpu::onednn::g_executions.load(std::memory_order_relaxed); }
int cpu_engine_running() { return cpu::onednn::g_running.load(std::memory_order_relaxed); }
}  // namespace axon::testing
