#pragma once
// The layer list a model file stores: [{"type": T, "config": {...}}, ...] in the model's order
// (nn/weights.cpp; the ONNX export stores it too, as a metadata prop).
#include <string>

#include "axon/nn/sequential.h"

namespace axon::nn {

// ValueError naming the layer and setting for a setting JSON cannot hold (a non-finite number).
std::string layer_list_json(const Sequential& model);

}  // namespace axon::nn
