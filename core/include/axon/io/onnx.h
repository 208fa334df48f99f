#pragma once
// ONNX model files: a trained Sequential exported for any ONNX runtime (onnxruntime, TensorRT,
// OpenVINO), and models trained elsewhere (torch.onnx.export of an nn.Sequential) imported,
// both by our own small protobuf encoder and reader (core/src/io/protobuf.h), so the library
// needs no protobuf runtime.
//
// The graph is opset 17 (what Debian's onnx 1.12 checks), IR version 8, float32, with one input
// "input" of shape [batch, ...the model's per-sample shape] and one output "output", the batch
// axis named "batch" (any batch size runs). Weights are initializers under their PyTorch
// state_dict names ("0.weight"); the metadata props hold the axon version and the layer list
// (as in axon's safetensors model files). The write is atomic, as every save.
//
// Each layer becomes the ONNX operators that compute it in evaluation mode:
//   Dense               Gemm (transB = 1), then its fused activation; on inputs of rank > 2
//                       (a head on every step of a sequence) MatMul with W^T, then Add
//   activations         Relu, LeakyRelu, Elu, Selu, Sigmoid, Tanh, Softsign, HardSigmoid
//                       (alpha 1/6), HardSwish, Softplus (beta 1; else Mul, Softplus, Div),
//                       Clip (ReLU6, Hardtanh), GELU as Div-Erf-Add-Mul-Mul (torch's export),
//                       GELU tanh, SiLU, Mish and LogSigmoid as their few elementwise operators
//   Dropout             nothing (the identity in evaluation)
//   Softmax, LogSoftmax over the last axis; Flatten as Flatten (axis 1)
//   Conv2d              Conv (explicit pads, dilations, group)
//   MaxPool2d, AvgPool2d MaxPool, AveragePool (pads, ceil_mode, count_include_pad)
//   AdaptiveAvgPool2d   GlobalAveragePool for 1x1, else AveragePool over the exact tiles
//   BatchNorm1d/2d      BatchNormalization on the running statistics (identity weight and bias
//                       when not affine; without running statistics: refused)
//   LayerNorm           LayerNormalization over the normalised axes
//   PReLU               PRelu (the slope shaped to broadcast over the channel axis)
//   LSTM, GRU           Transpose to time-major, LSTM or GRU (W, R, B reordered to ONNX's gate
//                       orders i, o, f, c and z, r, h; GRU with linear_before_reset = 1),
//                       Squeeze of the directions axis, Transpose back
// A layer type not in this list (a custom layer) is refused with a ValueError naming it.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "axon/export.h"
#include "axon/nn/sequential.h"
#include "axon/shape.h"
#include "axon/tensor.h"

