#pragma once
// Device memory of one GPU: a caching allocator (blocks are kept on free lists by size class and
// handed out again, so a training loop does not call cudaMalloc/cudaFree at steady state).
//
// Stream safety: every kernel and copy of a device runs on its backend's one stream, so a block
// freed on the host while work that uses it is still queued can be handed out at once: the next
// user's work is queued behind it on the same stream. release_cache() synchronizes the stream
// before it returns memory to the driver.
#include <cuda_runtime.h>

#include <array>
#include <cstddef>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace axon::cuda {

struct MemoryCounters {
  std::size_t live_bytes = 0;    // in blocks handed out (rounded sizes)
  std::size_t peak_bytes = 0;    // the largest live_bytes seen
  std::size_t cached_bytes = 0;  // in blocks kept on the free lists
};

class CachingAllocator {
 public:
  // Small requests round up to kSmallGranule, large ones to kLargeGranule.
  static constexpr std::size_t kSmallGranule = 512;
  static constexpr std::size_t kSmallLimit = std::size_t{1} << 20;  // 1 MiB
  static constexpr std::size_t kLargeGranule = std::size_t{2} << 20;  // 2 MiB

  // The caller has made `device` current for every call below.
  CachingAllocator(int device, cudaStream_t stream) : device_(device), stream_(stream) {}
  ~CachingAllocator();  // frees the cached blocks; never throws
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  static std::size_t round_size(std::size_t bytes);

  // Throws axon::OutOfMemory when the device cannot satisfy the request even after the cache
  // was released; axon::BackendError on any other CUDA failure.
  void* allocate(std::size_t bytes);
  // Returns the block to its free list. Unknown pointers are ignored (never throws).
  void deallocate(void* pointer) noexcept;
  // Synchronizes the stream and cudaFree()s every cached block.
  void release_cache();
  MemoryCounters stats() const;
  // Forgets every block without freeing it: for a destructor that runs after the CUDA runtime
  // was torn down (process exit), when the driver reclaims the memory anyway.
  void abandon() noexcept;

  // Scratch for one op's launches (ScratchBuffer): a few blocks the allocator keeps, each grown
  // to the largest request it has served, so that a planned step asks for no memory. A slot is
  // leased to one ScratchBuffer at a time (`slot` says which; -1: every slot was leased and the
  // block is a plain allocation); its bytes count as cached. Returned at once after the op's
  // launches, as any block: the next user's work queues behind them on the one stream.
  void* lease_scratch(std::size_t bytes, int& slot);
  void return_scratch(void* pointer, int slot) noexcept;

 private:
  struct ScratchSlot {
    void* block = nullptr;
    std::size_t size = 0;
    bool leased = false;
  };

  void release_cache_locked();  // mutex_ held
  // A block of `size` (rounded) bytes from the free lists or the driver, the cache released
  // and retried once when the device is full; OutOfMemory names `bytes`. mutex_ held.
  void* take_block_locked(std::size_t size, std::size_t bytes);
  // A slot leased for `size` bytes (grown if none is large enough), or null when all are leased.
  ScratchSlot* lease_slot_locked(std::size_t size, std::size_t bytes);

  int device_;
  cudaStream_t stream_;
  mutable std::mutex mutex_;
  std::unordered_map<void*, std::size_t> live_;         // pointer -> rounded size
  std::map<std::size_t, std::vector<void*>> free_;      // rounded size -> cached blocks
  MemoryCounters counters_;
  std::array<ScratchSlot, 4> scratch_{};
};

// A scratch block leased from the caching allocator's scratch slots, returned at scope exit.
// Safe to return while the kernels that use it are still queued (see the stream-safety note
// above).
class ScratchBuffer {
 public:
  ScratchBuffer(CachingAllocator& allocator, std::size_t bytes)
      : allocator_(allocator), pointer_(allocator.lease_scratch(bytes, slot_)) {}
  ~ScratchBuffer() { allocator_.return_scratch(pointer_, slot_); }
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;
  template <class T>
  T* as() const { return static_cast<T*>(pointer_); }

 private:
  CachingAllocator& allocator_;
  int slot_ = -1;  // (set by lease_scratch before pointer_ is: declared first)
  void* pointer_;
};

}  // namespace axon::cuda
