// The ONNX file as plain structs (onnx_reader.h), and read_onnx_tensor (axon/io/onnx.h).
#include "core/src/io/onnx_reader.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <fstream>
#include <limits>

#include "axon/error.h"
#include "axon/io/onnx.h"
#include "core/src/io/onnx_fields.h"

namespace axon::io {

namespace onnx_reader {

namespace f = onnx_fields;
using protobuf::Field;
using protobuf::Reader;

namespace {

// Elements a tensor of `dims` has, FormatError when a dimension is negative or the product
// passes what `available` bytes of `element` bytes each could hold.
std::int64_t checked_numel(const Reader& r, std::size_t offset, const std::string& name,
                           const std::vector<std::int64_t>& dims, std::size_t available, std::size_t element) {
  std::string text = "[";
  for (std::size_t k = 0; k < dims.size(); ++k) text += (k > 0 ? ", " : "") + std::to_string(dims[k]);
  text += "]";
  for (const std::int64_t d : dims) {
    if (d < 0) r.fail(offset, "tensor '" + name + "' has a negative dimension: " + text);
  }
  if (std::find(dims.begin(), dims.end(), 0) != dims.end()) return 0;  // (the other axes may be any size)
  std::int64_t n = 1;
  const auto most = static_cast<std::int64_t>(available / element);
  for (const std::int64_t d : dims) {
    if (n > most / d) {
      r.fail(offset, "tensor '" + name + "' has dimensions " + text + " that multiply past the " +
                         std::to_string(available) + " bytes of data it has");
    }
    n *= d;
  }
  return n;
}

}  // namespace

TensorData parse_tensor(Reader r, std::size_t offset) {
  TensorData t;
  t.offset = offset;
  std::int64_t type = 0;
  std::string_view raw;
  bool has_raw = false;
  std::int64_t external_location = 0;
  std::vector<Field> float_fields, int_fields, double_fields, external_fields;
  std::string& name = t.name;
  Field field;
  while (r.next(field)) {
    switch (field.number) {
      case f::kTensorDims: r.int64s(field, t.dims, "a tensor's dims"); break;
      case f::kTensorDataType: type = r.int64(field, "a tensor's data_type"); break;
      case f::kTensorName: name = std::string(r.string(field, "a tensor's name")); break;
      case f::kTensorRawData: raw = r.string(field, "raw_data"), has_raw = true; break;
      case f::kTensorFloatData: float_fields.push_back(field); break;
      case f::kTensorInt32Data:
      case f::kTensorInt64Data: int_fields.push_back(field); break;
      case f::kTensorDoubleData: double_fields.push_back(field); break;
      case f::kTensorDataLocation:
        external_location = r.int64(field, "data_location");
        if (external_location != 0 && external_location != 1) r.fail(field.offset, "data_location is neither DEFAULT nor EXTERNAL");
        break;
      case f::kTensorExternalData: external_fields.push_back(field); break;
      default: break;
    }
  }
  if (external_location == 1) {
    TensorData::External e;
    e.type = type;
    for (const Field& entry_field : external_fields) {
      Reader entry = r.nested(entry_field, "an external_data entry");
      std::string key, value;
      Field kv;
      while (entry.next(kv)) {
        if (kv.number == f::kStringEntryKey) key = std::string(entry.string(kv, "an external_data key"));
        if (kv.number == f::kStringEntryValue) value = std::string(entry.string(kv, "an external_data value"));
      }
      if (key == "location") {
        e.location = value;
      } else if (key == "offset" || key == "length") {
        std::int64_t number = 0;
        const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
        if (error != std::errc() || end != value.data() + value.size() || number < 0) {
          r.fail(entry_field.offset, "tensor '" + name + "': external_data " + key + " '" + value + "' is not a byte count");
        }
        (key == "offset" ? e.data_offset : e.length) = number;
      }
    }
    if (e.location.empty()) r.fail(offset, "tensor '" + name + "' keeps its data externally but names no location");
    t.external = std::move(e);
    return t;  // read (and checked against its file) by load_external_data
  }
  const auto where = [&] { return "tensor '" + name + "'"; };
  if (type == f::kFloat || type == f::kDouble) {
    const std::size_t element = type == f::kFloat ? 4 : 8;
    std::size_t available = raw.size();
    for (const Field& fl : float_fields) available += fl.type == protobuf::WireType::kBytes ? fl.bytes.size() : 4;
    for (const Field& fl : double_fields) available += (fl.type == protobuf::WireType::kBytes ? fl.bytes.size() : 8) / 2;
    const std::int64_t n = checked_numel(r, offset, name, t.dims, std::max<std::size_t>(available, element), element);
    if (has_raw) {
      if (raw.size() != static_cast<std::size_t>(n) * element) {
        r.fail(offset, where() + " has " + std::to_string(raw.size()) + " bytes of raw_data for " + std::to_string(n) +
                           " elements of " + std::to_string(element) + " bytes");
      }
      t.values.resize(static_cast<std::size_t>(n));
      if (type == f::kFloat) {
        if (!raw.empty()) std::memcpy(t.values.data(), raw.data(), raw.size());
      } else {
        for (std::size_t k = 0; k < t.values.size(); ++k) {
          double d;
          std::memcpy(&d, raw.data() + 8 * k, 8);
          t.values[k] = static_cast<float>(d);
        }
      }
    } else if (type == f::kFloat) {
      for (const Field& fl : float_fields) r.float32s(fl, t.values, "float_data");
    } else {
      for (const Field& fl : double_fields) {
        if (fl.type == protobuf::WireType::kFixed64) {
          double d;
          std::memcpy(&d, &fl.fixed, 8);
          t.values.push_back(static_cast<float>(d));
        } else if (fl.type == protobuf::WireType::kBytes && fl.bytes.size() % 8 == 0) {
          for (std::size_t k = 0; k < fl.bytes.size(); k += 8) {
            double d;
            std::memcpy(&d, fl.bytes.data() + k, 8);
            t.values.push_back(static_cast<float>(d));
          }
        } else {
          r.fail(fl.offset, "double_data is not a list of doubles");
        }
      }
    }
    if (t.values.size() != static_cast<std::size_t>(n)) {
      r.fail(offset, where() + " holds " + std::to_string(t.values.size()) + " values for " + std::to_string(n) + " elements");
    }
    return t;
  }
  if (type == f::kInt64 || type == f::kInt32) {
    t.is_integer = true;
    const std::size_t element = type == f::kInt64 ? 8 : 4;
    std::size_t available = raw.size();
    for (const Field& fl : int_fields) available += fl.type == protobuf::WireType::kBytes ? fl.bytes.size() : 1;
    // A varint takes at least one byte: no more values than bytes.
    const std::int64_t n = checked_numel(r, offset, name, t.dims, std::max<std::size_t>(available, element), has_raw ? element : 1);
    if (has_raw) {
      if (raw.size() != static_cast<std::size_t>(n) * element) r.fail(offset, where() + "'s raw_data does not match its dims");
      for (std::size_t k = 0; k < static_cast<std::size_t>(n); ++k) {
        if (element == 8) {
          std::int64_t v;
          std::memcpy(&v, raw.data() + 8 * k, 8);
          t.ints.push_back(v);
        } else {
          std::int32_t v;
          std::memcpy(&v, raw.data() + 4 * k, 4);
          t.ints.push_back(v);
        }
      }
    } else {
      for (const Field& fl : int_fields) r.int64s(fl, t.ints, "int64_data");
    }
    if (t.ints.size() != static_cast<std::size_t>(n)) r.fail(offset, where() + "'s values do not match its dims");
    return t;
  }
  r.fail(offset, where() + " has data type " + std::to_string(type) + " (only float, double, int32 and int64 are read)");
}

namespace {

Attribute parse_attribute(Reader r, std::size_t offset) {
  Attribute a;
  Field field;
  while (r.next(field)) {
    switch (field.number) {
      case f::kAttributeName: a.name = std::string(r.string(field, "an attribute's name")); break;
      case f::kAttributeType: a.type = r.int64(field, "an attribute's type"); break;
      case f::kAttributeFloat:
        if (field.type != protobuf::WireType::kFixed32) r.fail(field.offset, "attribute f is not a float");
        a.f = field.as_float32();
        break;
      case f::kAttributeInt: a.i = r.int64(field, "attribute i"); break;
      case f::kAttributeString: a.s = std::string(r.string(field, "attribute s")); break;
      case f::kAttributeInts: r.int64s(field, a.ints, "attribute ints"); break;
      case f::kAttributeFloats: r.float32s(field, a.floats, "attribute floats"); break;
      case f::kAttributeTensor: a.t = parse_tensor(r.nested(field, "attribute t"), field.offset); break;
      case f::kAttributeGraph:
      case 11:  // graphs
        r.fail(field.offset, "attribute '" + a.name + "' holds a subgraph (If, Loop, Scan are not supported)");
      default: break;
    }
  }
  (void)offset;
  return a;
}

Node parse_node(Reader r, std::size_t offset) {
  Node n;
  n.offset = offset;
  Field field;
  while (r.next(field)) {
    switch (field.number) {
      case f::kNodeInput: n.inputs.emplace_back(r.string(field, "a node's input")); break;
      case f::kNodeOutput: n.outputs.emplace_back(r.string(field, "a node's output")); break;
      case f::kNodeName: n.name = std::string(r.string(field, "a node's name")); break;
      case f::kNodeOpType: n.op = std::string(r.string(field, "a node's op_type")); break;
      case f::kNodeDomain: n.domain = std::string(r.string(field, "a node's domain")); break;
      case f::kNodeAttribute: n.attributes.push_back(parse_attribute(r.nested(field, "an attribute"), field.offset)); break;
      default: break;
    }
  }
  return n;
}

ValueInfo parse_value_info(Reader r) {
  ValueInfo v;
  Field field;
  while (r.next(field)) {
    if (field.number == f::kValueInfoName) v.name = std::string(r.string(field, "a value's name"));
    if (field.number != f::kValueInfoType) continue;
    Reader type = r.nested(field, "a value's type");
    Field t;
    while (type.next(t)) {
      if (t.number != f::kTypeTensorType) continue;
      Reader tensor = type.nested(t, "a tensor type");
      Field s;
      while (tensor.next(s)) {
        if (s.number == f::kTensorTypeElemType) v.elem_type = tensor.int64(s, "elem_type");
        if (s.number != f::kTensorTypeShape) continue;
        v.has_shape = true;
        Reader shape = tensor.nested(s, "a shape");
        Field d;
        while (shape.next(d)) {
          if (d.number != f::kShapeDim) continue;
          Reader dim = shape.nested(d, "a dimension");
          std::int64_t value = -1;
          Field x;
          while (dim.next(x)) {
            if (x.number == f::kDimValue) value = dim.int64(x, "dim_value");
          }
          v.dims.push_back(value);
        }
      }
    }
  }
  return v;
}

}  // namespace

Model parse_model(std::string_view data, const std::string& source) {
  Model m;
  Reader r(data, 0, source);
  Field field;
  bool has_graph = false;
  while (r.next(field)) {
    if (field.number == f::kModelOpsetImport) {
      Reader opset = r.nested(field, "an opset import");
      std::string domain;
      std::int64_t version = 0;
      Field o;
      while (opset.next(o)) {
        if (o.number == f::kOpsetDomain) domain = std::string(opset.string(o, "an opset's domain"));
        if (o.number == f::kOpsetVersion) version = opset.int64(o, "an opset's version");
      }
      if (domain.empty() || domain == "ai.onnx") m.opset = version;
    }
    if (field.number == f::kModelFunctions) r.fail(field.offset, "the model defines functions, which are not supported");
    if (field.number != f::kModelGraph) continue;
    if (has_graph) r.fail(field.offset, "the model has two graphs");
    has_graph = true;
    Reader graph = r.nested(field, "the graph");
    Field g;
    while (graph.next(g)) {
      switch (g.number) {
        case f::kGraphNode: m.nodes.push_back(parse_node(graph.nested(g, "a node"), g.offset)); break;
        case f::kGraphInitializer: {
          TensorData t = parse_tensor(graph.nested(g, "an initializer"), g.offset);
          const std::string name = t.name;
          if (!m.constants.emplace(name, std::move(t)).second) graph.fail(g.offset, "initializer '" + name + "' is defined twice");
          break;
        }
        case f::kGraphSparseInitializer: graph.fail(g.offset, "sparse initializers are not supported");
        case f::kGraphInput: m.inputs.push_back(parse_value_info(graph.nested(g, "a graph input"))); break;
        case f::kGraphOutput: m.outputs.push_back(parse_value_info(graph.nested(g, "a graph output")).name); break;
        default: break;
      }
    }
  }
  if (!has_graph) r.fail(data.size(), "the model has no graph");
  return m;
}

std::string read_file(const std::filesystem::path& path) {
  const std::string source = path.string();
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) throw FormatError(source + ": not a regular file (or it cannot be read)");
  const std::uintmax_t size = std::filesystem::file_size(path, error);
  if (error) throw FormatError(source + ": cannot read its size: " + error.message());
  // Protocol Buffers' own limit: larger models keep their weights in external files.
  if (size > (std::uintmax_t{1} << 31)) throw FormatError(source + ": " + std::to_string(size) + " bytes, past protobuf's 2 GiB");
  std::ifstream in(path, std::ios::binary);
  std::string data(static_cast<std::size_t>(size), '\0');
  if (!in.read(data.data(), static_cast<std::streamsize>(size)) || in.gcount() != static_cast<std::streamsize>(size)) {
    throw FormatError(source + ": cannot read its " + std::to_string(size) + " bytes");
  }
  return data;
}

// The data of tensors kept in external files (torch.onnx.export's default for weights), read
// from the model's folder: the location must stay inside it, the byte range inside the file, and
// the length match the tensor's dims before anything is read.
void load_external_data(Model& m, const std::filesystem::path* folder, const std::string& source) {
  for (auto& [name, t] : m.constants) {
    if (!t.external) continue;
    const TensorData::External e = *t.external;
    const std::string where = source + ": tensor '" + name + "' (byte " + std::to_string(t.offset) + ")";
    if (folder == nullptr) {
      throw FormatError(where + " keeps its data in the external file '" + e.location +
                        "': load the model from its file (load_onnx(path)) to read it");
    }
    const std::filesystem::path location(e.location);
    bool inside = !location.is_absolute() && !location.has_root_name() && !location.has_root_directory();
    for (const auto& part : location) inside = inside && part != "..";
    if (!inside) throw FormatError(where + ": its external location '" + e.location + "' is not a path inside the model's folder");
    const std::filesystem::path file = *folder / location;
    const std::string data_source = file.string();
    std::error_code error;
    if (!std::filesystem::is_regular_file(file, error)) {
      throw FormatError(where + ": its external file " + data_source + " is not a regular file (or cannot be read)");
    }
    const std::uintmax_t size = std::filesystem::file_size(file, error);
    if (error) throw FormatError(where + ": cannot read the size of " + data_source + ": " + error.message());
    const auto offset = static_cast<std::uintmax_t>(e.data_offset);
    if (offset > size) {
      throw FormatError(where + ": its external offset " + std::to_string(offset) + " is past the end of " + data_source + " (" +
                        std::to_string(size) + " bytes)");
    }
    const std::uintmax_t length = e.length >= 0 ? static_cast<std::uintmax_t>(e.length) : size - offset;
    if (length > size - offset) {
      throw FormatError(where + ": its external bytes [" + std::to_string(offset) + ", " + std::to_string(offset + length) +
                        ") pass the end of " + data_source + " (" + std::to_string(size) + " bytes)");
    }
    const std::size_t element = e.type == f::kFloat || e.type == f::kInt32 ? 4 : e.type == f::kDouble || e.type == f::kInt64 ? 8 : 0;
    if (element == 0) throw FormatError(where + " has data type " + std::to_string(e.type) + " (only float, double, int32 and int64 are read)");
    std::uintmax_t expected = element;
    for (const std::int64_t d : t.dims) {
      if (d < 0 || (d != 0 && expected > length / static_cast<std::uintmax_t>(d))) {
        throw FormatError(where + ": its dims need more than the " + std::to_string(length) + " external bytes it has");
      }
      expected *= static_cast<std::uintmax_t>(d);
    }
    if (expected != length && !(expected == 0 && length == 0)) {
      throw FormatError(where + " has " + std::to_string(length) + " external bytes for " + std::to_string(expected / element) +
                        " elements of " + std::to_string(element) + " bytes");
    }
    std::string raw(static_cast<std::size_t>(length), '\0');
    std::ifstream in(file, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(offset));
    if (!in.read(raw.data(), static_cast<std::streamsize>(length)) || in.gcount() != static_cast<std::streamsize>(length)) {
      throw FormatError(where + ": cannot read its " + std::to_string(length) + " bytes from " + data_source);
    }
    // Decoded by the same code, and checks, as data in the model file.
    protobuf::Writer proto;
    for (const std::int64_t d : t.dims) proto.int64(f::kTensorDims, d);
    proto.int64(f::kTensorDataType, e.type).bytes(f::kTensorName, name).bytes(f::kTensorRawData, raw);
    const std::string proto_source = data_source + " (tensor '" + name + "' of " + source + ")";
    TensorData decoded = parse_tensor(Reader(proto.data(), 0, proto_source), 0);
    decoded.offset = t.offset;
    t = std::move(decoded);
  }
}

}  // namespace onnx_reader

