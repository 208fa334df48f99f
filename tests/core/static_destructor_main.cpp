// An op run from a user's static destructor at exit (issue 7): the object below is built before
// axon's backend registry, so it is destroyed after it would be if the registry were an
// ordinary static. That was a heap-use-after-free (a segfault in Release). The test passes when
// the destructor's op gets the right result and the process exits with 0.
#include <cstdio>
#include <cstdlib>

#include "axon/axon.h"

namespace {

struct RunsAnOpAtExit {
  ~RunsAnOpAtExit() {
    const axon::Tensor a = axon::Tensor::full({2, 3}, 1.5f);
    const axon::Tensor b = axon::Tensor::full({3, 2}, 2.0f);
    const float value = axon::sum(axon::matmul(a, b)).item();  // 4 elements of 3 * (1.5 * 2) = 9
    std::printf("static destructor: sum = %g\n", static_cast<double>(value));
    std::fflush(stdout);
    if (value != 36.0f) std::_Exit(1);  // main has returned: only this can fail the process now
  }
};

RunsAnOpAtExit runs_an_op_at_exit;  // constructed before main, before any axon call

}  // namespace

int main() {
  // The registry is first used here, after the object above was built.
  const float value = axon::sum(axon::Tensor::ones({3})).item();
  std::printf("main: sum = %g\n", static_cast<double>(value));
  return value == 3.0f ? 0 : 1;
}
