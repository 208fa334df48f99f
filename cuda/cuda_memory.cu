// The caching device allocator (see cuda_memory.h).
#include "cuda/cuda_memory.h"

#include <string>

#include "axon/error.h"
#include "core/src/backend_counters.h"
#include "cuda/cuda_check.h"

namespace axon::cuda {

namespace {

std::size_t round_up(std::size_t value, std::size_t granule) {
  return (value + granule - 1) / granule * granule;
}

std::string mib(std::size_t bytes) {
  return std::to_string(bytes / (1024 * 1024)) + " MiB";
}

}  // namespace

std::size_t CachingAllocator::round_size(std::size_t bytes) {
  if (bytes == 0) return kSmallGranule;
  if (bytes <= kSmallLimit) return round_up(bytes, kSmallGranule);
  return round_up(bytes, kLargeGranule);
}

CachingAllocator::~CachingAllocator() {
  // At process exit the CUDA runtime may already be gone: then every call fails and the driver
  // reclaims the memory with the process. Errors are ignored, never thrown.
  for (auto& [size, blocks] : free_) {
    for (void* block : blocks) {
      if (cudaFree(block) != cudaSuccess) {
        cudaGetLastError();
        return;
      }
    }
  }
  for (const ScratchSlot& slot : scratch_) {
    if (slot.block != nullptr && cudaFree(slot.block) != cudaSuccess) {
      cudaGetLastError();
      return;
    }
  }
}

void* CachingAllocator::take_block_locked(std::size_t size, std::size_t bytes) {
  void* block = nullptr;
  auto cached = free_.find(size);
  if (cached != free_.end() && !cached->second.empty()) {
    block = cached->second.back();
    cached->second.pop_back();
    counters_.cached_bytes -= size;
  } else {
    cudaError_t status = cudaMalloc(&block, size);
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();  // clear it; an allocation failure is not sticky
      release_cache_locked();
      status = cudaMalloc(&block, size);
    }
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      std::size_t free_bytes = 0, total_bytes = 0;
      if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) cudaGetLastError();
      throw OutOfMemory("cuda:" + std::to_string(device_) + " is out of memory: " +
                            std::to_string(bytes) + " bytes requested (" + mib(size) +
                            " rounded), " + std::to_string(free_bytes) + " bytes free of " +
                            std::to_string(total_bytes) + ", " + std::to_string(counters_.live_bytes) +
                            " bytes in live tensors",
                        bytes, free_bytes);
    }
    if (status != cudaSuccess) throw_cuda_error(status, "cudaMalloc", __FILE__, __LINE__);
  }
  return block;
}

void* CachingAllocator::allocate(std::size_t bytes) {
  axon::detail::count(axon::detail::backend_counters().allocations);  // served from the cache or not
  const std::size_t size = round_size(bytes);
  std::lock_guard lock(mutex_);
  void* block = take_block_locked(size, bytes);
  try {
    live_.emplace(block, size);
  } catch (...) {
    // Bookkeeping failed (host out of memory): give the block back rather than leak it.
    free_[size].push_back(block);
    counters_.cached_bytes += size;
    throw;
  }
  counters_.live_bytes += size;
  if (counters_.live_bytes > counters_.peak_bytes) counters_.peak_bytes = counters_.live_bytes;
  return block;
}

void CachingAllocator::deallocate(void* pointer) noexcept {
  if (pointer == nullptr) return;
  std::lock_guard lock(mutex_);
  const auto it = live_.find(pointer);
  if (it == live_.end()) return;
  const std::size_t size = it->second;
  live_.erase(it);
  counters_.live_bytes -= size;
  try {
    free_[size].push_back(pointer);
    counters_.cached_bytes += size;
  } catch (...) {
    // No host memory for the free list: return the block to the driver instead.
    if (cudaFree(pointer) != cudaSuccess) cudaGetLastError();
  }
}

void* CachingAllocator::lease_scratch(std::size_t bytes, int& slot) {
  {
    std::lock_guard lock(mutex_);
    if (ScratchSlot* chosen = lease_slot_locked(round_size(bytes), bytes)) {
      slot = static_cast<int>(chosen - scratch_.data());
      return chosen->block;
    }
  }
  slot = -1;  // every slot leased (ops launching on several threads at once): a plain block
  return allocate(bytes);
}

CachingAllocator::ScratchSlot* CachingAllocator::lease_slot_locked(std::size_t size, std::size_t bytes) {
  // A free slot large enough; else the first free slot, grown (its old block cached).
  for (ScratchSlot& s : scratch_) {
    if (!s.leased && s.block != nullptr && s.size >= size) {
      s.leased = true;
      return &s;
    }
  }
  ScratchSlot* chosen = nullptr;
  for (ScratchSlot& s : scratch_) {
    if (!s.leased) {
      chosen = &s;
      break;
    }
  }
  if (chosen == nullptr) return nullptr;
  axon::detail::count(axon::detail::backend_counters().allocations);  // a growth: planning, not a steady step
  chosen->leased = true;  // (release_cache_locked leaves a leased slot alone)
  if (chosen->block != nullptr) {
    try {
      free_[chosen->size].push_back(chosen->block);  // its bytes stay counted as cached
    } catch (...) {
      if (cudaFree(chosen->block) != cudaSuccess) cudaGetLastError();
      counters_.cached_bytes -= chosen->size;
    }
    chosen->block = nullptr;
    chosen->size = 0;
  }
  try {
    chosen->block = take_block_locked(size, bytes);
  } catch (...) {
    chosen->leased = false;
    throw;
  }
  chosen->size = size;
  counters_.cached_bytes += size;
  return chosen;
}

void CachingAllocator::return_scratch(void* pointer, int slot) noexcept {
  if (slot < 0) {
    deallocate(pointer);
    return;
  }
  std::lock_guard lock(mutex_);
  scratch_[static_cast<std::size_t>(slot)].leased = false;
}

void CachingAllocator::release_cache() {
  std::lock_guard lock(mutex_);
  release_cache_locked();
}

void CachingAllocator::release_cache_locked() {
  // Blocks on the free lists may still be read or written by queued work of their last user.
  AXON_CUDA_CHECK(cudaStreamSynchronize(stream_));
  for (auto it = free_.begin(); it != free_.end();) {
    auto& blocks = it->second;
    while (!blocks.empty()) {
      AXON_CUDA_CHECK(cudaFree(blocks.back()));
      blocks.pop_back();
      counters_.cached_bytes -= it->first;
    }
    it = free_.erase(it);
  }
  for (ScratchSlot& slot : scratch_) {
    if (slot.leased || slot.block == nullptr) continue;
    AXON_CUDA_CHECK(cudaFree(slot.block));
    counters_.cached_bytes -= slot.size;
    slot.block = nullptr;
    slot.size = 0;
  }
}

void CachingAllocator::abandon() noexcept {
  std::lock_guard lock(mutex_);
  scratch_ = {};
  free_.clear();
  live_.clear();
  counters_.live_bytes = 0;
  counters_.cached_bytes = 0;
}

MemoryCounters CachingAllocator::stats() const {
  std::lock_guard lock(mutex_);
  return counters_;
}

}  // namespace axon::cuda
