// The MPI communicator: MPI_COMM_WORLD's ranks, every collective non-blocking and waited on by
// a loop that also watches for other ranks' failure notices and for the timeout, so that no
// rank waits forever on a peer that failed, hangs or died.
//
// CUDA tensors go through a host staging buffer kept by the communicator (Debian's Open MPI is
// not CUDA-aware): one download, the collective on the host, one upload; the buffer grows to the
// largest tensor once, so a steady training step allocates nothing here.
#include <mpi.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>

#include "core/src/dist/dist_backends.h"

namespace axon::dist::detail {

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kNoticeTag = 7301;
constexpr int kNoticeBytes = 2048;
// The largest element count one MPI call takes (its counts are int).
constexpr std::int64_t kChunk = std::int64_t{1} << 30;

// MPI is initialised once per process: by the program, or by the first communicator, which then
// finalises it at exit (MPI cannot be initialised again after MPI_Finalize).
std::once_flag g_init_once;
bool g_we_initialised = false;
// A communicator failed: the job must end (mpirun then stops every rank), not wait in
// MPI_Finalize for a collective that will never complete. At exit, so that the program has
// printed why first; the rank that failed waits a moment more, so that the others print too.
std::atomic<bool> g_abort_at_exit{false};
std::atomic<bool> g_this_rank_failed{false};

void end_the_job() {
  if (g_this_rank_failed) std::this_thread::sleep_for(std::chrono::seconds(2));
  std::fflush(stdout);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
}

void finalise_at_exit() {
  int finalised = 0;
  MPI_Finalized(&finalised);
  if (finalised) return;
  if (g_abort_at_exit) end_the_job();
  MPI_Finalize();
}

void initialise_mpi() {
  std::call_once(g_init_once, [] {
    int initialised = 0;
    MPI_Initialized(&initialised);
    if (initialised) return;
    int provided = 0;
    // Only the thread that made the communicator calls MPI (compute threads never do).
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
      throw DistributedError("dist::mpi: MPI_Init_thread failed", -1);
    }
    g_we_initialised = true;
    std::atexit(finalise_at_exit);
  });
  int finalised = 0;
  MPI_Finalized(&finalised);
  if (finalised) throw DistributedError("dist::mpi: MPI was finalised already; it cannot start again", -1);
}

std::string mpi_error_text(int code) {
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  MPI_Error_string(code, text, &length);
  return std::string(text, static_cast<std::size_t>(std::max(length, 0)));
}

