// The shape arithmetic load_onnx evaluates beside a chain (core/src/io/onnx_side_values.h): the
// graphs torch's exporters write around an LSTM, and what a hostile file could make of them.
#include <gtest/gtest.h>

#include "core/src/io/onnx_side_values.h"
#include "test_util.h"

namespace {

namespace side = axon::io::onnx_side;
using axon::io::onnx_reader::Attribute;
using axon::io::onnx_reader::Model;
using axon::io::onnx_reader::Node;
using axon::io::onnx_reader::TensorData;

TensorData ints(std::vector<std::int64_t> values, bool scalar = false) {
  TensorData t;
  t.is_integer = true;
  if (!scalar) t.dims = {static_cast<std::int64_t>(values.size())};
  t.ints = std::move(values);
  return t;
}

Node node(std::string op, std::vector<std::string> inputs, std::string output, std::vector<Attribute> attributes = {}) {
  Node n;
  n.op = std::move(op);
  n.name = output + "_node";
  n.inputs = std::move(inputs);
  n.outputs = {std::move(output)};
  n.attributes = std::move(attributes);
  return n;
}

Attribute int_attribute(std::string name, std::int64_t value) {
  Attribute a;
  a.name = std::move(name);
  a.i = value;
  return a;
}

// A model of the given nodes (opset 17), all beside the chain, the input "x" of shape [B, 4, 5].
struct SideGraph {
  Model model;
  std::vector<Node> nodes;
  side::SideValues values{model, "side.onnx"};
  explicit SideGraph(std::vector<Node> ns) : nodes(std::move(ns)) {
    model.opset = 17;
    for (const Node& n : nodes) values.add_node(n);
    values.set_shape("x", {{1, 0}, {0, 4}, {0, 5}});
  }
};

TEST(OnnxSideValues, TorchScriptsZeroStateIsZerosOfBatchShape) {
  SideGraph g({node("Shape", {"x"}, "shape"), node("Gather", {"shape", "zero"}, "batch"),
               node("Unsqueeze", {"batch", "axis0"}, "batch1"), node("Concat", {"one", "batch1", "eight"}, "dims", {int_attribute("axis", 0)}),
               node("ConstantOfShape", {"dims"}, "h0")});
  g.model.constants = {{"zero", ints({0}, true)}, {"axis0", ints({0})}, {"one", ints({1})}, {"eight", ints({8})}};
  EXPECT_TRUE(g.values.zeros("h0"));
  const side::Value& dims = g.values.evaluate("dims");
  EXPECT_EQ(dims.ints, (std::vector<side::Dim>{{0, 1}, {1, 0}, {0, 8}}));
  EXPECT_FALSE(g.values.zeros("dims"));
}

TEST(OnnxSideValues, TorchExportsReshapeTargetIsStepsBatchHidden) {
  SideGraph g({node("Shape", {"y"}, "s"), node("Slice", {"s", "c0", "c1"}, "steps"), node("Slice", {"s", "c1", "c2"}, "batch"),
               node("Slice", {"s", "c2", "c3"}, "dirs"), node("Slice", {"s", "c3", "c4"}, "hidden"),
               node("Mul", {"dirs", "hidden"}, "merged"), node("Reshape", {"merged", "minus1"}, "merged1"),
               node("Concat", {"steps", "batch", "merged1"}, "target", {int_attribute("axis", 0)})});
  g.model.constants = {{"c0", ints({0})}, {"c1", ints({1})}, {"c2", ints({2})}, {"c3", ints({3})}, {"c4", ints({4})},
                       {"minus1", ints({-1})}};
  g.values.set_shape("y", {{0, 7}, {1, 0}, {0, 1}, {0, 16}});
  EXPECT_EQ(g.values.evaluate("target").ints, (std::vector<side::Dim>{{0, 7}, {1, 0}, {0, 16}}));
}

TEST(OnnxSideValues, WhatIsNotShapeArithmeticIsRefusedNamingTheNode) {
  const auto refused = [](std::vector<Node> nodes, const std::string& value, std::map<std::string, TensorData> constants,
                          std::initializer_list<std::string_view> words) {
    SideGraph g(std::move(nodes));
    g.model.constants = std::move(constants);
    axon_test::expect_error<axon::FormatError>([&] { (void)g.values.evaluate(value); }, words);
  };
  Attribute ones;
  ones.name = "value";
  ones.t = TensorData{};
  ones.t->dims = {1};
  ones.t->values = {1.0f};
  refused({node("Shape", {"x"}, "s"), node("ConstantOfShape", {"s"}, "h", {ones})}, "h", {},
          {"side.onnx", "node 'h_node'", "ConstantOfShape", "other than 0"});
  refused({node("Identity", {"b"}, "a"), node("Identity", {"a"}, "b")}, "a", {}, {"cycle"});
  std::vector<Node> deep{node("Shape", {"x"}, "v0")};
  for (int k = 1; k < 100; ++k) deep.push_back(node("Identity", {"v" + std::to_string(k - 1)}, "v" + std::to_string(k)));
  refused(deep, "v99", {}, {"deeper than 64"});
  refused({node("Shape", {"x"}, "s"), node("Gather", {"s", "zero"}, "b"), node("Mul", {"b", "b"}, "bb")}, "bb",
          {{"zero", ints({0}, true)}}, {"Mul", "batch size by itself"});
  refused({node("Shape", {"x"}, "s"), node("Gather", {"s", "nine"}, "b")}, "b", {{"nine", ints({9}, true)}}, {"within the shape"});
  refused({node("Shape", {"x"}, "s"), node("Div", {"s", "three"}, "d")}, "d", {{"three", ints({3})}}, {"known divisor"});
  refused({node("Shape", {"x"}, "s"), node("Sin", {"s"}, "t")}, "t", {}, {"Sin", "not shape arithmetic"});
  refused({node("Shape", {"unknown"}, "s")}, "s", {}, {"whose shape is not known"});
  refused({}, "nowhere", {}, {"no node beside the chain makes it"});
  refused({node("Shape", {"x"}, "s"), node("Add", {"s", "big"}, "t")}, "t",
          {{"big", ints({std::numeric_limits<std::int64_t>::max()})}}, {"overflows"});
}

}  // namespace
