// CPU memory, fills and the backend's registration.
#include "cpu/cpu_backend.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "axon/error.h"
#include "core/src/backend_counters.h"
#include "core/src/builtin_backends.h"
#include "core/src/philox.h"
#include "cpu/parallel.h"

namespace axon::cpu {

namespace {

// 64-byte alignment: a cache line, and enough for any vector load.
constexpr std::size_t kAlignment = 64;

// Bytes in `pages_name` (_SC_PHYS_PAGES: all memory, _SC_AVPHYS_PAGES: free now); 0 if unknown.
std::size_t memory_bytes(int pages_name) {
  const long pages = sysconf(pages_name);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page_size > 0 ? static_cast<std::size_t>(pages) * static_cast<std::size_t>(page_size) : 0;
}

[[noreturn]] void throw_out_of_memory(std::size_t bytes) {
  const std::size_t available = memory_bytes(_SC_AVPHYS_PAGES);
  throw OutOfMemory("cpu: cannot allocate " + std::to_string(bytes) + " bytes (" +
                        std::to_string(available) + " bytes of memory available)",
                    bytes, available);
}

}  // namespace

void* CpuBackend::allocate(std::size_t bytes) {
  axon::detail::count(axon::detail::backend_counters().allocations);
  // Refuse what the machine cannot hold before asking: with overcommit, a huge malloc can
  // "succeed" and the process dies later when the pages are touched.
  const std::size_t physical = memory_bytes(_SC_PHYS_PAGES);
  if (physical > 0 && bytes > physical) throw_out_of_memory(bytes);
  const std::size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  void* pointer = std::aligned_alloc(kAlignment, rounded);
  if (pointer == nullptr) throw_out_of_memory(bytes);
  const std::size_t live = live_bytes_.fetch_add(bytes) + bytes;
  std::size_t peak = peak_bytes_.load();
  while (live > peak && !peak_bytes_.compare_exchange_weak(peak, live)) {
  }
  return pointer;
}

void CpuBackend::deallocate(void* pointer, std::size_t bytes) noexcept {
  std::free(pointer);
  live_bytes_.fetch_sub(bytes);
}

MemoryStats CpuBackend::memory_stats() const { return {live_bytes_.load(), peak_bytes_.load(), 0}; }

void CpuBackend::copy_from_host(void* device_dst, const void* host_src, std::size_t bytes) {
  std::memcpy(device_dst, host_src, bytes);
}

void CpuBackend::copy_to_host(void* host_dst, const void* device_src, std::size_t bytes) {
  std::memcpy(host_dst, device_src, bytes);
}

void CpuBackend::copy_on_device(void* dst, const void* src, std::size_t bytes) {
  const auto* from = static_cast<const char*>(src);
  auto* to = static_cast<char*>(dst);
  const bool overlap = from < to + bytes && to < from + bytes;
  // Large copies use every thread (one core cannot saturate memory bandwidth); overlapping
  // ranges (a view copied onto itself shifted) keep memmove's semantics on one thread.
  constexpr std::int64_t kParallelBytes = std::int64_t{1} << 20;
  if (overlap || static_cast<std::int64_t>(bytes) < kParallelBytes) {
    std::memmove(dst, src, bytes);
    return;
  }
  parallel_for(static_cast<std::int64_t>(bytes), kParallelBytes, [=](std::int64_t begin, std::int64_t end) {
    std::memcpy(to + begin, from + begin, static_cast<std::size_t>(end - begin));
  });
}

void CpuBackend::fill(const Tensor& out, float value) {
  const std::int64_t n = out.numel();
  if (out.dtype() == DType::kInt32) {
    std::fill_n(out.data<std::int32_t>(), n, static_cast<std::int32_t>(value));
    return;
  }
  std::fill_n(out.data<float>(), n, value);
}

void CpuBackend::fill_uniform(const Tensor& out, float low, float high, PhiloxSlice slice) {
  const std::int64_t n = out.numel();
  float* data = out.data<float>();
  parallel_for(n, kParallelElements / 8, [=](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      data[i] = philox::uniform_at(slice.seed, slice.offset, static_cast<std::uint64_t>(i), low, high);
    }
  });
}

void CpuBackend::fill_normal(const Tensor& out, float mean, float stddev, PhiloxSlice slice) {
  const std::int64_t n = out.numel();
  float* data = out.data<float>();
  parallel_for(n, kParallelElements / 8, [=](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      data[i] = philox::normal_at(slice.seed, slice.offset, static_cast<std::uint64_t>(i), mean, stddev);
    }
  });
}

}  // namespace axon::cpu

namespace axon::detail {
std::shared_ptr<Backend> make_cpu_backend() { return std::make_shared<cpu::CpuBackend>(); }
}  // namespace axon::detail
