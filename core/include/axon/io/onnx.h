#pragma once
// ONNX model files: a trained Sequential exported for any ONNX runtime (onnxruntime, TensorRT,
// OpenVINO), written by our own small protobuf encoder (core/src/io/protobuf.h), so the library
// needs no protobuf runtime.
//
// The graph is opset 17 (what Debian's onnx 1.12 checks), IR version 8, float32, with one input
// "input" of shape [batch, ...the model's per-sample shape] and one output "output", the batch
// axis named "batch" (any batch size runs). Weights are initializers under their PyTorch
// state_dict names ("0.weight"); the metadata props hold the axon version and the layer list
// (as in axon's safetensors model files). The write is atomic, as every save.
//
// Each layer becomes the ONNX operators that compute it in evaluation mode:
//   Dense               Gemm (transB = 1), then its fused activation
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
// A layer type not in this list (a custom layer) is refused with a ValueError naming it.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "axon/export.h"
#include "axon/nn/sequential.h"
#include "axon/shape.h"

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

}  // namespace axon::io