using onnx_reader::parse_tensor;
using onnx_reader::read_file;
using onnx_reader::TensorData;
using protobuf::Reader;

OnnxTensor read_onnx_tensor(const std::filesystem::path& path) { return read_onnx_tensor_bytes(read_file(path), path.string()); }

OnnxTensor read_onnx_tensor_bytes(std::string_view data, const std::string& source) {
  const TensorData t = parse_tensor(Reader(data, 0, source), 0);
  if (t.external) throw FormatError(source + ": tensor '" + t.name + "' keeps its data in an external file, which a tensor file's is not read from");
  if (t.dims.size() > static_cast<std::size_t>(Shape::kMaxRank)) {
    throw FormatError(source + ": tensor '" + t.name + "' has " + std::to_string(t.dims.size()) + " axes, more than axon's " +
                      std::to_string(Shape::kMaxRank));
  }
  const Shape shape(std::span<const std::int64_t>(t.dims));
  if (!t.is_integer) return {t.name, Tensor::from_vector(shape, std::span<const float>(t.values))};
  std::vector<std::int32_t> ints;
  ints.reserve(t.ints.size());
  for (const std::int64_t v : t.ints) {
    if (v < std::numeric_limits<std::int32_t>::min() || v > std::numeric_limits<std::int32_t>::max()) {
      throw FormatError(source + ": tensor '" + t.name + "' holds " + std::to_string(v) + ", past int32");
    }
    ints.push_back(static_cast<std::int32_t>(v));
  }
  return {t.name, Tensor::from_vector(shape, std::span<const std::int32_t>(ints))};
}

}  // namespace axon::io
