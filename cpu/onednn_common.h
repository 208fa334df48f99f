#pragma once
// What the CPU backend's oneDNN primitives share (onednn_gemm.cpp, onednn_conv.cpp): the engine,
// the count of executions the allocation tests read (testing_hooks.h), scratch memory, and a
// cache of plans keyed by shape.
//
// A plan is one primitive with its memory objects (their data pointers set per call) and its
// scratch (user scratchpad mode: oneDNN asks for no memory of its own while it runs). A plan
// serves one call at a time: a caller takes it out of the cache, runs it and gives it back, so
// two threads with the same shapes each get a plan of their own, and a steady step makes no
// plan, no memory object and no scratch.
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

namespace axon::cpu::onednn {

// The CPU engine every primitive runs on.
dnnl::engine& cpu_engine();

// Call before making a primitive: arranges that usable() (onednn_gemm.h) turns false at exit
// before oneDNN's own statics are destroyed (onednn_gemm.cpp says how).
void prepare_for_exit();

// Marks an execution in progress, and counts it when it ends.
class Running {
 public:
  Running();
  ~Running();
  Running(const Running&) = delete;
  Running& operator=(const Running&) = delete;
};

// oneDNN reads the inputs only; its API takes every handle as void*.
inline void set_handle(const dnnl::memory& memory, const void* data) {
  dnnl_memory_set_data_handle(memory.get(), const_cast<void*>(data));
}

struct FreeDeleter {
  void operator()(void* p) const noexcept { std::free(p); }
};
using ScratchMemory = std::unique_ptr<void, FreeDeleter>;

// 64-byte aligned memory for a primitive's scratchpad (none for 0 bytes); OutOfMemory naming
// `what` when the machine has not got it.
ScratchMemory allocate_scratch(std::size_t bytes, const std::string& what);

// Runs a made primitive with its argument list, counted (Running).
dnnl_status_t run_primitive(const dnnl::primitive& primitive, const dnnl::stream& stream, int count,
                            const dnnl_exec_arg_t* args);
[[noreturn]] void throw_failed(const std::string& what, dnnl_status_t status);

// ... and BackendError naming what() on failure: the message is made only then, so a steady
// call allocates nothing.
template <class What>
void execute(const dnnl::primitive& primitive, const dnnl::stream& stream, int count, const dnnl_exec_arg_t* args,
             const What& what) {
  const dnnl_status_t status = run_primitive(primitive, stream, count, args);
  if (status != dnnl_success) throw_failed(what(), status);
}

// Idle plans kept at most per cache; past it the cache starts afresh (a program that runs ever
// new shapes, e.g. inference at every batch size, must not grow without bound).
inline constexpr std::size_t kMaxIdlePlans = 512;

template <class Key, class Hash, class Plan>
class PlanCache {
 public:
  // A plan taken out of the cache, given back when the lease ends (thrown or not).
  class Lease {
   public:
    Lease(PlanCache& cache, Key key, std::unique_ptr<Plan> plan)
        : cache_(cache), key_(std::move(key)), plan_(std::move(plan)) {}
    ~Lease() { cache_.give_back(key_, std::move(plan_)); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Plan& plan() { return *plan_; }

   private:
    PlanCache& cache_;
    Key key_;
    std::unique_ptr<Plan> plan_;
  };

  // An idle plan for `key`, or make() a new one (outside the lock: making a primitive can take
  // a millisecond).
  template <class Make>
  Lease take(const Key& key, const Make& make) {
    std::unique_ptr<Plan> plan;
    {
      const std::lock_guard lock(mutex_);
      const auto found = idle_.find(key);
      if (found != idle_.end() && !found->second.empty()) {
        plan = std::move(found->second.back());
        found->second.pop_back();
        --idle_count_;
      }
    }
    if (!plan) plan = make();
    return Lease(*this, key, std::move(plan));
  }

 private:
  void give_back(const Key& key, std::unique_ptr<Plan> plan) {
    const std::lock_guard lock(mutex_);
    if (idle_count_ >= kMaxIdlePlans) {
      idle_.clear();
      idle_count_ = 0;
    }
    idle_[key].push_back(std::move(plan));
    ++idle_count_;
  }

  std::mutex mutex_;
  std::unordered_map<Key, std::vector<std::unique_ptr<Plan>>, Hash> idle_;
  std::size_t idle_count_ = 0;
};

}  // namespace axon::cpu::onednn
