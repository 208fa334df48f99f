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
// version, the layer list (each layer's type and every setting, Layer::config()) and the
// per-sample input shape when the model knows it, in the header's metadata ("layers" and
// "input_shape", JSON), so load_model can rebuild the network exactly.
AXON_API void save_weights(Sequential& model, const std::filesystem::path& path);
// Rebuilds the network a save_weights file describes through the layer registry (nn/registry.h:
// the built-in layers, and any type the program registered) and loads its weights, on `device`.
// Before it allocates, it checks the list against the file: every type registered, every
// setting in range, no more parameters than the file holds, the layers chaining from the input
// shape. FormatError naming the file, and the layer by index and type, otherwise.
AXON_API Sequential load_model(const std::filesystem::path& path, Device device = Device::cpu());
// Loads every parameter by name onto the model's device. Strict, as load_state_dict: a missing
// or extra tensor, or one whose shape or dtype differs, throws FormatError naming the file and
// the tensor, and nothing is changed.
AXON_API void load_weights(Sequential& model, const std::filesystem::path& path);

}  // namespace axon::nn
