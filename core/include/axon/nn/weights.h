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
// version and the layer list with its settings in the header's metadata ("layers", JSON), so
// load_model can rebuild the network. A layer axon does not know (a user's) is listed by type
// only: such a model loads with load_weights into a model built in code.
AXON_API void save_weights(Sequential& model, const std::filesystem::path& path);
// Rebuilds the network a save_weights file describes and loads its weights, on `device`.
// FormatError naming the file when it has no layer list or a layer axon cannot rebuild.
AXON_API Sequential load_model(const std::filesystem::path& path, Device device = Device::cpu());
// Loads every parameter by name onto the model's device. Strict, as load_state_dict: a missing
// or extra tensor, or one whose shape or dtype differs, throws FormatError naming the file and
// the tensor, and nothing is changed.
AXON_API void load_weights(Sequential& model, const std::filesystem::path& path);

}  // namespace axon::nn
