#pragma once
// The ONNX file as plain structs (onnx_reader.cpp), for load_onnx's builder (onnx_import.cpp) and
// read_onnx_tensor: the bounded protobuf reader (protobuf.h) turned into models, nodes,
// attributes and tensors. Reading is linear in the file's size and allocates nothing a hostile
// file could make large: every tensor's element count is checked against the bytes the file
// holds for it before any vector is made, and the messages nest only as deep as the schema
// (model, graph, node, attribute, tensor; subgraphs are refused).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/src/io/protobuf.h"

namespace axon::io::onnx_reader {

struct TensorData {
  std::string name;
  std::vector<std::int64_t> dims;
  std::vector<float> values;       // float and double tensors
  std::vector<std::int64_t> ints;  // int32 and int64 tensors
  bool is_integer = false;
  std::size_t offset = 0;
  // Data in an external file (torch.onnx.export's default for weights): read by load_onnx from
  // `location` beside the model, `length` bytes (-1: to the file's end) from `data_offset`.
  struct External {
    std::string location;
    std::int64_t data_offset = 0, length = -1;
    std::int64_t type = 0;
  };
  std::optional<External> external;
  std::int64_t numel() const {
    std::int64_t n = 1;
    for (const std::int64_t d : dims) n *= d;
    return n;
  }
};

struct Attribute {
  std::string name;
  std::int64_t type = 0;
  float f = 0.0f;
  std::int64_t i = 0;
  std::string s;
  std::vector<std::int64_t> ints;
  std::vector<float> floats;
  std::optional<TensorData> t;
};

struct Node {
  std::string op, name, domain;
  std::vector<std::string> inputs, outputs;
  std::vector<Attribute> attributes;
  std::size_t offset = 0;
  const Attribute* attribute(std::string_view key) const {
    for (const Attribute& a : attributes) {
      if (a.name == key) return &a;
    }
    return nullptr;
  }
};

struct ValueInfo {
  std::string name;
  std::vector<std::int64_t> dims;  // -1 for a named (symbolic) or unknown axis
  bool has_shape = false;
  std::int64_t elem_type = 0;  // 0: not given
};

struct Model {
  std::int64_t opset = 0;
  std::vector<Node> nodes;
  std::map<std::string, TensorData> constants;  // initializers and Constant nodes' values
  std::vector<ValueInfo> inputs;
  std::vector<std::string> outputs;
};

// One TensorProto (an initializer, a Constant's value, a tensor file); `offset` names its place
// in errors. External data is recorded, not read (load_external_data reads it).
TensorData parse_tensor(protobuf::Reader r, std::size_t offset);
// The model: its default-domain opset, nodes, initializers, graph inputs and outputs.
Model parse_model(std::string_view data, const std::string& source);
// The file's bytes, after checking that it is a regular file within protobuf's 2 GiB.
std::string read_file(const std::filesystem::path& path);
// The data of tensors kept in external files, read from `folder` (null: refused, naming why).
void load_external_data(Model& m, const std::filesystem::path* folder, const std::string& source);

}  // namespace axon::io::onnx_reader
