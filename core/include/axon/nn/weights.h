#pragma once
// A model's weights as a safetensors file with PyTorch nn.Sequential state_dict names
// ("0.weight" [out, in], "0.bias", "2.weight", ...): a PyTorch user loads axon's file with
// safetensors.torch.load_file + load_state_dict, and axon loads weights trained in PyTorch into
// the same architecture.
#include <filesystem>

#include "axon/export.h"
#include "axon/nn/sequential.h"

namespace axon::nn {

// Writes every parameter (atomically; see axon/io/safetensors.h), with the format name and
// version in the header's metadata.
AXON_API void save_weights(Sequential& model, const std::filesystem::path& path);
// Loads every parameter by name onto the model's device. Strict, as load_state_dict: a missing
// or extra tensor, or one whose shape or dtype differs, throws FormatError naming the file and
// the tensor, and nothing is changed.
AXON_API void load_weights(Sequential& model, const std::filesystem::path& path);

}  // namespace axon::nn
