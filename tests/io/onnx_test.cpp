// The protobuf wire format (core/src/io/protobuf.h) both ways, its reader on damaged buffers,
// and save_onnx's file structure and refusals. (That the files are valid ONNX and compute what
// axon computes is io.onnx_export_runs_in_onnxruntime's part: onnx.checker and onnxruntime.)
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <random>

#include "core/src/io/onnx_fields.h"
#include "io/onnx_cases.h"
#include "core/src/io/protobuf.h"
#include "test_util.h"

namespace {

using axon::Tensor;
namespace nn = axon::nn;
namespace pb = axon::io::protobuf;
namespace f = axon::io::onnx_fields;

const std::string kSource = "test.onnx";

std::vector<pb::Field> fields_of(std::string_view data) {
  pb::Reader reader(data, 0, kSource);
  std::vector<pb::Field> out;
  pb::Field field;
  while (reader.next(field)) out.push_back(field);
  return out;
}

TEST(Protobuf, WhatTheWriterWritesTheReaderReadsBack) {
  pb::Writer nested;
  nested.bytes(1, "inner");
  pb::Writer w;
  const std::vector<std::int64_t> ints{0, 1, 127, 128, -1, std::numeric_limits<std::int64_t>::min()};
  const std::vector<float> floats{0.5f, -3.25f, 1e-30f};
  w.int64(1, -5).varint(2, std::numeric_limits<std::uint64_t>::max()).float32(3, 2.5f).bytes(4, std::string("a\0b", 3));
  w.message(5, nested).packed_int64(6, ints).packed_float32(7, floats);
  for (const std::int64_t v : ints) w.int64(8, v);  // the same list, one value per field

  pb::Reader reader(w.data(), 100, kSource);
  const std::vector<pb::Field> got = fields_of(w.data());
  ASSERT_EQ(got.size(), 7u + ints.size());
  EXPECT_EQ(reader.int64(got[0], "f1"), -5);
  EXPECT_EQ(got[1].varint, std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(got[2].type, pb::WireType::kFixed32);
  EXPECT_EQ(got[2].as_float32(), 2.5f);
  EXPECT_EQ(reader.string(got[3], "f4"), std::string_view("a\0b", 3));
  pb::Reader inner = reader.nested(got[4], "f5");
  pb::Field field;
  ASSERT_TRUE(inner.next(field));
  EXPECT_EQ(field.number, 1);
  EXPECT_EQ(field.bytes, "inner");
  EXPECT_FALSE(inner.next(field));
  std::vector<std::int64_t> packed, unpacked;
  reader.int64s(got[5], packed, "f6");
  for (std::size_t i = 7; i < got.size(); ++i) reader.int64s(got[i], unpacked, "f8");
  EXPECT_EQ(packed, ints);
  EXPECT_EQ(unpacked, ints);
  std::vector<float> float_list;
  reader.float32s(got[6], float_list, "f7");
  EXPECT_EQ(float_list, floats);
  EXPECT_EQ(got[0].offset, 0u);  // offsets count from the start of the buffer given
}

TEST(Protobuf, DamagedBuffersAreFormatErrorsNamingTheByte) {
  const auto refused = [](std::string data, std::initializer_list<std::string_view> words) {
    axon_test::expect_error<axon::FormatError>([&] { (void)fields_of(data); }, words);
  };
  refused("\x08", {"test.onnx", "byte 0", "varint runs past"});                 // a key, no value
  refused("\x80", {"byte 0", "key runs past"});                                  // a key cut short
  refused(std::string("\x08") + std::string(11, '\xff'), {"varint runs past"});  // 11 bytes: too long
  refused("\x0a\x05" "abc", {"byte 0", "claims 5 bytes", "has 3 left"});        // a length past the end
  refused("\x0a\xff\xff\xff\xff\xff\xff\xff\xff\x7f", {"claims"});               // a huge length
  refused("\x0b", {"wire type 3"});                                              // groups
  refused(std::string("\x00\x00", 2), {"field number 0"});
  refused("\x0d\x01\x02", {"32-bit value runs past"});
  // A damaged message inside a good one: the offset counts from the outer buffer.
  pb::Writer outer;
  outer.int64(1, 7).bytes(2, "\x0a\x09");
  pb::Reader reader(outer.data(), 0, kSource);
  pb::Field field;
  ASSERT_TRUE(reader.next(field));
  ASSERT_TRUE(reader.next(field));
  pb::Reader inner = reader.nested(field, "the nested message");
  axon_test::expect_error<axon::FormatError>([&] { (void)inner.next(field); }, {"byte 4", "claims 9 bytes"});
  // The wrong kind of field for what the caller asks.
  pb::Writer w;
  w.float32(1, 1.0f);
  const auto got = fields_of(w.data());
  axon_test::expect_error<axon::FormatError>([&] { (void)reader.int64(got[0], "ir_version"); },
                                             {"ir_version is not an integer"});
  axon_test::expect_error<axon::FormatError>([&] { (void)reader.nested(got[0], "graph"); }, {"graph is not a message"});
}

// ---- save_onnx ----

std::filesystem::path temp_folder(const std::string& name) {
  const auto folder = std::filesystem::temp_directory_path() / ("axon_onnx_test_" + name);
  std::filesystem::remove_all(folder);
  std::filesystem::create_directories(folder);
  return folder;
}

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// What a test reads back from an exported file.
struct Exported {
  std::int64_t ir_version = 0, opset = 0;
  std::vector<std::string> ops, initializers;
  std::map<std::string, std::string> metadata;
};

Exported read_back(const std::string& data) {
  Exported e;
  pb::Reader model(data, 0, kSource);
  pb::Field field;
  while (model.next(field)) {
    if (field.number == f::kModelIrVersion) e.ir_version = model.int64(field, "ir_version");
    if (field.number == f::kModelOpsetImport) {
      pb::Reader opset = model.nested(field, "opset");
      pb::Field o;
      while (opset.next(o)) {
        if (o.number == f::kOpsetVersion) e.opset = opset.int64(o, "version");
      }
    }
    if (field.number == f::kModelMetadataProps) {
      pb::Reader entry = model.nested(field, "metadata");
      pb::Field kv;
      std::string key, value;
      while (entry.next(kv)) (kv.number == f::kStringEntryKey ? key : value) = entry.string(kv, "entry");
      e.metadata[key] = value;
    }
    if (field.number != f::kModelGraph) continue;
    pb::Reader graph = model.nested(field, "graph");
    pb::Field g;
    while (graph.next(g)) {
      pb::Field item;
      if (g.number == f::kGraphNode) {
        pb::Reader node = graph.nested(g, "node");
        while (node.next(item)) {
          if (item.number == f::kNodeOpType) e.ops.emplace_back(node.string(item, "op_type"));
        }
      }
      if (g.number == f::kGraphInitializer) {
        pb::Reader tensor = graph.nested(g, "initializer");
        while (tensor.next(item)) {
          if (item.number == f::kTensorName) e.initializers.emplace_back(tensor.string(item, "name"));
        }
      }
    }
  }
  return e;
}

TEST(SaveOnnx, WritesTheGraphTheWeightsByTheirTorchNamesAndTheLayerList) {
  const auto folder = temp_folder("structure");
  axon::Generator generator(1);
  nn::Sequential model;
  model.add(nn::Dense(4, 8, nn::DenseOptions{.generator = &generator}))
      .add(nn::ReLU())
      .add(nn::Dropout(0.5f))
      .add(nn::Dense(8, 3, nn::DenseOptions{.activation = axon::Activation::kSigmoid, .generator = &generator}))
      .add(nn::Dense(3, 2, nn::DenseOptions{.generator = &generator}));
  axon::io::save_onnx(model, folder / "m.onnx");  // the input shape from the first Dense
  const Exported e = read_back(read_all(folder / "m.onnx"));
  EXPECT_EQ(e.ir_version, 8);
  EXPECT_EQ(e.opset, 17);
  EXPECT_EQ(e.ops, (std::vector<std::string>{"Gemm", "Relu", "Gemm", "Sigmoid", "Gemm"}));
  // Dropout takes index 2; the fused Dense takes two (3 and 4), as PyTorch names them.
  EXPECT_EQ(e.initializers, (std::vector<std::string>{"0.weight", "0.bias", "3.weight", "3.bias", "5.weight", "5.bias"}));
  EXPECT_EQ(e.metadata.at("axon_version"), axon::version());
  EXPECT_NE(e.metadata.at("axon_layers").find("\"type\":\"Dropout\""), std::string::npos);
  // Written atomically: the file and nothing beside it.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(folder), std::filesystem::directory_iterator()), 1);
  std::filesystem::remove_all(folder);
}

class Unexportable final : public nn::Layer {
 public:
  std::string type() const override { return "MyBlock"; }
  axon::Shape output_shape(const axon::Shape& input) const override { return input; }
  void forward(const Tensor& x, const Tensor& y, const nn::StepContext&) override { y.copy_from(x); }
  void backward(const Tensor&, const Tensor&, const Tensor& grad_y, const Tensor& grad_x) override {
    if (grad_x.defined()) grad_x.copy_from(grad_y);
  }
};

TEST(SaveOnnx, RefusesWhatOnnxCannotExpressAndLeavesNoFile) {
  const auto folder = temp_folder("refusals");
  const auto path = folder / "m.onnx";
  {
    nn::Sequential model;
    model.add(nn::Dense(4, 4)).add(Unexportable());
    axon_test::expect_error<axon::ValueError>([&] { axon::io::save_onnx(model, path); }, {"1.MyBlock", "no ONNX form"});
  }
  {
    nn::Sequential model;
    model.add(nn::Dense(4, 4)).add(nn::BatchNorm1d(4, nn::BatchNormOptions{.track_running_stats = false}));
    axon_test::expect_error<axon::ValueError>([&] { axon::io::save_onnx(model, path); },
                                              {"1.BatchNorm1d", "track_running_stats"});
  }
  {
    nn::Sequential model;
    model.add(nn::Conv2d(1, 2, 3)).add(nn::Flatten());
    axon_test::expect_error<axon::ValueError>([&] { axon::io::save_onnx(model, path); }, {"input shape is unknown"});
    // A shape the layers do not chain on.
    axon_test::expect_error<axon::ShapeError>(
        [&] { axon::io::save_onnx(model, path, {.sample_input = axon::Shape{3, 8, 8}}); }, {"Conv2d"});
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_TRUE(std::filesystem::is_empty(folder));
  std::filesystem::remove_all(folder);
}

// ---- load_onnx ----

namespace round_trip {

// Every model save_onnx writes loads back as the same layers with the same weights: the same
// predictions, bit for bit.
TEST(LoadOnnx, EveryExportedModelLoadsBackAndPredictsTheSame) {
  const auto folder = temp_folder("round_trip");
  for (const onnx_cases::Case& c : onnx_cases::cases()) {
    SCOPED_TRACE(c.name);
    axon::Generator generator(7);
    nn::Sequential model;
    c.build(model, generator);
    onnx_cases::run_in_training(model, c.sample, generator);
    axon::io::save_onnx(model, folder / "m.onnx", {.sample_input = c.sample});
    nn::Sequential loaded = axon::io::load_onnx(folder / "m.onnx");
    // ONNX's BatchNormalization always has a scale and a bias: a BatchNorm without them
    // (cnn_norms' BatchNorm2d(4, affine=false)) comes back affine, at 1 and 0, trainable.
    EXPECT_EQ(loaded.parameter_count(), model.parameter_count() + (c.name == "cnn_norms" ? 8 : 0));
    std::vector<std::int64_t> dims{4};
    dims.insert(dims.end(), c.sample.dims().begin(), c.sample.dims().end());
    const Tensor x = Tensor::uniform(axon::Shape(std::span<const std::int64_t>(dims)), -3, 3, axon::Device::cpu(), generator);
    EXPECT_EQ(loaded.predict(x).to_vector(), model.predict(x).to_vector());
  }
  std::filesystem::remove_all(folder);
}

}  // namespace round_trip

// ---- load_onnx on hostile files ----

// A hand-made model: input [batch, 4], the given nodes and float initializers, opset `opset`.
struct HandNode {
  std::string op;
  std::vector<std::string> inputs, outputs;
};
std::string hand_model(const std::vector<HandNode>& nodes, const std::vector<std::pair<std::string, std::vector<std::int64_t>>>& initializers,
                       std::int64_t opset = 17, std::string_view raw_override = {}) {
  pb::Writer graph;
  for (std::size_t k = 0; k < nodes.size(); ++k) {
    pb::Writer n;
    for (const auto& in : nodes[k].inputs) n.bytes(f::kNodeInput, in);
    for (const auto& o : nodes[k].outputs) n.bytes(f::kNodeOutput, o);
    n.bytes(f::kNodeName, "n" + std::to_string(k)).bytes(f::kNodeOpType, nodes[k].op);
    graph.message(f::kGraphNode, n);
  }
  for (const auto& [name, dims] : initializers) {
    pb::Writer t;
    std::int64_t count = 1;
    for (const std::int64_t d : dims) t.int64(f::kTensorDims, d), count *= d;
    t.int64(f::kTensorDataType, f::kFloat).bytes(f::kTensorName, name);
    const std::vector<float> zeros(raw_override.empty() ? static_cast<std::size_t>(count) : 0, 0.5f);
    t.bytes(f::kTensorRawData, raw_override.empty() ? std::string_view(reinterpret_cast<const char*>(zeros.data()), zeros.size() * 4)
                                                    : raw_override);
    graph.message(f::kGraphInitializer, t);
  }
  const auto value = [](const std::string& name) {
    pb::Writer batch, four, shape, tensor, type, info;
    batch.bytes(f::kDimParam, "batch");
    four.int64(f::kDimValue, 4);
    shape.message(f::kShapeDim, batch).message(f::kShapeDim, four);
    tensor.int64(f::kTensorTypeElemType, f::kFloat).message(f::kTensorTypeShape, shape);
    type.message(f::kTypeTensorType, tensor);
    info.bytes(f::kValueInfoName, name).message(f::kValueInfoType, type);
    return info;
  };
  graph.message(f::kGraphInput, value("input")).message(f::kGraphOutput, value(nodes.empty() ? "input" : nodes.back().outputs[0]));
  pb::Writer opset_id, model;
  opset_id.bytes(f::kOpsetDomain, "").int64(f::kOpsetVersion, opset);
  model.int64(f::kModelIrVersion, 8).message(f::kModelGraph, graph).message(f::kModelOpsetImport, opset_id);
  return model.data();
}

template <class E = axon::FormatError>
void refused(const std::string& bytes, std::initializer_list<std::string_view> words) {
  axon_test::expect_error<E>([&] { (void)axon::io::load_onnx_bytes(bytes, "hand.onnx"); }, words);
}

void refused_with(const std::string& bytes, const axon::io::OnnxImportOptions& options, std::initializer_list<std::string_view> words) {
  axon_test::expect_error<axon::FormatError>([&] { (void)axon::io::load_onnx_bytes(bytes, "hand.onnx", options); }, words);
}

TEST(LoadOnnx, RefusesWhatItCannotReadNamingTheNodeOperatorAndAttribute) {
  // The hand model works as it is.
  // (Gemm without transB: w is [in, out].)
  const std::string good = hand_model({{"Gemm", {"input", "w"}, {"y"}}, {"Relu", {"y"}, {"z"}}}, {{"w", {4, 3}}});
  nn::Sequential ok = axon::io::load_onnx_bytes(good, "hand.onnx");
  EXPECT_EQ(ok.size(), 2u);
  refused(hand_model({{"Einsum", {"input", "w"}, {"y"}}}, {{"w", {3, 4}}}), {"hand.onnx", "node 'n0'", "Einsum", "not supported"});
  refused(hand_model({{"LSTM", {"input", "w"}, {"y"}}}, {{"w", {3, 4}}}), {"node 'n0'", "LSTM", "batch-first LSTM layer"});
  refused(hand_model({{"Relu", {"input"}, {"y"}}}, {}, 0), {"imports no opset"});
  refused(hand_model({{"Gemm", {"input", "w"}, {"y"}}}, {{"w", {4, 3}}}, 6), {"node 'n0'", "Gemm before opset 7"});
  refused(hand_model({{"Relu", {"input"}, {"y"}}, {"Relu", {"input"}, {"z"}}}, {}), {"node 'n1'", "only chains"});
  refused(hand_model({{"Gemm", {"input", "x"}, {"y"}}}, {}), {"node 'n0'", "weight 'x' is not a float constant"});
  refused(hand_model({{"Gemm", {"input", "w"}, {"y"}}}, {{"w", {3, 5}}}), {"node 'n0'", "does not fit"});
  refused(hand_model({{"Softmax", {"input"}, {"y"}}, {"Mul", {"y", "y"}, {"z"}}}, {}), {"node 'n1'", "Mul", "not part of a pattern"});
  // A tensor claiming more elements than its bytes hold is refused before anything is allocated.
  refused(hand_model({{"Gemm", {"input", "w"}, {"y"}}}, {{"w", {1ll << 40, 1ll << 20}}}, 17, "abcd"), {"multiply past"});
  refused(hand_model({{"Gemm", {"input", "w"}, {"y"}}}, {{"w", {3, 4}}}, 17, "abcd"), {"tensor 'w'", "[3, 4]", "4 bytes"});
  refused(std::string("\x3a\x05" "ab"), {"hand.onnx", "byte 0", "claims 5 bytes"});
  refused(std::string(), {"no graph"});
  axon_test::expect_error<axon::FormatError>([] { (void)axon::io::load_onnx("/dev/zero"); }, {"/dev/zero", "not a regular file"});
  axon_test::expect_error<axon::FormatError>([] { (void)axon::io::load_onnx("/nonexistent/m.onnx"); }, {"/nonexistent/m.onnx"});
}

// An operator is read as the opset the model imports defines it; the options' constants and
// output are checked against the graph.
TEST(LoadOnnx, ReadsOperatorsAsTheirOpsetDefinesThemAndChecksTheOptions) {
  const Tensor x = Tensor::from_vector(axon::Shape{2, 4}, std::vector<float>{1, -2, 3, 0.5f, -1, 4, 2, 2});
  // Softmax before opset 13 flattens from axis 1 (its default): on [batch, 4] the last axis.
  nn::Sequential old_softmax = axon::io::load_onnx_bytes(hand_model({{"Softmax", {"input"}, {"y"}}}, {}, 11), "hand.onnx");
  nn::Sequential new_softmax = axon::io::load_onnx_bytes(hand_model({{"Softmax", {"input"}, {"y"}}}, {}, 13), "hand.onnx");
  EXPECT_EQ(old_softmax.predict(x).to_vector(), new_softmax.predict(x).to_vector());
  // Clip without bounds, Identity and Dropout: the identity.
  nn::Sequential identity = axon::io::load_onnx_bytes(
      hand_model({{"Clip", {"input"}, {"a"}}, {"Identity", {"a"}, {"b"}}, {"Dropout", {"b"}, {"c"}}}, {}, 13), "hand.onnx");
  EXPECT_EQ(identity.predict(x).to_vector(), x.to_vector());

  const std::string gemm = hand_model({{"Gemm", {"input", "w"}, {"y"}}}, {{"w", {4, 3}}});
  axon::io::OnnxImportOptions options;
  options.constants["q"] = Tensor::zeros(axon::Shape{4, 3});
  axon_test::expect_error<axon::ValueError>([&] { (void)axon::io::load_onnx_bytes(gemm, "hand.onnx", options); },
                                            {"hand.onnx", "constant 'q' is not an input"});
  options.constants = {{"w", Tensor::zeros(axon::Shape{4, 3})}};
  axon_test::expect_error<axon::ValueError>([&] { (void)axon::io::load_onnx_bytes(gemm, "hand.onnx", options); },
                                            {"constant 'w' is an initializer"});
  options.constants.clear();
  options.output = "nope";
  refused_with(gemm, options, {"has no output 'nope'"});
  options.output = "y";
  EXPECT_EQ(axon::io::load_onnx_bytes(gemm, "hand.onnx", options).size(), 1u);
}

// Weights in an external file: read beside the model, the location kept inside its folder, the
// byte range inside the file; from bytes in memory there is no folder to read from.
TEST(LoadOnnx, ExternalDataIsReadFromTheModelsFolderAndChecked) {
  const std::filesystem::path fixtures = AXON_TEST_FIXTURE_DIR;
  const std::string model = read_all(fixtures / "torch_onnx_dynamo_mlp.onnx");
  axon_test::expect_error<axon::FormatError>([&] { (void)axon::io::load_onnx_bytes(model, "mem.onnx"); },
                                             {"mem.onnx", "external file 'torch_onnx_dynamo_mlp.onnx.data'", "load_onnx(path)"});
  const auto folder = temp_folder("external");
  const auto with_location = [&](const std::string& location) {
    // The model names its data file in each external tensor: a same-length stand-in name.
    std::string changed = model;
    const std::string original = "torch_onnx_dynamo_mlp.onnx.data";
    EXPECT_EQ(location.size(), original.size());
    for (std::size_t at = changed.find(original); at != std::string::npos; at = changed.find(original, at + 1)) {
      changed.replace(at, original.size(), location);
    }
    std::ofstream(folder / "m.onnx", std::ios::binary) << changed;
    return folder / "m.onnx";
  };
  const std::string data = read_all(fixtures / "torch_onnx_dynamo_mlp.onnx.data");
  std::filesystem::create_directories(folder / "sub");
  std::ofstream(folder / "sub" / "weights_of_the_mlp_modl.bin", std::ios::binary) << data;
  EXPECT_EQ(axon::io::load_onnx(with_location("sub/weights_of_the_mlp_modl.bin")).size(),
            axon::io::load_onnx(fixtures / "torch_onnx_dynamo_mlp.onnx").size());
  axon_test::expect_error<axon::FormatError>([&] { (void)axon::io::load_onnx(with_location("../torch_onnx_dynamo_mlp.data00")); },
                                             {"tensor '", "not a path inside the model's folder"});
  axon_test::expect_error<axon::FormatError>([&] { (void)axon::io::load_onnx(with_location("/etc/torch_onnx_dynamo_mlp.data")); },
                                             {"not a path inside the model's folder"});
  axon_test::expect_error<axon::FormatError>([&] { (void)axon::io::load_onnx(with_location("missing_data_of_the_mlp_model00")); },
                                             {"missing_data_of_the_mlp_model00", "not a regular file"});
  std::ofstream(folder / "sub" / "short_weights_of_the_ml.bin", std::ios::binary) << data.substr(0, data.size() / 2);
  axon_test::expect_error<axon::FormatError>([&] { (void)axon::io::load_onnx(with_location("sub/short_weights_of_the_ml.bin")); },
                                             {"short_weights_of_the_ml.bin", "pass"});
  std::filesystem::remove_all(folder);
}

// Every prefix of a real file and thousands of random damages: a FormatError or a model, never
// a crash, another exception or a hang (the fuzz target, fuzz_onnx, goes further).
TEST(LoadOnnx, DamagedFilesAreFormatErrorsOrModels) {
  const std::string file = read_all(std::filesystem::path(AXON_TEST_FIXTURE_DIR) / "torch_onnx_cnn.onnx");
  const auto load = [](const std::string& bytes) {
    try {
      (void)axon::io::load_onnx_bytes(bytes, "damaged.onnx");
    } catch (const axon::FormatError& e) {
      EXPECT_NE(std::string_view(e.what()).find("damaged.onnx"), std::string_view::npos) << e.what();
    }
  };
  for (std::size_t size = 0; size < file.size(); size += 7) load(file.substr(0, size));
  std::mt19937 engine(5);
  for (int trial = 0; trial < 3000; ++trial) {
    std::string damaged = file;
    for (int k = 0; k < 3; ++k) damaged[engine() % damaged.size()] = static_cast<char>(engine());
    load(damaged);
  }
}

// Models PyTorch exported (tests/fixtures/make_onnx_fixtures.py: torch.onnx.export of
// nn.Sequential by both exporters: TorchScript's, with Constant nodes among the operators, and
// torch.export's, opset 20 with the weights in an external file) predict what PyTorch predicted.
TEST(LoadOnnx, ModelsPyTorchExportedPredictWhatPyTorchPredicted) {
  const std::filesystem::path fixtures = AXON_TEST_FIXTURE_DIR;
  for (const std::string exporter : {"torch_onnx_", "torch_onnx_dynamo_"})
  for (const char* name : {"mlp", "cnn", "cnn_norms", "lstm", "lstm_flat", "gru"}) {
    SCOPED_TRACE(exporter + name);
    nn::Sequential model = axon::io::load_onnx(fixtures / (exporter + name + ".onnx"));
    const axon::io::Safetensors io =
        axon::io::load_safetensors(fixtures / (std::string("torch_onnx_") + name + "_io.safetensors"));
    const std::vector<float> got = model.predict(io.at("input")).to_vector();
    const std::vector<float> want = io.at("output").to_vector();
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5 + 1e-5 * std::abs(want[i])) << i;
  }
  // An LSTM whose initial states are not zeros is refused, naming the node that makes them.
  axon_test::expect_error<axon::FormatError>(
      [&] { (void)axon::io::load_onnx(fixtures / "torch_onnx_lstm_ones_state.onnx"); },
      {"torch_onnx_lstm_ones_state.onnx", "ConstantOfShape", "other than 0"});
}

}  // namespace