class MpiCommunicator final : public Communicator {
 public:
  explicit MpiCommunicator(MpiOptions options) : timeout_(options.timeout), uncaught_(std::uncaught_exceptions()) {
    initialise_mpi();
    check(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
    check(MPI_Comm_dup(MPI_COMM_WORLD, &notices_), "MPI_Comm_dup");
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    MPI_Comm_set_errhandler(notices_, MPI_ERRORS_RETURN);
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
    post_notice_receive();
  }

  ~MpiCommunicator() override {
    if (std::uncaught_exceptions() > uncaught_) report_failure("its communicator was destroyed by an exception");
    if (!failed_) poll_notices_quietly();  // a peer that failed after our last collective
    if (failed_) {
      // A collective may still be posted: nothing here can be freed safely. The job ends at exit
      // (or now, when the program owns MPI and would finalise it itself).
      g_abort_at_exit = true;
      if (reported_) g_this_rank_failed = true;
      if (!g_we_initialised) end_the_job();
      return;
    }
    if (notice_request_ != MPI_REQUEST_NULL) {
      MPI_Cancel(&notice_request_);
      MPI_Wait(&notice_request_, MPI_STATUS_IGNORE);
    }
    MPI_Comm_free(&notices_);
    MPI_Comm_free(&comm_);
  }

  int rank() const override { return rank_; }
  int world_size() const override { return size_; }
  std::string name() const override { return "mpi"; }

  void all_reduce(const Tensor& tensor, Reduction op) override {
    check_all_reduce("mpi", tensor);
    const auto start = Clock::now();
    float* data = host_view(tensor);
    const std::int64_t n = tensor.numel();
    for (std::int64_t begin = 0; begin < n; begin += kChunk) {
      const int count = static_cast<int>(std::min(kChunk, n - begin));
      MPI_Request request = MPI_REQUEST_NULL;
      check(MPI_Iallreduce(MPI_IN_PLACE, data + begin, count, MPI_FLOAT, mpi_op(op), comm_, &request),
            "MPI_Iallreduce");
      wait(request, "all_reduce");
    }
    if (op == Reduction::kAverage) {
      const auto world = static_cast<float>(size_);
      for (std::int64_t i = 0; i < n; ++i) data[i] /= world;
    }
    if (!tensor.device().is_cpu()) tensor.copy_from(staged(tensor));
    ++stats_.all_reduces;
    stats_.bytes_reduced += static_cast<std::int64_t>(tensor.nbytes());
    stats_.seconds_reducing += std::chrono::duration<double>(Clock::now() - start).count();
  }

  void broadcast(const Tensor& tensor, int root) override {
    check_broadcast("mpi", tensor, root, size_);
    const bool on_host = tensor.device().is_cpu();
    if (!on_host) staging_for(tensor);
    const Tensor host = on_host ? tensor : staged(tensor);
    if (!on_host && rank_ == root) host.copy_from(tensor);
    auto* bytes = static_cast<std::byte*>(tensor.dtype() == DType::kFloat32
                                              ? static_cast<void*>(host.data<float>())
                                              : static_cast<void*>(host.data<std::int32_t>()));
    broadcast(std::span<std::byte>(bytes, host.nbytes()), root);
    if (!on_host) tensor.copy_from(host);
  }

  void all_reduce(std::span<double> values, Reduction op) override {
    if (values.empty()) return;
    if (values.size() > static_cast<std::size_t>(INT_MAX)) throw ValueError("dist::all_reduce: too many host values");
    MPI_Request request = MPI_REQUEST_NULL;
    check(MPI_Iallreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_DOUBLE, mpi_op(op), comm_,
                         &request),
          "MPI_Iallreduce");
    wait(request, "all_reduce");
    if (op == Reduction::kAverage) {
      for (double& v : values) v /= size_;
    }
  }

  std::vector<std::uint64_t> all_gather(std::uint64_t value) override {
    std::vector<std::uint64_t> values(static_cast<std::size_t>(size_));
    MPI_Request request = MPI_REQUEST_NULL;
    check(MPI_Iallgather(&value, 1, MPI_UINT64_T, values.data(), 1, MPI_UINT64_T, comm_, &request), "MPI_Iallgather");
    wait(request, "all_gather");
    return values;
  }

  void broadcast(std::span<std::byte> bytes, int root) override {
    if (root < 0 || root >= size_) {
      throw ValueError("dist::broadcast (mpi): root " + std::to_string(root) + " is not a rank of a world of " +
                       std::to_string(size_));
    }
    for (std::size_t begin = 0; begin < bytes.size(); begin += kChunk) {
      const int count = static_cast<int>(std::min<std::size_t>(kChunk, bytes.size() - begin));
      MPI_Request request = MPI_REQUEST_NULL;
      check(MPI_Ibcast(bytes.data() + begin, count, MPI_BYTE, root, comm_, &request), "MPI_Ibcast");
      wait(request, "broadcast");
    }
  }

  void barrier() override {
    MPI_Request request = MPI_REQUEST_NULL;
    check(MPI_Ibarrier(comm_, &request), "MPI_Ibarrier");
    wait(request, "barrier");
  }

  void report_failure(const std::string& what) noexcept override {
    if (failed_) return;  // a peer's failure (or ours, told once)
    failed_ = reported_ = true;
    const std::string text = what.substr(0, kNoticeBytes - 1);
    std::vector<MPI_Request> sends;
    for (int r = 0; r < size_; ++r) {
      if (r == rank_) continue;
      MPI_Request request = MPI_REQUEST_NULL;
      if (MPI_Isend(text.data(), static_cast<int>(text.size()), MPI_CHAR, r, kNoticeTag, notices_, &request) ==
          MPI_SUCCESS) {
        sends.push_back(request);
      }
    }
    // Small messages go out eagerly; give them a moment, then let MPI finish them on its own.
    const auto deadline = Clock::now() + std::chrono::seconds(1);
    for (MPI_Request& request : sends) {
      int done = 0;
      while (!done && Clock::now() < deadline && MPI_Test(&request, &done, MPI_STATUS_IGNORE) == MPI_SUCCESS) {
        std::this_thread::yield();
      }
      if (!done) MPI_Request_free(&request);
    }
  }

