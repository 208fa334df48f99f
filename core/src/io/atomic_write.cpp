// write_file_atomically (axon/io/safetensors.h): every save of a model, checkpoint or log.
//
// The bytes go to a temporary file beside the target, are fsynced and renamed over it, and the
// folder is fsynced: a crash leaves the old file or the new one, never a mix. Beyond that:
// - a symbolic link is written through: the file it points at is replaced, the link stays;
// - an existing file keeps its permission bits; a new one gets 0666 less the umask, as any
//   program's new file does;
// - a writer holds an exclusive flock on its temporary file for as long as it writes, so the
//   next save of the same target can tell the temporaries of writers that were killed
//   (unlocked, and older than a few seconds) from those of writers still at work, and removes
//   them: a job preempted again and again does not fill its folder.
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <random>
#include <string>
#include <utility>

#include "axon/error.h"
#include "axon/io/safetensors.h"

namespace axon::io {

namespace {

// A temporary file left this long without its writer's lock belongs to a writer that is gone
// (a live one takes the lock right after creating the file).
constexpr std::time_t kStaleSeconds = 5;

std::string system_error(const std::string& what, const std::filesystem::path& path) {
  return what + " " + path.string() + ": " + std::strerror(errno);
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd& operator=(Fd&&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// The file a save of `path` replaces: `path` itself, or what its symbolic links lead to.
std::filesystem::path save_target(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_symlink(std::filesystem::symlink_status(path, ec))) return path;
  const std::filesystem::path target = std::filesystem::weakly_canonical(path, ec);
  if (ec) throw Error("cannot follow the symbolic link " + path.string() + ": " + ec.message());
  return target;
}

std::string temporary_prefix(const std::filesystem::path& target) {
  std::string prefix = ".";  // appended piece by piece: GCC 12 warns falsely on "." + string
  prefix += target.filename().string();
  prefix += ".tmp-";
  return prefix;
}

// Removes the temporaries of `target` that no live writer holds.
void remove_stale_temporaries(const std::filesystem::path& folder, const std::filesystem::path& target) {
  const std::string prefix = temporary_prefix(target);
  DIR* dir = ::opendir(folder.c_str());
  if (dir == nullptr) return;  // the save itself will say what is wrong with the folder
  const std::time_t now = std::time(nullptr);
  while (const dirent* entry = ::readdir(dir)) {
    const std::string_view name(entry->d_name);
    if (!name.starts_with(prefix)) continue;
    const std::filesystem::path temporary = folder / std::string(name);
    const Fd file(::open(temporary.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    if (file.get() < 0) continue;
    struct stat status {};
    if (::fstat(file.get(), &status) != 0 || !S_ISREG(status.st_mode)) continue;
    if (now - status.st_mtime < kStaleSeconds) continue;
    if (::flock(file.get(), LOCK_EX | LOCK_NB) != 0) continue;  // its writer is still at work
    ::unlink(temporary.c_str());
  }
  ::closedir(dir);
}

// A new temporary file beside `target`, created with mode 0666 (the umask applies) and locked.
std::pair<Fd, std::string> create_temporary(const std::filesystem::path& folder, const std::filesystem::path& target) {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  for (int attempt = 0;; ++attempt) {
    char suffix[17];
    std::snprintf(suffix, sizeof(suffix), "%016llx", static_cast<unsigned long long>(random()));
    std::string name = (folder / (temporary_prefix(target) + suffix)).string();
    Fd file(::open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0666));
    if (file.get() < 0) {
      if (errno == EEXIST && attempt < 16) continue;
      throw Error(system_error("cannot create a temporary file beside", target));
    }
    // A filesystem without locks (rare) only loses the stale-temporary cleanup.
    (void)::flock(file.get(), LOCK_EX | LOCK_NB);
    return {std::move(file), std::move(name)};
  }
}

}  // namespace

void write_file_atomically(const std::filesystem::path& path, const std::vector<std::string_view>& parts) {
  const std::filesystem::path target = save_target(path);
  const std::filesystem::path folder = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  struct stat existing {};
  const bool exists = ::stat(target.c_str(), &existing) == 0;
  if (exists && !S_ISREG(existing.st_mode)) {
    throw Error("cannot save to " + path.string() +
                (S_ISDIR(existing.st_mode) ? ": it is a directory" : ": it is not a regular file"));
  }
  remove_stale_temporaries(folder, target);
  auto created = create_temporary(folder, target);
  Fd& file = created.first;
  const std::string& temporary = created.second;  // (not a structured binding: clang 14 cannot capture one)
  const auto give_up = [&](const std::string& what) {
    const std::string message = system_error(what, path);
    ::unlink(temporary.c_str());
    throw Error(message);
  };
  for (std::string_view part : parts) {
    while (!part.empty()) {
      const ssize_t written = ::write(file.get(), part.data(), part.size());
      if (written < 0 && errno == EINTR) continue;
      if (written <= 0) give_up("cannot write");
      part.remove_prefix(static_cast<std::size_t>(written));
    }
  }
  if (exists && ::fchmod(file.get(), existing.st_mode & 07777) != 0) give_up("cannot keep the mode of");
  if (::fsync(file.get()) != 0) give_up("cannot flush");
  if (::rename(temporary.c_str(), target.c_str()) != 0) give_up("cannot rename the temporary file over");
  if (::close(file.release()) != 0) throw Error(system_error("cannot close", path));
  // The rename itself must reach the disk: fsync the folder.
  const Fd directory(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (directory.get() >= 0) ::fsync(directory.get());
}

}  // namespace axon::io
