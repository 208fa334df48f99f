// Checks an installed axon end to end: headers, library, a matmul against known values.
#include <axon/axon.h>

#include <cstdio>
#include <vector>

int main() {
  const std::vector<float> a_values{1, 2, 3, 4, 5, 6};       // [2, 3]
  const std::vector<float> b_values{7, 8, 9, 10, 11, 12};    // [3, 2]
  const auto a = axon::Tensor::from_vector({2, 3}, a_values);
  const auto b = axon::Tensor::from_vector({3, 2}, b_values);
  const std::vector<float> c = axon::matmul(a, b).to_vector();
  const std::vector<float> expected{58, 64, 139, 154};
  if (c != expected) {
    std::fprintf(stderr, "consumer: matmul gave %g %g %g %g, expected 58 64 139 154\n", c[0], c[1], c[2], c[3]);
    return 1;
  }
  std::printf("consumer: axon %s matmul ok\n", axon::version());
  return 0;
}
