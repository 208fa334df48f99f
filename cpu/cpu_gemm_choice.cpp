// The CPU backend's choice of GEMM library (axon/cpu_gemm.h).
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <string>

#include "axon/cpu_gemm.h"
#include "axon/error.h"
#include "cpu/onednn_gemm.h"
#include "cpu/parallel.h"

namespace axon {

namespace {

std::atomic<CpuGemm> g_engine{CpuGemm::kOneDnn};
std::once_flag g_from_environment;

// Reads AXON_CPU_GEMM once; a bad value throws on every call until the program sets an engine.
void read_environment() {
  std::call_once(g_from_environment, [] {
    const char* value = std::getenv("AXON_CPU_GEMM");
    if (value == nullptr || *value == '\0') return;
    const std::string name(value);
    if (name == "onednn") {
      g_engine.store(CpuGemm::kOneDnn);
    } else if (name == "openblas") {
      g_engine.store(CpuGemm::kOpenBlas);
    } else {
      throw ValueError("AXON_CPU_GEMM=" + name + ": the CPU GEMM library must be onednn or openblas");
    }
  });
}

}  // namespace

void set_cpu_gemm(CpuGemm engine) {
  if (engine != CpuGemm::kOneDnn && engine != CpuGemm::kOpenBlas) {
    throw ValueError("axon::set_cpu_gemm: unknown engine " + std::to_string(static_cast<int>(engine)));
  }
  std::call_once(g_from_environment, [] {});  // the program's choice wins over the environment
  g_engine.store(engine);
}

CpuGemm cpu_gemm() {
  read_environment();
  return g_engine.load(std::memory_order_relaxed);
}

const char* cpu_gemm_name(CpuGemm engine) {
  switch (engine) {
    case CpuGemm::kOneDnn: return "onednn";
    case CpuGemm::kOpenBlas: return "openblas";
  }
  return "unknown";
}

namespace cpu {
bool gemm_on_onednn() { return cpu_gemm() == CpuGemm::kOneDnn && onednn::usable(); }
}  // namespace cpu

}  // namespace axon
