#pragma once
// Gradient checking for users' own layers and models: compares every parameter gradient and the
// input gradient of backward() with central finite differences of forward(), for the loss
// L = sum(projection * output) with a fixed random projection (so dL/doutput = projection).
// Runs on the layer's device; perturbs at most max_checks elements per tensor (chosen at random).
// An element where the forward is not differentiable (a ReLU kink within epsilon: the one-sided
// differences disagree) is skipped and counted, since no derivative exists there to compare.
#include <cstdint>
#include <string>
#include <vector>

#include "axon/export.h"
#include "axon/nn/layer.h"
#include "axon/nn/sequential.h"

namespace axon::nn {

struct GradientCheckOptions {
  double epsilon = 1e-3;          // the perturbation of each element
  std::int64_t max_checks = 64;   // elements per tensor
  std::uint64_t seed = 1234;      // projection, chosen elements, and dropout's fixed mask
};

struct GradientCheckEntry {
  std::string name;       // "input", "weight", "0.bias", ...
  double worst_error = 0; // max over checked elements of |analytic - numeric| / max(|a|, |n|, 1e-2)
  std::int64_t checked = 0;
  std::int64_t skipped = 0;  // at a kink of the forward
};

struct AXON_API GradientCheckResult {
  std::vector<GradientCheckEntry> entries;
  double worst_error = 0;
  std::string worst_name;
  // Forward passes in float32 limit what finite differences can resolve: a correct backward
  // shows errors up to ~1e-2; a wrong one, errors of order 1.
  bool passed(double tolerance = 3e-2) const { return worst_error <= tolerance; }
  std::string str() const;  // one line per entry
};

// The layer is reserved for the input's shape and run in training mode. The input must be
// float32 on the layer's device.
AXON_API GradientCheckResult check_gradients(Layer& layer, const Tensor& input, GradientCheckOptions options = {});
AXON_API GradientCheckResult check_gradients(Sequential& model, const Tensor& input, GradientCheckOptions options = {});

}  // namespace axon::nn
