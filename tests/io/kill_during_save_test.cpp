// Nothing the user saved is lost: a writer killed (SIGKILL) at random moments while it saves,
// again and again, always leaves either no file yet or one complete version of it; and the
// temporaries the killed writers left are removed by the next save once they are stale.
#include <signal.h>
#include <sys/time.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <thread>

#include "test_util.h"

extern char** environ;

namespace {

TEST(KillDuringSave, TheFileIsAlwaysOneWholeVersion) {
  const axon_test::TempDir dir;
  const std::string target = (dir / "model.safetensors").string();
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> wait_us(0, 20000);
  const auto stamp = [&] {
    std::error_code ec;
    const auto time = std::filesystem::last_write_time(target, ec);
    return ec ? std::filesystem::file_time_type::min() : time;
  };
  int complete_ones = 0, complete_twos = 0;
  for (int run = 0; run < 40; ++run) {
    pid_t child = 0;
    char* args[] = {const_cast<char*>(AXON_SAVE_LOOP), const_cast<char*>(target.c_str()), nullptr};
    const auto before = stamp();
    ASSERT_EQ(posix_spawn(&child, AXON_SAVE_LOOP, nullptr, nullptr, args, environ), 0);
    // Once the writer has finished a save (it is in its loop), kill it at a random moment.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (stamp() == before && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    std::this_thread::sleep_for(std::chrono::microseconds(wait_us(rng)));
    ::kill(child, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    if (!std::filesystem::exists(target)) continue;  // killed before its first save finished
    const axon::io::Safetensors file = axon::io::load_safetensors(target);  // throws if torn
    const axon::Tensor& w = file.at("w");
    const std::vector<float> values = w.to_vector();
    ASSERT_FALSE(values.empty());
    const float first = values.front();
    ASSERT_TRUE((first == 1.0f && w.shape() == axon::Shape({1000, 100})) ||
                (first == 2.0f && w.shape() == axon::Shape({1000, 300})))
        << "run " << run << ": " << w.describe() << " starting with " << first;
    for (const float v : values) ASSERT_EQ(v, first) << "run " << run;
    (first == 1.0f ? complete_ones : complete_twos) += 1;
  }
  // Every run left a whole file, of either version.
  EXPECT_EQ(complete_ones + complete_twos, 40);
  EXPECT_GT(complete_ones, 0);
  EXPECT_GT(complete_twos, 0);

  // The killed writers' temporaries (at most one each) are removed by the next save once they
  // are a few seconds old: aged here instead of waited for. (250 kills left 137 full-size ones.)
  const auto temporaries = [&] {
    std::vector<std::filesystem::path> found;
    for (const auto& entry : std::filesystem::directory_iterator(dir / "")) {
      if (entry.path().filename().string().starts_with(".model.safetensors.tmp-")) found.push_back(entry.path());
    }
    return found;
  };
  const auto left = temporaries();
  EXPECT_LE(left.size(), 40u);
  for (const auto& path : left) {
    const timeval old[2] = {{std::time(nullptr) - 60, 0}, {std::time(nullptr) - 60, 0}};
    ASSERT_EQ(::utimes(path.c_str(), old), 0);
  }
  axon::io::save_safetensors(target, {{"w", axon::Tensor::full({1000, 100}, 1.0f)}});
  EXPECT_TRUE(temporaries().empty()) << left.size() << " temporaries were left by the kills";
}

}  // namespace
