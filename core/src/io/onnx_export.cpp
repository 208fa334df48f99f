// save_onnx (axon/io/onnx.h): each layer of a Sequential as the ONNX operators that compute it
// in evaluation mode, written with the protobuf encoder of protobuf.h. Field numbers are
// onnx.proto's (onnx_fields.h).
#include <algorithm>
#include <cmath>
#include <numbers>
#include <span>
#include <string>
#include <vector>

#include "axon/error.h"
#include "axon/io/onnx.h"
#include "axon/io/safetensors.h"
#include "axon/nn/batch_norm.h"
#include "axon/nn/conv.h"
#include "axon/nn/dense.h"
#include "axon/nn/layers.h"
#include "axon/nn/gru.h"
#include "axon/nn/lstm.h"
#include "axon/nn/pooling.h"
#include "axon/nn/prelu.h"
#include "axon/version.h"
#include "core/src/io/onnx_fields.h"
#include "core/src/io/protobuf.h"
#include "core/src/nn/layer_list.h"

namespace axon::io {

namespace {

using protobuf::Writer;
namespace f = onnx_fields;

Writer attribute(const std::string& name, std::int64_t value) {
  Writer a;
  a.bytes(f::kAttributeName, name).int64(f::kAttributeInt, value).int64(f::kAttributeType, f::kAttrInt);
  return a;
}

Writer attribute(const std::string& name, float value) {
  Writer a;
  a.bytes(f::kAttributeName, name).float32(f::kAttributeFloat, value).int64(f::kAttributeType, f::kAttrFloat);
  return a;
}

Writer attribute(const std::string& name, const std::vector<std::int64_t>& values) {
  Writer a;
  a.bytes(f::kAttributeName, name);
  for (const std::int64_t v : values) a.int64(f::kAttributeInts, v);  // proto2: not packed
  a.int64(f::kAttributeType, f::kAttrInts);
  return a;
}

// The graph being built: nodes in order, initializers, and the name of the tensor the next
// layer reads.
class Graph {
 public:
  explicit Graph(std::string input) : current_(std::move(input)) {}

  const std::string& current() const { return current_; }
  void set_prefix(std::string prefix) { prefix_ = std::move(prefix); }

  // A float32 initializer called `name`.
  std::string constant(const std::string& name, const Shape& shape, std::span<const float> values) {
    Writer t;
    for (int axis = 0; axis < shape.rank(); ++axis) t.int64(f::kTensorDims, shape[axis]);
    t.int64(f::kTensorDataType, f::kFloat).bytes(f::kTensorName, name);
    t.bytes(f::kTensorRawData, std::string_view(reinterpret_cast<const char*>(values.data()), values.size_bytes()));
    initializers_.push_back(std::move(t));
    return name;
  }
  std::string constant(const std::string& name, const Tensor& value) {
    const std::vector<float> host = value.to_vector();
    return constant(name, value.shape(), host);
  }
  // An int64 initializer (axes, shapes).
  std::string int64_constant(const std::string& name, std::span<const std::int64_t> values) {
    Writer t;
    t.int64(f::kTensorDims, static_cast<std::int64_t>(values.size()));
    t.int64(f::kTensorDataType, f::kInt64).bytes(f::kTensorName, name);
    t.bytes(f::kTensorRawData, std::string_view(reinterpret_cast<const char*>(values.data()), values.size_bytes()));
    initializers_.push_back(std::move(t));
    return name;
  }
  // A scalar constant of this layer ("/3/sqrt2").
  std::string scalar(const std::string& what, float value) {
    return constant(prefix_ + "/" + what, Shape{}, std::span<const float>(&value, 1));
  }

  // Appends `op` on `inputs` ("" for an absent optional input) with `attributes`; its output
  // becomes current() and is returned.
  std::string node(const std::string& op, std::vector<std::string> inputs, std::vector<Writer> attributes = {}) {
    const std::string name = prefix_ + "/" + op + "_" + std::to_string(nodes_.size());
    nodes_.push_back({op, std::move(inputs), name + "_output", name, std::move(attributes)});
    current_ = nodes_.back().output;
    return current_;
  }
  // node() on current().
  std::string apply(const std::string& op, std::vector<Writer> attributes = {}) {
    return node(op, {current_}, std::move(attributes));
  }