namespace axon::io {

struct OnnxExportOptions {
  // The per-sample input shape ([784], [1, 28, 28]): by default the model's own
  // (Sequential::sample_input: the shape it last ran on, or the one its first layer fixes).
  std::optional<Shape> sample_input;
  std::string graph_name = "axon";
};

// ValueError naming the layer for one that ONNX cannot express here, or when the input shape
// is unknown; ShapeError when the layers do not chain on that shape.
AXON_API void save_onnx(nn::Sequential& model, const std::filesystem::path& path, const OnnxExportOptions& options = {});

// A model from an ONNX file whose graph is a chain of the operators below from its one data
// input (its shape [batch, fixed sizes...], float32) to its output, float32 weights; on
// `device`, in evaluation mode, trainable further where its layers are.
//   Gemm (transA = 0; alpha and beta folded into the weights), MatMul (+ Add) with constant
//   weights                                                         -> Dense
//   Relu, LeakyRelu, Elu, Selu, Sigmoid, Tanh, Softplus, Softsign, HardSigmoid (1/6, 1/2),
//   HardSwish, Gelu, Mish, Clip (ReLU, ReLU6, Hardtanh) and the elementwise patterns of GELU
//   (erf and tanh forms), SiLU, Mish, LogSigmoid, Softplus with beta, and Softplus with its
//   threshold (Where(Greater(x, t), x, Softplus(x))), as torch's exporters and save_onnx write them
//                                                                   -> activation layers
//   Softmax, LogSoftmax (last axis), Flatten (axis 1), Reshape to [-1, F] / [0, -1]
//   Identity, Dropout                                               -> nothing
//   Conv (2-D; symmetric pads, "same" at stride 1, auto_pad where it comes out symmetric),
//   MaxPool, AveragePool (symmetric pads), GlobalAveragePool and ReduceMean over H and W,
//   BatchNormalization (inference),
//   LayerNormalization, PRelu                                       -> the layers of the same name
//   Transpose [1, 0, 2], LSTM or GRU (forward, default activations, initial states absent or
//   zeros; GRU with linear_before_reset = 1), Squeeze [1] or Transpose [0, 2, 1, 3] + Reshape to
//   [steps, batch, hidden], Transpose [1, 0, 2], as save_onnx and both of torch's exporters
//   write a batch-first nn.LSTM or nn.GRU                           -> LSTM, GRU
//   (MatMul + Add reads the head on every step of [batch, steps, hidden] too)
// Shape arithmetic beside the chain — nodes that read the data only through Shape (Shape,
// Gather, Unsqueeze, Squeeze, Concat, Slice, Add/Sub/Mul/Div, Reshape, Cast, ConstantOfShape,
// Expand), as torch's exporters write to make an LSTM's zero initial states from the batch size
// and torch.export its Reshape target — is evaluated where a pattern needs it (the batch size a
// symbol), bounded in depth and length.
// Any opset of the default domain: an operator whose meaning changed across opsets is read
// as its opset defines it (Softmax before 13 on its last axis only, Clip before 11 from its
// attributes) or refused (Gemm, BatchNormalization and the patterns' arithmetic before 7).
// Everything else, or an attribute these layers cannot take, is a FormatError naming the file,
// the node, its operator and byte offset, and the attribute. The reader is bounded: sizes and
// counts are checked against the file before anything is allocated, the work is linear in the
// file's size (at most 2 GiB, protobuf's limit). Weights in external data files (torch's
// exporter writes model.onnx.data) are read from the model's folder: a location outside it, or
// a byte range outside the file or not matching the tensor, is a FormatError; load_onnx_bytes,
// having no folder, refuses them.
struct OnnxImportOptions {
  Device device = Device::cpu();
  // Values for graph inputs other than the data, by name: the weights of a model exported
  // without them (torch.onnx.export(..., export_params=False)), or the operands of ONNX's own
  // node tests. float32 tensors (int32 for integer operands such as Reshape's shape). A name
  // that is not a graph input, or is an initializer too, is a ValueError.
  std::map<std::string, Tensor> constants;
  // The graph output to compute, for a graph with several (LayerNormalization's mean, say);
  // empty: the graph's only output.
  std::string output;
};

AXON_API nn::Sequential load_onnx(const std::filesystem::path& path, Device device = Device::cpu());
AXON_API nn::Sequential load_onnx(const std::filesystem::path& path, const OnnxImportOptions& options);
// The same from bytes in memory; `source` names them in errors.
AXON_API nn::Sequential load_onnx_bytes(std::string_view data, const std::string& source, Device device = Device::cpu());
AXON_API nn::Sequential load_onnx_bytes(std::string_view data, const std::string& source, const OnnxImportOptions& options);

// One serialized ONNX TensorProto, as ONNX's test data (test_data_set_0/input_0.pb) and
// onnxruntime's tools keep inputs and outputs: its name and its values on the CPU, float and
// double as float32, int32 and int64 as int32 (a value past int32 is a FormatError). The same
// bounded reader as load_onnx's.
struct OnnxTensor {
  std::string name;
  Tensor value;
};
AXON_API OnnxTensor read_onnx_tensor(const std::filesystem::path& path);
AXON_API OnnxTensor read_onnx_tensor_bytes(std::string_view data, const std::string& source);

}  // namespace axon::io
