#pragma once
// The shape arithmetic beside an ONNX chain (onnx_side_values.cpp), for load_onnx: torch's
// exporters compute an LSTM's zero initial states from the input's batch size (Shape, Gather,
// Unsqueeze, Concat, ConstantOfShape or Expand) and torch.export reshapes the LSTM's output to a
// target it computes the same way (Shape, Slice, Mul, Concat). Those nodes read the data only
// through Shape: the builder leaves them out of the chain ("side" nodes), and this evaluates what
// a pattern needs of them — integer vectors whose entries may be a multiple of the batch size
// (unknown until run time), or "zeros" — with bounded depth and size (the file may be hostile).
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/src/io/onnx_reader.h"

namespace axon::io::onnx_side {

// A dimension: batch * N + value, N the batch size at run time.
struct Dim {
  std::int64_t batch = 0;
  std::int64_t value = 0;
  friend bool operator==(const Dim&, const Dim&) = default;
};
using SymbolicShape = std::vector<Dim>;

struct Value {
  enum class Kind : std::uint8_t { kInts, kZeros };
  Kind kind = Kind::kInts;
  std::vector<Dim> ints;  // kInts: the elements
  bool scalar = false;    // kInts: rank 0 (else rank 1)
};

class SideValues {
 public:
  SideValues(const onnx_reader::Model& model, std::string source) : m_(model), source_(std::move(source)) {}

  // A node of the side graph: its outputs are computed here, on demand.
  void add_node(const onnx_reader::Node& node);
  bool is_side(const std::string& name) const { return producers_.count(name) != 0; }
  // The shape of a value of the chain, for the Shape nodes that read it.
  void set_shape(const std::string& name, SymbolicShape shape) { shapes_[name] = std::move(shape); }

  // The value, or FormatError naming the node that computes it and why it is not read.
  const Value& evaluate(const std::string& name) { return evaluate(name, 0); }
  // Whether `name` is all zeros: a side value that evaluates to zeros, or an all-zero constant.
  bool zeros(const std::string& name);

 private:
  const Value& evaluate(const std::string& name, int depth);
  Value compute(const onnx_reader::Node& n, int depth);
  [[noreturn]] void fail(const onnx_reader::Node& n, const std::string& what) const;

  const onnx_reader::Model& m_;
  std::string source_;
  std::map<std::string, const onnx_reader::Node*> producers_;
  std::map<std::string, SymbolicShape> shapes_;
  std::map<std::string, Value> values_;
  std::set<std::string> in_progress_;  // a cycle (a hostile file) is refused, not followed
};

}  // namespace axon::io::onnx_side