  // The GraphProto, its last node's output renamed `output` (an Identity when there is none).
  Writer finish(const std::string& graph_name, const std::string& input_name, const Writer& input_type,
                const std::string& output_name, const Writer& output_type) {
    if (nodes_.empty()) node("Identity", {current_});
    nodes_.back().output = output_name;
    Writer graph;
    for (const Node& n : nodes_) {
      Writer w;
      for (const std::string& in : n.inputs) w.bytes(f::kNodeInput, in);
      w.bytes(f::kNodeOutput, n.output).bytes(f::kNodeName, n.name).bytes(f::kNodeOpType, n.op);
      for (const Writer& a : n.attributes) w.message(f::kNodeAttribute, a);
      graph.message(f::kGraphNode, w);
    }
    graph.bytes(f::kGraphName, graph_name);
    for (const Writer& t : initializers_) graph.message(f::kGraphInitializer, t);
    graph.message(f::kGraphInput, value_info(input_name, input_type));
    graph.message(f::kGraphOutput, value_info(output_name, output_type));
    return graph;
  }

 private:
  struct Node {
    std::string op;
    std::vector<std::string> inputs;
    std::string output, name;
    std::vector<Writer> attributes;
  };
  static Writer value_info(const std::string& name, const Writer& type) {
    Writer v;
    v.bytes(f::kValueInfoName, name).message(f::kValueInfoType, type);
    return v;
  }

