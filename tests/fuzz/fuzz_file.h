#pragma once
// The readers take paths: each fuzz input is written into one in-memory file (memfd) and read
// back through /proc/self/fd, so the fuzzer exercises the same code a user's file does, with no
// disk traffic. A reader may throw only axon::Error; anything else escapes, terminates the
// process and is reported by libFuzzer as a crash with its input saved.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace axon_fuzz {

class InputFile {
 public:
  InputFile() : fd_(memfd_create("axon-fuzz-input", 0)) {
    if (fd_ < 0) std::abort();
  }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  ~InputFile() { close(fd_); }

  // Replaces the file's bytes; returns its path.
  std::filesystem::path write(const std::uint8_t* data, std::size_t size) const {
    if (ftruncate(fd_, 0) != 0) std::abort();
    std::size_t written = 0;
    while (written < size) {
      const ssize_t n = pwrite(fd_, data + written, size - written, static_cast<off_t>(written));
      if (n <= 0) std::abort();
      written += static_cast<std::size_t>(n);
    }
    return "/proc/self/fd/" + std::to_string(fd_);
  }

 private:
  int fd_;
};

}  // namespace axon_fuzz