 private:
  static MPI_Op mpi_op(Reduction op) { return op == Reduction::kMax ? MPI_MAX : MPI_SUM; }

  void check(int code, const char* call) {
    if (code == MPI_SUCCESS) return;
    failed_ = true;
    throw DistributedError("dist::mpi: " + std::string(call) + " failed on rank " + std::to_string(rank_) + ": " +
                               mpi_error_text(code),
                           -1);
  }

  void post_notice_receive() {
    check(MPI_Irecv(notice_.data(), kNoticeBytes, MPI_CHAR, MPI_ANY_SOURCE, kNoticeTag, notices_, &notice_request_),
          "MPI_Irecv");
  }

  // Throws DistributedError when another rank's failure notice has come.
  void poll_notices() {
    MPI_Status status;
    int arrived = 0;
    check(MPI_Test(&notice_request_, &arrived, &status), "MPI_Test");
    if (!arrived) return;
    notice_request_ = MPI_REQUEST_NULL;
    failed_ = true;
    int length = 0;
    MPI_Get_count(&status, MPI_CHAR, &length);
    const std::string what(notice_.data(), static_cast<std::size_t>(std::clamp(length, 0, kNoticeBytes)));
    throw DistributedError("dist: rank " + std::to_string(status.MPI_SOURCE) + " of " + std::to_string(size_) +
                               " failed: " + what + " (rank " + std::to_string(rank_) + " stops too)",
                           status.MPI_SOURCE);
  }

  void poll_notices_quietly() noexcept {
    try {
      poll_notices();
    } catch (const std::exception&) {
      // failed_ is set: the destructor ends the job
    }
  }

  // Progress comes from MPI_Test; spin briefly, then yield, then sleep, so a rank waiting on a
  // slower one leaves the cores to it (ranks may outnumber cores).
  void wait(MPI_Request& request, const char* what) {
    if (failed_) {
      throw DistributedError("dist::mpi: " + std::string(what) + " on rank " + std::to_string(rank_) +
                                 ": the communicator failed earlier",
                             -1);
    }
    const auto deadline = Clock::now() + timeout_;
    for (std::int64_t spins = 0;; ++spins) {
      int done = 0;
      check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test");
      if (done) return;
      poll_notices();
      if ((spins & 255) == 0 && Clock::now() > deadline) {
        failed_ = true;
        throw DistributedError("dist::mpi: " + std::string(what) + " on rank " + std::to_string(rank_) +
                                   " waited more than " + std::to_string(timeout_.count()) +
                                   " s: a rank did not reach it (hung or died) and reported no failure",
                               -1);
      }
      if (spins > 20000) {
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      } else if (spins > 2000) {
        std::this_thread::yield();
      }
    }
  }

  // The host copy of a CUDA tensor's values (the tensor itself on the CPU), for the collective.
  float* host_view(const Tensor& tensor) {
    if (tensor.device().is_cpu()) return tensor.data<float>();
    staging_for(tensor);
    const Tensor host = staged(tensor);
    host.copy_from(tensor);
    return host.data<float>();
  }
  void staging_for(const Tensor& tensor) {
    if (staging_.numel() < tensor.numel() || staging_.dtype() != tensor.dtype()) {
      staging_ = Tensor::empty({std::max<std::int64_t>(tensor.numel(), 1)}, Device::cpu(), tensor.dtype());
    }
  }
  Tensor staged(const Tensor& tensor) const { return staging_.rows(0, tensor.numel()).reshape(tensor.shape()); }

  MPI_Comm comm_ = MPI_COMM_NULL;     // the collectives
  MPI_Comm notices_ = MPI_COMM_NULL;  // failure notices, apart so they never match a collective
  int rank_ = 0, size_ = 1;
  std::chrono::seconds timeout_;
  int uncaught_;
  bool failed_ = false;    // a collective cannot be trusted to complete any more
  bool reported_ = false;  // this rank told the others it failed
  MPI_Request notice_request_ = MPI_REQUEST_NULL;
  std::array<char, kNoticeBytes> notice_{};
  Tensor staging_;
};

}  // namespace

std::unique_ptr<Communicator> make_mpi_communicator(MpiOptions options) {
  return std::make_unique<MpiCommunicator>(options);
}

}  // namespace axon::dist::detail
