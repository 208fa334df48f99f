#pragma once
// Cached cublasLt plans for the fused linear (GEMM with the bias in its epilogue): the matmul
// descriptor, the three layouts and the algorithm the heuristic chose, per (batch, in, out,
// TF32). A step asks the heuristic once per shape, not on every call; the bias pointer, the
// only per-call attribute, is set on the cached descriptor under the cache's lock, which the
// caller holds until the matmul is queued.
#include <cublasLt.h>

#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

namespace axon::cuda {

struct LtDescDeleter {
  void operator()(cublasLtMatmulDescOpaque_t* desc) const { cublasLtMatmulDescDestroy(desc); }
};
struct LtLayoutDeleter {
  void operator()(cublasLtMatrixLayoutOpaque_t* layout) const { cublasLtMatrixLayoutDestroy(layout); }
};
using LtDesc = std::unique_ptr<cublasLtMatmulDescOpaque_t, LtDescDeleter>;
using LtLayout = std::unique_ptr<cublasLtMatrixLayoutOpaque_t, LtLayoutDeleter>;

struct LtPlanKey {
  std::int64_t batch, in, out;
  bool tf32;
  auto operator<=>(const LtPlanKey&) const = default;
};

struct LtPlan {
  LtDesc desc;
  LtLayout a, b, d;  // w read column-major [in, out]; x [in, batch]; the product [out, batch]
  cublasLtMatmulAlgo_t algo{};
  bool found = false;  // false: no fused kernel for this shape, the caller uses GEMM + bias pass
};

class LtPlans {
 public:
  // The plan for `key`, made on first use (every operand 16-byte aligned; a workspace of
  // `workspace_bytes`). The caller holds mutex().
  const LtPlan& get(cublasLtHandle_t handle, const LtPlanKey& key, std::size_t workspace_bytes);
  std::mutex& mutex() { return mutex_; }
  std::size_t size() const { return plans_.size(); }

 private:
  std::mutex mutex_;
  std::map<LtPlanKey, std::unique_ptr<LtPlan>> plans_;
};

}  // namespace axon::cuda