  std::vector<Node> nodes_;
  std::vector<Writer> initializers_;
  std::string current_, prefix_;
};

// A float tensor type of shape [batch, sample...], the batch axis named.
Writer tensor_type(const Shape& sample) {
  Writer shape;
  Writer batch;
  batch.bytes(f::kDimParam, "batch");
  shape.message(f::kShapeDim, batch);
  for (int axis = 0; axis < sample.rank(); ++axis) {
    Writer dim;
    dim.int64(f::kDimValue, sample[axis]);
    shape.message(f::kShapeDim, dim);
  }
  Writer tensor;
  tensor.int64(f::kTensorTypeElemType, f::kFloat).message(f::kTensorTypeShape, shape);
  Writer type;
  type.message(f::kTypeTensorType, tensor);
  return type;
}

// y = f(x) for an activation, on g.current().
void activation(Graph& g, Activation kind, ActivationParams params) {
  const ActivationConstants c = resolve_activation_constants(kind, params);
  const std::string x = g.current();
  switch (kind) {
    case Activation::kIdentity: return;
    case Activation::kSigmoid: g.apply("Sigmoid"); return;
    case Activation::kTanh: g.apply("Tanh"); return;
    case Activation::kRelu: g.apply("Relu"); return;
    case Activation::kLeakyRelu: g.apply("LeakyRelu", [&] { std::vector<Writer> a; a.push_back(attribute("alpha", c.alpha)); return a; }()); return;
    case Activation::kElu: g.apply("Elu", [&] { std::vector<Writer> a; a.push_back(attribute("alpha", c.alpha)); return a; }()); return;
    case Activation::kSelu: g.apply("Selu"); return;  // ONNX's default constants are torch's
    case Activation::kSoftsign: g.apply("Softsign"); return;
    case Activation::kHardSigmoid: {
      std::vector<Writer> a;
      a.push_back(attribute("alpha", 1.0f / 6.0f));
      a.push_back(attribute("beta", 0.5f));
      g.apply("HardSigmoid", std::move(a));
      return;
    }
    case Activation::kHardswish: g.apply("HardSwish"); return;
    case Activation::kRelu6: g.node("Clip", {x, g.scalar("min", 0.0f), g.scalar("max", 6.0f)}); return;
    case Activation::kHardtanh: g.node("Clip", {x, g.scalar("min", c.alpha), g.scalar("max", c.beta)}); return;
    case Activation::kSoftplus: {
      // ONNX's Softplus has beta 1 and no threshold (past it torch returns x, within float
      // rounding of log(1 + e^x)).
      if (c.alpha == 1.0f) {
        g.apply("Softplus");
      } else {
        const std::string beta = g.scalar("beta", c.alpha);
        g.node("Mul", {x, beta});
        g.apply("Softplus");
        g.node("Div", {g.current(), beta});
      }
      return;
    }
    case Activation::kSilu: {
      const std::string s = g.apply("Sigmoid");
      g.node("Mul", {x, s});
      return;
    }
    case Activation::kMish: {
      g.apply("Softplus");
      const std::string t = g.apply("Tanh");
      g.node("Mul", {x, t});
      return;
    }
    case Activation::kLogSigmoid: {  // -softplus(-x)
      g.apply("Neg");
      g.apply("Softplus");
      g.apply("Neg");
      return;
    }
    case Activation::kGelu: {  // x * 0.5 * (1 + erf(x / sqrt 2)): the pattern torch exports
      g.node("Div", {x, g.scalar("sqrt2", std::numbers::sqrt2_v<float>)});
      g.apply("Erf");
      g.node("Add", {g.current(), g.scalar("one", 1.0f)});
      g.node("Mul", {x, g.current()});
      g.node("Mul", {g.current(), g.scalar("half", 0.5f)});
      return;
    }
    case Activation::kGeluTanh: {  // 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
      const std::string cube = g.node("Mul", {x, x});
      g.node("Mul", {cube, x});
      g.node("Mul", {g.current(), g.scalar("k", 0.044715f)});
      g.node("Add", {x, g.current()});
      g.node("Mul", {g.current(), g.scalar("sqrt_2_over_pi", static_cast<float>(std::sqrt(2.0 / std::numbers::pi)))});
      g.apply("Tanh");
      g.node("Add", {g.current(), g.scalar("one", 1.0f)});
      g.node("Mul", {x, g.current()});
      g.node("Mul", {g.current(), g.scalar("half", 0.5f)});
      return;
    }
  }
  throw ValueError("save_onnx: activation " + std::string(activation_name(kind)) + " has no ONNX form here");
}

std::vector<Writer> attributes(std::initializer_list<std::pair<const char*, std::vector<std::int64_t>>> lists) {
  std::vector<Writer> out;
  for (const auto& [name, values] : lists) out.push_back(attribute(name, values));
  return out;
}

// The layer's parameters by their name within the layer.
const Tensor& parameter(nn::Layer& layer, const std::string& name) {
  for (nn::Parameter* p : layer.parameters()) {
    if (p->name == name) return p->value;
  }
  throw ValueError("save_onnx: layer " + layer.type() + " has no parameter '" + name + "'");
}

// One layer, reading g.current() of shape `input` ([1, sample...]), at state_dict prefix `prefix`.
void export_layer(Graph& g, nn::Layer& layer, const Shape& input, const std::string& prefix) {
  const std::string type = layer.type();
  const auto name = [&](const std::string& what) { return prefix + what; };
  if (auto* dense = dynamic_cast<nn::Dense*>(&layer)) {
    if (input.rank() > 2) {
      // Gemm takes matrices only: [batch, ..., in] goes through MatMul with W^T [in, out], then
      // Add of the bias (as torch exports nn.Linear on such inputs).
      const Shape& w = dense->weight().value.shape();
      const std::vector<float> v = dense->weight().value.to_vector();
      std::vector<float> transposed(v.size());
      for (std::int64_t o = 0; o < w[0]; ++o) {
        for (std::int64_t i = 0; i < w[1]; ++i) transposed[static_cast<std::size_t>(i * w[0] + o)] = v[static_cast<std::size_t>(o * w[1] + i)];
      }
      g.node("MatMul", {g.current(), g.constant(name("weight_t"), Shape{w[1], w[0]}, transposed)});
      if (dense->has_bias()) g.node("Add", {g.current(), g.constant(name("bias"), dense->bias().value)});
      activation(g, dense->activation(), nn::get_activation_params(layer.config(), dense->activation()));
      return;
    }
    std::vector<std::string> inputs{g.current(), g.constant(name("weight"), dense->weight().value)};
    if (dense->has_bias()) inputs.push_back(g.constant(name("bias"), dense->bias().value));
    std::vector<Writer> a;
    a.push_back(attribute("transB", std::int64_t{1}));
    g.node("Gemm", std::move(inputs), std::move(a));
    activation(g, dense->activation(), nn::get_activation_params(layer.config(), dense->activation()));
    return;
  }
  if (auto* act = dynamic_cast<nn::ActivationLayer*>(&layer)) {
    activation(g, act->kind(), act->params());
    return;
  }
  if (type == "Dropout") return;
  if (type == "Softmax" || type == "LogSoftmax") {
    std::vector<Writer> a;
    a.push_back(attribute("axis", std::int64_t{-1}));
    g.apply(type, std::move(a));
    return;
  }
  if (type == "Flatten") {
    std::vector<Writer> a;
    a.push_back(attribute("axis", std::int64_t{1}));
    g.apply("Flatten", std::move(a));
    return;
  }
  if (auto* conv = dynamic_cast<nn::Conv2d*>(&layer)) {
    const Conv2dOptions o = conv->op_options();
    const Shape& w = conv->weight().value.shape();
    std::vector<std::string> inputs{g.current(), g.constant(name("weight"), conv->weight().value)};
    if (conv->bias().value.defined()) inputs.push_back(g.constant(name("bias"), conv->bias().value));
    std::vector<Writer> a = attributes({{"kernel_shape", {w[2], w[3]}},
                                        {"strides", {o.stride_h, o.stride_w}},
                                        {"pads", {o.pad_top, o.pad_left, o.pad_bottom, o.pad_right}},
                                        {"dilations", {o.dilation_h, o.dilation_w}}});
    a.push_back(attribute("group", o.groups));
    g.node("Conv", std::move(inputs), std::move(a));
    return;
  }
  if (auto* pool = dynamic_cast<nn::MaxPool2d*>(&layer)) {
    const Pool2dOptions& o = pool->options();
    std::vector<Writer> a = attributes({{"kernel_shape", {o.kernel_h, o.kernel_w}},
                                        {"strides", {o.stride_h, o.stride_w}},
                                        {"pads", {o.pad_h, o.pad_w, o.pad_h, o.pad_w}},
                                        {"dilations", {o.dilation_h, o.dilation_w}}});
    a.push_back(attribute("ceil_mode", std::int64_t{o.ceil_mode}));
    g.apply("MaxPool", std::move(a));
    return;
  }
  if (auto* pool = dynamic_cast<nn::AvgPool2d*>(&layer)) {
    const Pool2dOptions& o = pool->options();
    std::vector<Writer> a = attributes({{"kernel_shape", {o.kernel_h, o.kernel_w}},
                                        {"strides", {o.stride_h, o.stride_w}},
                                        {"pads", {o.pad_h, o.pad_w, o.pad_h, o.pad_w}}});
    a.push_back(attribute("ceil_mode", std::int64_t{o.ceil_mode}));
    a.push_back(attribute("count_include_pad", std::int64_t{o.count_include_pad}));
    g.apply("AveragePool", std::move(a));
    return;
  }
  if (type == "AdaptiveAvgPool2d") {
    const Shape out = layer.output_shape(input);  // ShapeError when the tiles are uneven
    if (out[2] == 1 && out[3] == 1) {
      g.apply("GlobalAveragePool");
      return;
    }
    const std::int64_t kh = input[2] / out[2], kw = input[3] / out[3];
    g.apply("AveragePool", attributes({{"kernel_shape", {kh, kw}}, {"strides", {kh, kw}}}));
    return;
  }
  if (auto* bn = dynamic_cast<nn::BatchNorm*>(&layer)) {
    const nn::LayerConfig c = layer.config();
    if (!c.boolean("track_running_stats")) {
      throw ValueError("save_onnx: layer " + prefix + type +
                       " keeps no running statistics (track_running_stats=false): its evaluation uses each batch's "
                       "statistics, which ONNX's BatchNormalization cannot express");
    }
    const std::int64_t features = bn->num_features();
    std::string scale, shift;
    if (c.boolean("affine")) {
      scale = g.constant(name("weight"), bn->weight().value);
      shift = g.constant(name("bias"), bn->bias().value);
    } else {
      const std::vector<float> ones(static_cast<std::size_t>(features), 1.0f), zeros(ones.size(), 0.0f);
      scale = g.constant(name("weight"), Shape{features}, ones);
      shift = g.constant(name("bias"), Shape{features}, zeros);
    }
    const std::string mean = g.constant(name("running_mean"), bn->running_mean().value);
    const std::string var = g.constant(name("running_var"), bn->running_var().value);
    std::vector<Writer> a;
    a.push_back(attribute("epsilon", static_cast<float>(c.number("eps"))));
    g.node("BatchNormalization", {g.current(), scale, shift, mean, var}, std::move(a));
    return;
  }
  if (type == "LayerNorm") {
    const nn::LayerConfig c = layer.config();
    const std::vector<std::int64_t>& normalized = c.integers("normalized_shape");
    const Shape norm_shape{std::span<const std::int64_t>(normalized)};
    const std::int64_t count = norm_shape.numel();
    std::vector<std::string> inputs{g.current()};
    if (c.boolean("elementwise_affine")) {
      inputs.push_back(g.constant(name("weight"), parameter(layer, "weight")));
      if (c.boolean("bias")) inputs.push_back(g.constant(name("bias"), parameter(layer, "bias")));
    } else {
      const std::vector<float> ones(static_cast<std::size_t>(count), 1.0f);
      inputs.push_back(g.constant(name("weight"), norm_shape, ones));
    }
    std::vector<Writer> a;
    a.push_back(attribute("axis", -static_cast<std::int64_t>(normalized.size())));
    a.push_back(attribute("epsilon", static_cast<float>(c.number("eps"))));
    g.node("LayerNormalization", std::move(inputs), std::move(a));
    return;
  }
  auto* lstm = dynamic_cast<nn::LSTM*>(&layer);
  auto* gru = dynamic_cast<nn::GRU*>(&layer);
  if (lstm != nullptr || gru != nullptr) {
    // ONNX's LSTM and GRU are time-major, their gate blocks in ONNX's orders (LSTM: i, o, f, c
    // from torch's i, f, g, o; GRU: z, r, h from torch's r, z, n): the input transposed to
    // [T, N, F], W, R and B = [Wb, Rb] reordered, the output [T, 1, N, H] squeezed and transposed
    // back (as torch.onnx.export writes a batch_first LSTM or GRU). torch's GRU applies the reset
    // gate after the hidden product: linear_before_reset = 1.
    const std::int64_t h = lstm != nullptr ? lstm->hidden_size() : gru->hidden_size();
    const std::int64_t features = lstm != nullptr ? lstm->input_size() : gru->input_size();
    // ONNX block k is torch's block torch_block[k].
    const std::vector<std::size_t> torch_block = lstm != nullptr ? std::vector<std::size_t>{0, 3, 1, 2} : std::vector<std::size_t>{1, 0, 2};
    const auto gates = static_cast<std::int64_t>(torch_block.size());
    const std::string order = lstm != nullptr ? "iofc" : "zrh";
    const auto reorder = [&torch_block](const Tensor& t) {
      const std::vector<float> v = t.to_vector();
      const std::size_t block = v.size() / torch_block.size();
      std::vector<float> out(v.size());
      for (std::size_t k = 0; k < torch_block.size(); ++k) {
        std::copy_n(v.begin() + static_cast<std::ptrdiff_t>(torch_block[k] * block), block, out.begin() + static_cast<std::ptrdiff_t>(k * block));
      }
      return out;
    };
    std::vector<float> bias = reorder(parameter(layer, "bias_ih_l0"));
    const std::vector<float> recurrent_bias = reorder(parameter(layer, "bias_hh_l0"));
    bias.insert(bias.end(), recurrent_bias.begin(), recurrent_bias.end());
    const std::string w = g.constant(name("W_" + order), Shape{1, gates * h, features}, reorder(parameter(layer, "weight_ih_l0")));
    const std::string r = g.constant(name("R_" + order), Shape{1, gates * h, h}, reorder(parameter(layer, "weight_hh_l0")));
    const std::string b = g.constant(name("B_" + order), Shape{1, 2 * gates * h}, bias);
    const auto swap_batch_and_time = [] {
      std::vector<Writer> a;
      a.push_back(attribute("perm", std::vector<std::int64_t>{1, 0, 2}));
      return a;
    };
    g.apply("Transpose", swap_batch_and_time());
    std::vector<Writer> a;
    a.push_back(attribute("hidden_size", h));
    if (gru != nullptr) a.push_back(attribute("linear_before_reset", std::int64_t{1}));
    g.node(lstm != nullptr ? "LSTM" : "GRU", {g.current(), w, r, b}, std::move(a));
    const std::int64_t direction_axis = 1;
    g.node("Squeeze", {g.current(), g.int64_constant(prefix + "/directions", std::span<const std::int64_t>(&direction_axis, 1))});
    g.apply("Transpose", swap_batch_and_time());
    return;
  }
  if (auto* prelu = dynamic_cast<nn::PReLU*>(&layer)) {
    // torch's slope is per channel (axis 1): shaped [C, 1, ...] to broadcast over the axes after.
    const Tensor& slope = prelu->weight().value;
    std::vector<std::int64_t> dims{slope.shape()[0]};
    if (prelu->num_parameters() > 1) {
      for (int axis = 2; axis < input.rank(); ++axis) dims.push_back(1);
    }
    const std::vector<float> values = slope.to_vector();
    g.node("PRelu", {g.current(), g.constant(name("weight"), Shape(std::span<const std::int64_t>(dims)), values)});
    return;
  }
  throw ValueError("save_onnx: layer " + prefix + type + " has no ONNX form (axon/io/onnx.h lists the layers it exports)");
}

}  // namespace

void save_onnx(nn::Sequential& model, const std::filesystem::path& path, const OnnxExportOptions& options) {
  const std::optional<Shape> sample = options.sample_input ? options.sample_input : model.sample_input();
  if (!sample) {
    throw ValueError("save_onnx: the model's input shape is unknown (it has not run and its first layer fixes none): "
                     "give OnnxExportOptions::sample_input");
  }
  // The layers' shapes at batch 1 (the graph's batch axis is named instead).
  std::vector<std::int64_t> dims{1};
  dims.insert(dims.end(), sample->dims().begin(), sample->dims().end());
  Shape shape{std::span<const std::int64_t>(dims)};
  Graph g("input");
  std::int64_t index = 0;
  for (std::size_t i = 0; i < model.size(); ++i) {
    nn::Layer& layer = model.layer(i);
    const std::string prefix = std::to_string(index) + ".";
    std::string node_prefix = "/";  // (appended: GCC 12 warns falsely on "/" + string)
    node_prefix += std::to_string(index);
    g.set_prefix(std::move(node_prefix));
    export_layer(g, layer, shape, prefix);
    shape = layer.output_shape(shape);
    index += layer.index_span();
  }
  const Shape sample_output{shape.dims().subspan(1)};
  Writer graph = g.finish(options.graph_name, "input", tensor_type(*sample), "output", tensor_type(sample_output));

  Writer opset;
  opset.bytes(f::kOpsetDomain, "").int64(f::kOpsetVersion, f::kOpset);
  Writer file;
  file.int64(f::kModelIrVersion, f::kIrVersion)
      .bytes(f::kModelProducerName, "axon")
      .bytes(f::kModelProducerVersion, axon::version())
      .message(f::kModelGraph, graph)
      .message(f::kModelOpsetImport, opset);
  for (const auto& [key, value] : {std::pair<std::string, std::string>{"axon_version", axon::version()},
                                   {"axon_layers", nn::layer_list_json(model)}}) {
    Writer entry;
    entry.bytes(f::kStringEntryKey, key).bytes(f::kStringEntryValue, value);
    file.message(f::kModelMetadataProps, entry);
  }
  write_file_atomically(path, {file.data()});
}

}  // namespace axon::io
