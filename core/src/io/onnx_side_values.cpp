// The shape arithmetic beside an ONNX chain: see onnx_side_values.h.
#include "core/src/io/onnx_side_values.h"

#include <algorithm>
#include <limits>

#include "axon/error.h"

namespace axon::io::onnx_side {

namespace {

using onnx_reader::Node;
using onnx_reader::TensorData;

// Bounds on what a hostile file can make us do: how deep values depend on values, and how long
// a vector gets (shapes have at most a few entries).
constexpr int kMaxDepth = 64;
constexpr std::size_t kMaxElements = 64;

// Where `index` (negative: from the end) falls in [0, size], clamped, as Slice and Shape do.
std::int64_t clamp_index(std::int64_t index, std::int64_t size) {
  if (index < 0) index = index < -size ? 0 : index + size;
  return std::min(index, size);
}

}  // namespace

void SideValues::fail(const Node& n, const std::string& what) const {
  throw FormatError(source_ + ": node '" + n.name + "' (" + n.op + ", byte " + std::to_string(n.offset) + "): " + what);
}

void SideValues::add_node(const Node& node) {
  for (const std::string& output : node.outputs) {
    if (!output.empty()) producers_[output] = &node;
  }
}

bool SideValues::zeros(const std::string& name) {
  if (const auto c = m_.constants.find(name); c != m_.constants.end()) {
    const TensorData& t = c->second;
    return t.is_integer ? std::all_of(t.ints.begin(), t.ints.end(), [](std::int64_t v) { return v == 0; })
                        : std::all_of(t.values.begin(), t.values.end(), [](float v) { return v == 0.0f; });
  }
  return is_side(name) && evaluate(name).kind == Value::Kind::kZeros;
}

const Value& SideValues::evaluate(const std::string& name, int depth) {
  if (const auto done = values_.find(name); done != values_.end()) return done->second;
  Value value;
  if (const auto c = m_.constants.find(name); c != m_.constants.end()) {
    const TensorData& t = c->second;
    if (!t.is_integer) {
      if (!std::all_of(t.values.begin(), t.values.end(), [](float v) { return v == 0.0f; })) {
        throw FormatError(source_ + ": constant '" + name + "' is read in shape arithmetic, where only integers and zeros are");
      }
      value.kind = Value::Kind::kZeros;
    } else {
      if (t.dims.size() > 1 || t.ints.size() > kMaxElements) {
        throw FormatError(source_ + ": constant '" + name + "' is read in shape arithmetic, where only scalars and short vectors are");
      }
      value.scalar = t.dims.empty();
      for (const std::int64_t v : t.ints) value.ints.push_back({0, v});
    }
  } else {
    const auto producer = producers_.find(name);
    if (producer == producers_.end()) {
      throw FormatError(source_ + ": value '" + name + "' is read in shape arithmetic but no node beside the chain makes it");
    }
    const Node& n = *producer->second;
    if (depth > kMaxDepth) fail(n, "its shape arithmetic is deeper than " + std::to_string(kMaxDepth) + " nodes");
    if (!in_progress_.insert(name).second) fail(n, "is part of a cycle");
    value = compute(n, depth + 1);
    in_progress_.erase(name);
    if (value.ints.size() > kMaxElements) fail(n, "makes a vector longer than a shape");
  }
  return values_.emplace(name, std::move(value)).first->second;
}

Value SideValues::compute(const Node& n, int depth) {
  if (n.outputs.size() != 1) fail(n, "has " + std::to_string(n.outputs.size()) + " outputs, where shape arithmetic has one");
  const auto input = [&](std::size_t k) -> const Value& {
    if (k >= n.inputs.size() || n.inputs[k].empty()) fail(n, "lacks input " + std::to_string(k));
    return evaluate(n.inputs[k], depth);
  };
  const auto ints = [&](std::size_t k) -> const Value& {
    const Value& v = input(k);
    if (v.kind != Value::Kind::kInts) fail(n, "input " + std::to_string(k) + " is not an integer value");
    return v;
  };
  const auto int_attribute = [&](const char* key, std::int64_t fallback) {
    const onnx_reader::Attribute* a = n.attribute(key);
    return a == nullptr ? fallback : a->i;
  };
  // A concrete integer: a one-element value without a batch term.
  const auto concrete = [&](const Value& v, const char* what) {
    if (v.ints.size() != 1 || v.ints[0].batch != 0) fail(n, std::string("its ") + what + " is not one known integer");
    return v.ints[0].value;
  };
  // The axes an op takes: its input k from opset 13 (`since`), its attribute before.
  const auto axes = [&](std::int64_t since, std::size_t k) -> std::vector<std::int64_t> {
    if (m_.opset >= since) {
      if (k >= n.inputs.size() || n.inputs[k].empty()) return {};
      std::vector<std::int64_t> out;
      for (const Dim& d : ints(k).ints) {
        if (d.batch != 0) fail(n, "its axes are not known integers");
        out.push_back(d.value);
      }
      return out;
    }
    const onnx_reader::Attribute* a = n.attribute("axes");
    return a == nullptr ? std::vector<std::int64_t>{} : a->ints;
  };
  const std::string& op = n.op;
  Value out;

  // Zeros stay zeros through the ops that move or copy values (their shape is not needed: an
  // LSTM's zero initial state is the same as none).
  const bool moves = op == "Slice" || op == "Squeeze" || op == "Unsqueeze" || op == "Transpose" || op == "Reshape" ||
                     op == "Expand" || op == "Cast" || op == "Identity";
  if (moves && input(0).kind == Value::Kind::kZeros) {
    out.kind = Value::Kind::kZeros;
    return out;
  }
  if (op == "ConstantOfShape") {
    (void)ints(0);
    const onnx_reader::Attribute* value = n.attribute("value");
    if (value != nullptr && (!value->t || value->t->numel() != 1 ||
                             (value->t->is_integer ? value->t->ints.at(0) != 0 : value->t->values.at(0) != 0.0f))) {
      fail(n, "fills with a value other than 0, which is read only as an LSTM's zero state");
    }
    out.kind = Value::Kind::kZeros;
    return out;
  }
  if (op == "Shape") {
    const auto shape = shapes_.find(n.inputs.empty() ? std::string() : n.inputs[0]);
    if (shape == shapes_.end()) fail(n, "reads the shape of a value whose shape is not known here");
    const auto rank = static_cast<std::int64_t>(shape->second.size());
    const std::int64_t begin = clamp_index(int_attribute("start", 0), rank);
    const std::int64_t end = clamp_index(int_attribute("end", rank), rank);
    for (std::int64_t k = begin; k < end; ++k) out.ints.push_back(shape->second[static_cast<std::size_t>(k)]);
    return out;
  }
  if (op == "Identity" || op == "Cast") {
    if (op == "Cast" && int_attribute("to", 0) != 6 && int_attribute("to", 0) != 7) fail(n, "casts shape values to a type other than int32 or int64");
    return ints(0);
  }
  if (op == "Gather") {
    if (int_attribute("axis", 0) != 0) fail(n, "gathers along an axis other than 0");
    const Value& data = ints(0);
    const Value& indices = ints(1);
    if (data.scalar) fail(n, "gathers from a scalar");
    const auto size = static_cast<std::int64_t>(data.ints.size());
    out.scalar = indices.scalar;
    for (const Dim& i : indices.ints) {
      if (i.batch != 0 || i.value < -size || i.value >= size) fail(n, "its index is not a known integer within the shape");
      out.ints.push_back(data.ints[static_cast<std::size_t>(i.value < 0 ? i.value + size : i.value)]);
    }
    return out;
  }
  if (op == "Unsqueeze") {
    const Value& data = ints(0);
    const std::vector<std::int64_t> a = axes(13, 1);
    if (!data.scalar || a.size() != 1 || (a[0] != 0 && a[0] != -1)) fail(n, "is read only as a scalar made a vector of one");
    out.ints = data.ints;
    return out;
  }
  if (op == "Squeeze") {
    const Value& data = ints(0);
    const std::vector<std::int64_t> a = axes(13, 1);
    if (data.scalar || data.ints.size() != 1 || !(a.empty() || (a.size() == 1 && (a[0] == 0 || a[0] == -1)))) {
      fail(n, "is read only as a vector of one made a scalar");
    }
    out.ints = data.ints;
    out.scalar = true;
    return out;
  }
  if (op == "Concat") {
    const std::int64_t axis = int_attribute("axis", 0);
    if (axis != 0 && axis != -1) fail(n, "concatenates along an axis other than 0");
    for (std::size_t k = 0; k < n.inputs.size(); ++k) {
      const Value& part = ints(k);
      if (part.scalar) fail(n, "concatenates a scalar");
      out.ints.insert(out.ints.end(), part.ints.begin(), part.ints.end());
      if (out.ints.size() > kMaxElements) fail(n, "makes a vector longer than a shape");
    }
    return out;
  }
  if (op == "Slice") {
    const Value& data = ints(0);
    if (data.scalar) fail(n, "slices a scalar");
    std::int64_t start = 0, end = 0, step = 1;
    if (m_.opset >= 10) {
      start = concrete(ints(1), "start");
      end = concrete(ints(2), "end");
      if (n.inputs.size() > 3 && !n.inputs[3].empty()) {
        const std::int64_t axis = concrete(ints(3), "axis");
        if (axis != 0 && axis != -1) fail(n, "slices along an axis other than 0");
      }
      if (n.inputs.size() > 4 && !n.inputs[4].empty()) step = concrete(ints(4), "step");
    } else {
      const onnx_reader::Attribute* starts = n.attribute("starts");
      const onnx_reader::Attribute* ends = n.attribute("ends");
      if (starts == nullptr || ends == nullptr || starts->ints.size() != 1 || ends->ints.size() != 1) {
        fail(n, "needs one start and one end");
      }
      start = starts->ints[0];
      end = ends->ints[0];
    }
    if (step != 1) fail(n, "slices with a step other than 1");
    const auto size = static_cast<std::int64_t>(data.ints.size());
    const std::int64_t begin = clamp_index(start, size), stop = clamp_index(end, size);
    for (std::int64_t k = begin; k < stop; ++k) out.ints.push_back(data.ints[static_cast<std::size_t>(k)]);
    return out;
  }
  if (op == "Reshape") {
    const Value& data = ints(0);
    const Value& target = ints(1);
    const bool to_scalar = target.ints.empty();
    if (to_scalar ? data.ints.size() != 1
                  : target.ints.size() != 1 || target.ints[0].batch != 0 ||
                        !(target.ints[0].value == -1 || target.ints[0].value == static_cast<std::int64_t>(data.ints.size()))) {
      fail(n, "is read in shape arithmetic only as a reshape to a vector or of one value to a scalar");
    }
    out.ints = data.ints;
    out.scalar = to_scalar;
    return out;
  }
  if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
    const Value& a = ints(0);
    const Value& b = ints(1);
    const std::size_t length = std::max(a.ints.size(), b.ints.size());
    if ((a.ints.size() != length && a.ints.size() != 1) || (b.ints.size() != length && b.ints.size() != 1)) {
      fail(n, "its inputs' lengths do not broadcast");
    }
    out.scalar = a.scalar && b.scalar;
    for (std::size_t k = 0; k < length; ++k) {
      const Dim x = a.ints[a.ints.size() == 1 ? 0 : k], y = b.ints[b.ints.size() == 1 ? 0 : k];
      Dim r;
      bool overflow = false;
      if (op == "Add") {
        overflow = __builtin_add_overflow(x.batch, y.batch, &r.batch) || __builtin_add_overflow(x.value, y.value, &r.value);
      } else if (op == "Sub") {
        overflow = __builtin_sub_overflow(x.batch, y.batch, &r.batch) || __builtin_sub_overflow(x.value, y.value, &r.value);
      } else if (op == "Mul") {
        if (x.batch != 0 && y.batch != 0) fail(n, "multiplies the batch size by itself");
        std::int64_t t1 = 0, t2 = 0;
        overflow = __builtin_mul_overflow(x.batch, y.value, &t1) || __builtin_mul_overflow(y.batch, x.value, &t2) ||
                   __builtin_add_overflow(t1, t2, &r.batch) || __builtin_mul_overflow(x.value, y.value, &r.value);
      } else {
        if (y.batch != 0 || y.value == 0 || (y.value == -1 && (x.batch == std::numeric_limits<std::int64_t>::min() ||
                                                                x.value == std::numeric_limits<std::int64_t>::min())) ||
            x.batch % y.value != 0 || x.value % y.value != 0) {
          fail(n, "divides by something other than a known divisor of its dividend");
        }
        r = {x.batch / y.value, x.value / y.value};
      }
      if (overflow) fail(n, "overflows 64 bits");
      out.ints.push_back(r);
    }
    return out;
  }
  fail(n, "is beside the chain (it reads the data only through Shape) and is not shape arithmetic read here");
}

}  // namespace axon::io::onnx_side
