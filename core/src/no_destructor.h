#pragma once
// NoDestructor<T>: a T that is built on first use and never destroyed. For process-wide state
// that a user's static destructor may still reach at exit (the backend registry): C++ destroys
// function-local statics in reverse order of construction, so an ordinary static built after the
// user's would be gone when the user's destructor runs an op.
#include <new>
#include <utility>

namespace axon::detail {

template <class T>
class NoDestructor {
 public:
  template <class... Args>
  explicit NoDestructor(Args&&... args) {
    ::new (static_cast<void*>(storage_)) T(std::forward<Args>(args)...);
  }
  NoDestructor(const NoDestructor&) = delete;
  NoDestructor& operator=(const NoDestructor&) = delete;
  // No destructor: the T lives until the process ends; the OS reclaims its memory.

  T& get() { return *std::launder(reinterpret_cast<T*>(storage_)); }

 private:
  alignas(T) unsigned char storage_[sizeof(T)];
};

}  // namespace axon::detail
