// load_onnx (axon/io/onnx.h): an ONNX file read as plain structs (onnx_reader.h), its graph
// walked from the input as a chain of operators, each run of operators turned into the axon
// layer that computes it, with the initializers as its weights.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "axon/error.h"
#include "axon/io/onnx.h"
#include "axon/nn/batch_norm.h"
#include "axon/nn/conv.h"
#include "axon/nn/dense.h"
#include "axon/nn/layer_norm.h"
#include "axon/nn/layers.h"
#include "axon/nn/gru.h"
#include "axon/nn/lstm.h"
#include "axon/nn/pooling.h"
#include "axon/nn/prelu.h"
#include "core/src/io/onnx_fields.h"
#include "core/src/io/onnx_reader.h"
#include "core/src/io/onnx_side_values.h"

namespace axon::io {

namespace {

namespace f = onnx_fields;
using onnx_reader::Attribute;
using onnx_reader::Model;
using onnx_reader::Node;
using onnx_reader::TensorData;
using onnx_reader::ValueInfo;

// ---- the graph as layers ----

class Builder {
 public:
  Builder(Model& m, std::string source, std::string output) : m_(m), source_(std::move(source)), output_(std::move(output)) {}

  nn::Sequential build() {
    if (m_.opset <= 0) fail("the model imports no opset of the default domain");
    // The input: the graph input that is not an initializer.
    const ValueInfo* input = nullptr;
    for (const ValueInfo& v : m_.inputs) {
      if (m_.constants.count(v.name) != 0) continue;
      if (input != nullptr) {
        fail("the graph has two inputs ('" + input->name + "', '" + v.name +
             "'): one is read as the data (give the others as OnnxImportOptions::constants)");
      }
      input = &v;
    }
    if (input == nullptr) fail("the graph has no input");
    if (input->elem_type != 0 && input->elem_type != f::kFloat) fail("input '" + input->name + "' is not float32");
    if (!input->has_shape || input->dims.empty()) fail("input '" + input->name + "' has no shape [batch, ...]");
    std::vector<std::int64_t> dims{1};
    for (std::size_t k = 1; k < input->dims.size(); ++k) {
      if (input->dims[k] <= 0) fail("input '" + input->name + "': axis " + std::to_string(k) + " has no fixed size");
      dims.push_back(input->dims[k]);
    }
    shape_ = Shape(std::span<const std::int64_t>(dims));
    advance(input->name);
    // Constant nodes become constants. The chain is every node that reads the data (the input,
    // or what a chain node made) other than through Shape; the rest is shape arithmetic beside
    // it (torch's exporters compute zero states and reshape targets so), evaluated on demand.
    std::set<std::string> data{input->name};
    std::vector<const Node*> chain;
    for (const Node& n : m_.nodes) {
      if (!n.domain.empty() && n.domain != "ai.onnx") fail(n, "its domain '" + n.domain + "' is not ONNX's own");
      if (n.op == "Constant") {
        const Attribute* value = n.attribute("value");
        if (value == nullptr || !value->t || n.outputs.size() != 1) fail(n, "only a Constant with a tensor 'value' is read");
        if (value->t->external) fail(n, "its value is in an external file, which a Constant's is not read from");
        m_.constants[n.outputs[0]] = *value->t;
        continue;
      }
      const bool reads_data = std::any_of(n.inputs.begin(), n.inputs.end(), [&](const std::string& i) { return data.count(i) != 0; });
      if (!reads_data || n.op == "Shape") {
        side_.add_node(n);
        continue;
      }
      // (Patterns look at the nodes after the current one: each must have its output.)
      if (n.outputs.empty() || n.outputs[0].empty()) fail(n, "has no output");
      chain.push_back(&n);
      data.insert(n.outputs.begin(), n.outputs.end());
      read_by_nodes_.insert(n.inputs.begin(), n.inputs.end());
    }
    if (output_.empty()) {
      if (m_.outputs.size() != 1) {
        fail("the graph has " + std::to_string(m_.outputs.size()) + " outputs: name the one to compute (OnnxImportOptions::output)");
      }
      output_ = m_.outputs[0];
    } else if (std::find(m_.outputs.begin(), m_.outputs.end(), output_) == m_.outputs.end()) {
      fail("the graph has no output '" + output_ + "'");
    }

    for (std::size_t i = 0; i < chain.size();) i += take(chain, i);
    if (current_ != output_) {
      fail("the graph's output '" + output_ + "' is not the end of the chain of operators from its input");
    }
    // A graph of Identity and Dropout only: the identity, as torch's nn.Identity.
    if (model_.size() == 0) model_.add(nn::Identity());
    return std::move(model_);
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw FormatError(source_ + ": " + what); }
  [[noreturn]] void fail(const Node& n, const std::string& what) const {
    throw FormatError(source_ + ": node '" + n.name + "' (" + n.op + ", byte " + std::to_string(n.offset) + "): " + what);
  }

  const TensorData* constant_or_null(const std::string& name) const {
    const auto found = m_.constants.find(name);
    return found == m_.constants.end() ? nullptr : &found->second;
  }
  const TensorData& constant(const Node& n, std::size_t k, const char* role) const {
    if (k >= n.inputs.size() || n.inputs[k].empty()) fail(n, std::string("has no ") + role);
    const TensorData* t = constant_or_null(n.inputs[k]);
    if (t == nullptr || t->is_integer) fail(n, std::string("its ") + role + " '" + n.inputs[k] + "' is not a float constant");
    return *t;
  }
  std::optional<float> scalar(const Node& n, std::size_t k) const {
    if (k >= n.inputs.size()) return std::nullopt;
    const TensorData* t = constant_or_null(n.inputs[k]);
    if (t == nullptr || t->is_integer || t->values.size() != 1) return std::nullopt;
    return t->values[0];
  }
  // Whether n computes op(current, c) or op(c, current) with the scalar c near `value`.
  bool binary_with(const Node& n, const std::string& op, const std::string& x, float value) const {
    if (n.op != op || n.inputs.size() != 2) return false;
    const bool commutes = op == "Mul" || op == "Add";
    const std::size_t other = n.inputs[0] == x ? 1 : (commutes && n.inputs[1] == x ? 0 : 2);
    if (other == 2) return false;
    const std::optional<float> c = scalar(n, other);
    return c && std::abs(*c - value) <= 1e-6f * std::max(1.0f, std::abs(value));
  }
  // n = op(a, b) in either order.
  static bool reads_both(const Node& n, const std::string& op, const std::string& a, const std::string& b) {
    return n.op == op && n.inputs.size() == 2 &&
           ((n.inputs[0] == a && n.inputs[1] == b) || (n.inputs[0] == b && n.inputs[1] == a));
  }
  static bool reads(const Node& n, const std::string& op, const std::string& a) {
    return n.op == op && !n.inputs.empty() && n.inputs[0] == a;
  }
  static const std::string& out(const Node& n) { return n.outputs.at(0); }
  // Whether n's k-th output is read: by a node, or as the output computed.
  bool output_used(const Node& n, std::size_t k) const {
    return k < n.outputs.size() && !n.outputs[k].empty() && (read_by_nodes_.count(n.outputs[k]) != 0 || n.outputs[k] == output_);
  }

  std::int64_t int_attribute(const Node& n, const char* key, std::int64_t fallback) const {
    const Attribute* a = n.attribute(key);
    return a == nullptr ? fallback : a->i;
  }
  float float_attribute(const Node& n, const char* key, float fallback) const {
    const Attribute* a = n.attribute(key);
    return a == nullptr ? fallback : a->f;
  }
  std::vector<std::int64_t> ints_attribute(const Node& n, const char* key, std::vector<std::int64_t> fallback) const {
    const Attribute* a = n.attribute(key);
    return a == nullptr ? fallback : a->ints;
  }
  void refuse_attribute(const Node& n, const char* key, const std::string& why) const {
    fail(n, std::string("attribute '") + key + "' " + why);
  }

  // Appends `layer` (its weights set from `weights`, by parameter name), moving the current
  // tensor to `output` and the shape on.
  void add(const Node& last, std::unique_ptr<nn::Layer> layer,
           const std::vector<std::pair<std::string, const TensorData*>>& weights = {}) {
    for (const auto& [name, data] : weights) {
      nn::Parameter* target = nullptr;
      for (nn::Parameter* p : layer->parameters()) target = p->name == name ? p : target;
      nn::Buffer* buffer = nullptr;
      for (nn::Buffer* b : layer->buffers()) buffer = b->name == name ? b : buffer;
      if (target == nullptr && buffer == nullptr) fail(last, "the layer has no " + name);  // (a bug, not the file's)
      const Tensor& value = target != nullptr ? target->value : buffer->value;
      if (data->numel() != value.numel()) {
        fail(last, "its " + name + " has " + std::to_string(data->numel()) + " values, the layer needs " +
                       std::to_string(value.numel()));
      }
      value.copy_from(Tensor::from_vector(value.shape(), std::span<const float>(data->values)));
    }
    if (!weights.empty()) layer->on_buffers_loaded();
    try {
      shape_ = layer->output_shape(shape_);
    } catch (const Error& e) {
      fail(last, std::string("does not fit its input: ") + e.what());
    }
    model_.add(std::move(layer));
    advance(out(last));
  }

  // The chain's current tensor becomes `name`, of shape shape_ (its first axis the batch).
  void advance(const std::string& name) {
    current_ = name;
    onnx_side::SymbolicShape symbolic{{1, 0}};
    for (int k = 1; k < shape_.rank(); ++k) symbolic.push_back({0, shape_[k]});
    side_.set_shape(name, std::move(symbolic));
  }

  void add_activation(const Node& last, Activation kind, ActivationParams params = {}) {
    add(last, std::make_unique<nn::ActivationLayer>(kind, params));
  }

  // Turns the operators from chain[i] on into a layer; returns how many it took.
  std::size_t take(const std::vector<const Node*>& chain, std::size_t i) {
    const Node& n = *chain[i];
    const auto at = [&](std::size_t k) -> const Node* { return i + k < chain.size() ? chain[i + k] : nullptr; };
    if (n.inputs.empty() || n.inputs[0] != current_) {
      // Some patterns read the current tensor second (Mul(c, x)); the first node of any layer
      // reads it first.
      fail(n, "does not read the output of the node before ('" + current_ + "'): only chains of operators are read");
    }
    if (n.outputs.empty()) fail(n, "has no output");
    const std::string& x = current_;
    // Before opset 7, Add, Mul and Div broadcast only when told: the patterns are not read there.
    if (m_.opset < 7) return take_single(n);

    // Elementwise patterns first (they start with ops that are layers of their own too).
    if (n.op == "Div" && binary_with(n, "Div", x, std::sqrt(2.0f)) && at(4) != nullptr && reads(*at(1), "Erf", out(n)) &&
        binary_with(*at(2), "Add", out(*at(1)), 1.0f) && reads_both(*at(3), "Mul", x, out(*at(2))) &&
        binary_with(*at(4), "Mul", out(*at(3)), 0.5f)) {
      add_activation(*at(4), Activation::kGelu);
      return 5;
    }
    if (n.op == "Mul" && reads_both(n, "Mul", x, x) && at(8) != nullptr && reads_both(*at(1), "Mul", out(n), x) &&
        binary_with(*at(2), "Mul", out(*at(1)), 0.044715f) && reads_both(*at(3), "Add", x, out(*at(2))) &&
        binary_with(*at(4), "Mul", out(*at(3)), std::sqrt(2.0f / 3.14159265358979f)) &&
        reads(*at(5), "Tanh", out(*at(4))) && binary_with(*at(6), "Add", out(*at(5)), 1.0f) &&
        reads_both(*at(7), "Mul", x, out(*at(6))) && binary_with(*at(8), "Mul", out(*at(7)), 0.5f)) {
      add_activation(*at(8), Activation::kGeluTanh);
      return 9;
    }
    // torch.export's Softplus: Where(Greater(x, threshold), x, Softplus(x)).
    if (n.op == "Softplus" && at(2) != nullptr && at(1)->op == "Greater" && at(1)->inputs.size() == 2 && at(1)->inputs[0] == x &&
        scalar(*at(1), 1) && at(2)->op == "Where" && at(2)->inputs.size() == 3 && at(2)->inputs[0] == out(*at(1)) &&
        at(2)->inputs[1] == x && at(2)->inputs[2] == out(n)) {
      add_activation(*at(2), Activation::kSoftplus, {1.0f, *scalar(*at(1), 1)});
      return 3;
    }
    if (n.op == "Sigmoid" && at(1) != nullptr && reads_both(*at(1), "Mul", x, out(n))) {
      add_activation(*at(1), Activation::kSilu);
      return 2;
    }
    if (n.op == "Softplus" && at(2) != nullptr && reads(*at(1), "Tanh", out(n)) && reads_both(*at(2), "Mul", x, out(*at(1)))) {
      add_activation(*at(2), Activation::kMish);
      return 3;
    }
    if (n.op == "Neg" && at(2) != nullptr && reads(*at(1), "Softplus", out(n)) && reads(*at(2), "Neg", out(*at(1)))) {
      add_activation(*at(2), Activation::kLogSigmoid);
      return 3;
    }
    if (n.op == "Mul" && at(2) != nullptr && scalar(n, 1) && reads(*at(1), "Softplus", out(n)) &&
        binary_with(*at(2), "Div", out(*at(1)), *scalar(n, 1))) {
      add_activation(*at(2), Activation::kSoftplus, {*scalar(n, 1), std::numeric_limits<float>::quiet_NaN()});
      return 3;
    }
    // A batch-first LSTM or GRU as save_onnx and torch write it: Transpose to time-major, the node, its
    // directions axis dropped (Squeeze; torch.export: Transpose [0, 2, 1, 3] and a Reshape to
    // [steps, batch, hidden]), Transpose back.
    if (n.op == "Transpose") {
      const std::vector<std::int64_t> swap{1, 0, 2};
      const Node* lstm = at(1);
      const char* form = "is read only around an LSTM or GRU: Transpose [1, 0, 2], LSTM or GRU, Squeeze [1] (or "
                         "Transpose [0, 2, 1, 3] and Reshape), Transpose [1, 0, 2]";
      if (ints_attribute(n, "perm", {}) != swap || lstm == nullptr ||
          !(reads(*lstm, "LSTM", out(n)) || reads(*lstm, "GRU", out(n)))) {
        fail(n, form);
      }
      take_recurrent(n, *lstm);
      const Node* a = at(2);
      const Node* b = at(3);
      const Node* c = at(4);
      if (a != nullptr && reads(*a, "Squeeze", out(*lstm)) && b != nullptr && reads(*b, "Transpose", out(*a)) &&
          ints_attribute(*b, "perm", {}) == swap) {
        check_squeeze(*a);
        add_recurrent_weights(*b);
        return 4;
      }
      if (a != nullptr && reads(*a, "Transpose", out(*lstm)) && ints_attribute(*a, "perm", {}) == std::vector<std::int64_t>{0, 2, 1, 3} &&
          b != nullptr && reads(*b, "Reshape", out(*a)) && c != nullptr && reads(*c, "Transpose", out(*b)) &&
          ints_attribute(*c, "perm", {}) == swap) {
        const std::int64_t steps = shape_[1], hidden = recurrent_hidden_;
        side_.set_shape(out(*a), {{0, steps}, {1, 0}, {0, 1}, {0, hidden}});
        check_lstm_reshape(*b, steps, hidden);
        add_recurrent_weights(*c);
        return 5;
      }
      fail(n, form);
    }
    // MatMul + Add: a Dense of W [in, out].
    if (n.op == "MatMul") {
      const TensorData& w = constant(n, 1, "weight");
      if (w.dims.size() != 2 || shape_.rank() < 2 || w.dims[0] != shape_[shape_.rank() - 1]) {
        fail(n, "is not a product of [batch, ..., in] and a constant [in, out]");
      }
      const TensorData transposed = transpose(w);
      // The bias: an Add of the product and a constant, in either order (torch's TorchScript
      // exporter writes Add(bias, product)).
      const Node* bias = at(1) != nullptr && at(1)->op == "Add" && at(1)->inputs.size() == 2 &&
                                 (at(1)->inputs[0] == out(n) || at(1)->inputs[1] == out(n))
                             ? at(1)
                             : nullptr;
      const TensorData* b = bias != nullptr ? constant_or_null(bias->inputs[bias->inputs[0] == out(n) ? 1 : 0]) : nullptr;
      if (b != nullptr && b->numel() != w.dims[1]) b = nullptr;
      auto dense = std::make_unique<nn::Dense>(w.dims[0], w.dims[1], nn::DenseOptions{.bias = b != nullptr});
      if (b != nullptr) {
        add(*bias, std::move(dense), {{"weight", &transposed}, {"bias", b}});
        return 2;
      }
      add(n, std::move(dense), {{"weight", &transposed}});
      return 1;
    }
    return take_single(n);
  }

  // The LSTM or GRU node of the pattern above: checked, its layer made and kept for
  // add_recurrent_weights.
  void take_recurrent(const Node& transpose, const Node& n) {
    const bool lstm = n.op == "LSTM";
    if (shape_.rank() != 3) fail(n, "is read for [batch, steps, features] inputs only");
    const std::int64_t steps = shape_[1];
    side_.set_shape(out(transpose), {{0, steps}, {1, 0}, {0, shape_[2]}});
    const auto given = [&](std::size_t k) { return k < n.inputs.size() && !n.inputs[k].empty(); };
    if (given(4)) fail(n, "its sequence_lens are not read (input 4 must be absent)");
    if (lstm && given(7)) fail(n, "its peepholes are not read (input 7 must be absent)");
    if (!lstm && given(6)) fail(n, "has more inputs than ONNX's GRU");
    // Initial states: none, or zeros (torch's exporters make them from the batch size).
    for (const std::size_t k : lstm ? std::vector<std::size_t>{5, 6} : std::vector<std::size_t>{5}) {
      if (given(k) && !side_.zeros(n.inputs[k])) {
        fail(n, std::string("its initial ") + (k == 5 ? "hidden" : "cell") + " state '" + n.inputs[k] +
                    "' is not zeros (only zero initial states are read)");
      }
    }
    if (output_used(n, 1) || output_used(n, 2)) fail(n, "its final states are used");
    const Attribute* direction = n.attribute("direction");
    if (direction != nullptr && direction->s != "forward") refuse_attribute(n, "direction", "must be forward");
    if (int_attribute(n, "layout", 0) != 0) refuse_attribute(n, "layout", "must be 0 (time-major, as the Transposes make it)");
    if (lstm && int_attribute(n, "input_forget", 0) != 0) refuse_attribute(n, "input_forget", "must be 0");
    if (!lstm && int_attribute(n, "linear_before_reset", 0) != 1) {
      refuse_attribute(n, "linear_before_reset", "must be 1 (torch's GRU applies the reset gate after the hidden product)");
    }
    if (n.attribute("clip") != nullptr) refuse_attribute(n, "clip", "is not read");
    if (n.attribute("activations") != nullptr) {
      refuse_attribute(n, "activations", lstm ? "must be the default (Sigmoid, Tanh, Tanh)" : "must be the default (Sigmoid, Tanh)");
    }
    const std::int64_t gates = lstm ? 4 : 3;
    const std::int64_t hidden = int_attribute(n, "hidden_size", 0);
    const TensorData& w = constant(n, 1, "W");
    const TensorData& r = constant(n, 2, "R");
    const std::int64_t features = shape_[2];
    if (hidden < 1 || w.dims != std::vector<std::int64_t>{1, gates * hidden, features} ||
        r.dims != std::vector<std::int64_t>{1, gates * hidden, hidden}) {
      fail(n, "its W " + dims_text(w.dims) + " and R " + dims_text(r.dims) + " do not fit hidden_size " + std::to_string(hidden) +
                  " and " + std::to_string(features) + " input features");
    }
    TensorData b;
    b.dims = {1, 2 * gates * hidden};
    if (given(3)) {
      b = constant(n, 3, "B");
      if (b.dims != std::vector<std::int64_t>{1, 2 * gates * hidden}) {
        fail(n, "its B " + dims_text(b.dims) + " is not [1, " + std::to_string(2 * gates) + " hidden_size]");
      }
    } else {
      b.values.assign(static_cast<std::size_t>(2 * gates * hidden), 0.0f);
    }
    // ONNX's gate blocks back to torch's: torch block j is ONNX's block onnx_block[j] (LSTM:
    // i, o, f, c to i, f, g, o; GRU: z, r, h to r, z, n).
    const std::vector<std::size_t> onnx_block = lstm ? std::vector<std::size_t>{0, 2, 3, 1} : std::vector<std::size_t>{1, 0, 2};
    const auto to_torch = [&onnx_block](const std::vector<float>& v, std::size_t offset, std::size_t count) {
      const std::size_t block = count / onnx_block.size();
      std::vector<float> out(count);
      for (std::size_t j = 0; j < onnx_block.size(); ++j) {
        std::copy_n(v.begin() + static_cast<std::ptrdiff_t>(offset + onnx_block[j] * block), block, out.begin() + static_cast<std::ptrdiff_t>(j * block));
      }
      return out;
    };
    const auto as_tensor = [](std::vector<std::int64_t> dims, std::vector<float> values) {
      TensorData t;
      t.dims = std::move(dims);
      t.values = std::move(values);
      return t;
    };
    const auto g = static_cast<std::size_t>(gates * hidden);
    recurrent_weights_ = {as_tensor({gates * hidden, features}, to_torch(w.values, 0, w.values.size())),
                          as_tensor({gates * hidden, hidden}, to_torch(r.values, 0, r.values.size())),
                          as_tensor({gates * hidden}, to_torch(b.values, 0, g)), as_tensor({gates * hidden}, to_torch(b.values, g, g))};
    recurrent_hidden_ = hidden;
    if (lstm) {
      recurrent_ = std::make_unique<nn::LSTM>(features, hidden);
    } else {
      recurrent_ = std::make_unique<nn::GRU>(features, hidden);
    }
  }
  void check_squeeze(const Node& squeeze) const {
    std::vector<std::int64_t> axes;
    if (m_.opset >= 13) {
      const TensorData* given = squeeze.inputs.size() > 1 ? constant_or_null(squeeze.inputs[1]) : nullptr;
      if (given != nullptr && given->is_integer) axes = given->ints;
    } else {
      axes = ints_attribute(squeeze, "axes", {});
    }
    if (axes != std::vector<std::int64_t>{1}) fail(squeeze, "must squeeze the LSTM's directions axis (axes [1])");
  }
  // torch.export's Reshape of the LSTM's output [steps, batch, 1, hidden] must make it
  // [steps, batch, hidden]: each entry of its target that size, a 0 copying it (without
  // allowzero), or the one -1.
  void check_lstm_reshape(const Node& reshape, std::int64_t steps, std::int64_t hidden) {
    if (reshape.inputs.size() < 2 || reshape.inputs[1].empty()) fail(reshape, "has no target shape");
    const onnx_side::Value& target = side_.evaluate(reshape.inputs[1]);
    const bool copies = int_attribute(reshape, "allowzero", 0) == 0;
    const std::vector<onnx_side::Dim> wanted{{0, steps}, {1, 0}, {0, hidden}};
    bool fits = target.kind == onnx_side::Value::Kind::kInts && target.ints.size() == 3;
    int inferred = 0;
    for (std::size_t k = 0; fits && k < 3; ++k) {
      const onnx_side::Dim& d = target.ints[k];
      const bool copy = copies && d == onnx_side::Dim{0, 0} && k < 2;  // (input axis 2 is the directions' 1)
      inferred += d == onnx_side::Dim{0, -1};
      fits = d == wanted[k] || copy || d == onnx_side::Dim{0, -1};
    }
    if (!fits || inferred > 1) fail(reshape, "does not make the LSTM's output [steps, batch, hidden]");
  }
  void add_recurrent_weights(const Node& last) {
    add(last, std::move(recurrent_), {{"weight_ih_l0", &recurrent_weights_[0]}, {"weight_hh_l0", &recurrent_weights_[1]},
                                      {"bias_ih_l0", &recurrent_weights_[2]}, {"bias_hh_l0", &recurrent_weights_[3]}});
  }

  static TensorData transpose(const TensorData& w) {
    TensorData t = w;
    const std::int64_t rows = w.dims[0], cols = w.dims[1];
    t.dims = {cols, rows};
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t c = 0; c < cols; ++c) t.values[static_cast<std::size_t>(c * rows + r)] = w.values[static_cast<std::size_t>(r * cols + c)];
    }
    return t;
  }

  static std::string dims_text(const std::vector<std::int64_t>& dims) {
    std::string text = "[";
    for (std::size_t k = 0; k < dims.size(); ++k) text += (k > 0 ? ", " : "") + std::to_string(dims[k]);
    return text + "]";
  }

  // A window's pads as {top, left, bottom, right}: the attribute's, or those auto_pad gives on
  // this input (SAME_UPPER / SAME_LOWER: the output size ceil(in / stride), the odd pad at the
  // end / the beginning).
  std::vector<std::int64_t> explicit_pads(const Node& n, std::array<std::int64_t, 2> extent, std::array<std::int64_t, 2> stride) const {
    const Attribute* auto_pad = n.attribute("auto_pad");
    const std::string mode = auto_pad == nullptr ? "NOTSET" : auto_pad->s;
    if (mode == "NOTSET") {
      std::vector<std::int64_t> pads = ints_attribute(n, "pads", {0, 0, 0, 0});
      if (pads.size() != 4) refuse_attribute(n, "pads", "must hold 4 values");
      for (const std::int64_t p : pads) {
        if (p < 0) refuse_attribute(n, "pads", "holds a negative pad");
      }
      return pads;
    }
    if (mode == "VALID") return {0, 0, 0, 0};
    if (mode != "SAME_UPPER" && mode != "SAME_LOWER") refuse_attribute(n, "auto_pad", "'" + mode + "' is not an ONNX padding mode");
    std::vector<std::int64_t> pads(4);
    for (int axis = 0; axis < 2; ++axis) {
      const std::int64_t in = shape_[2 + axis], out = (in + stride[axis] - 1) / stride[axis];
      const std::int64_t total = std::max<std::int64_t>(0, (out - 1) * stride[axis] + extent[axis] - in);
      const std::int64_t small = total / 2;
      pads[axis] = mode == "SAME_UPPER" ? small : total - small;
      pads[2 + axis] = total - pads[axis];
    }
    return pads;
  }

  std::size_t take_single(const Node& n) {
    const std::string& op = n.op;
    if (op == "Identity" || op == "Dropout") {
      if (op == "Dropout" && output_used(n, 1)) fail(n, "its mask output is used");
      advance(out(n));
      return 1;
    }
    if (op == "Relu") return add_activation(n, Activation::kRelu), 1;
    if (op == "Sigmoid") return add_activation(n, Activation::kSigmoid), 1;
    if (op == "Tanh") return add_activation(n, Activation::kTanh), 1;
    if (op == "Softsign") return add_activation(n, Activation::kSoftsign), 1;
    if (op == "Softplus") return add_activation(n, Activation::kSoftplus), 1;
    if (op == "HardSwish") return add_activation(n, Activation::kHardswish), 1;
    if (op == "Mish") return add_activation(n, Activation::kMish), 1;
    if (op == "LSTM" || op == "GRU") {
      fail(n, "is read only as a batch-first " + op + " layer: Transpose [1, 0, 2], " + op + ", Squeeze, Transpose [1, 0, 2]");
    }
    if (op == "Erf" || op == "Mul" || op == "Add" || op == "Div" || op == "Neg") {
      fail(n, "is not part of a pattern read here (GELU, SiLU, Mish, LogSigmoid, Softplus with beta) and not a layer of its own");
    }
    if (op == "LeakyRelu") return add_activation(n, Activation::kLeakyRelu, {float_attribute(n, "alpha", 0.01f)}), 1;
    if (op == "Elu") return add_activation(n, Activation::kElu, {float_attribute(n, "alpha", 1.0f)}), 1;
    if (op == "Selu") {
      if (std::abs(float_attribute(n, "alpha", 1.67326319f) - 1.67326319f) > 1e-6f ||
          std::abs(float_attribute(n, "gamma", 1.05070102f) - 1.05070102f) > 1e-6f) {
        refuse_attribute(n, "alpha", "and gamma must be SELU's own constants");
      }
      return add_activation(n, Activation::kSelu), 1;
    }
    if (op == "HardSigmoid") {
      if (std::abs(float_attribute(n, "alpha", 0.2f) - 1.0f / 6.0f) > 1e-6f || std::abs(float_attribute(n, "beta", 0.5f) - 0.5f) > 1e-6f) {
        refuse_attribute(n, "alpha", "must be 1/6 and beta 0.5 (torch's Hardsigmoid)");
      }
      return add_activation(n, Activation::kHardSigmoid), 1;
    }
    if (op == "Gelu") {
      const Attribute* a = n.attribute("approximate");
      return add_activation(n, a != nullptr && a->s == "tanh" ? Activation::kGeluTanh : Activation::kGelu), 1;
    }
    if (op == "Clip") {
      // Bounds are inputs since opset 11, attributes before; an absent one is unbounded.
      const auto bound = [&](std::size_t k, const char* key) -> std::optional<float> {
        if (m_.opset < 11) {
          const Attribute* a = n.attribute(key);
          return a == nullptr ? std::nullopt : std::optional<float>(a->f);
        }
        if (k >= n.inputs.size() || n.inputs[k].empty()) return std::nullopt;
        const std::optional<float> value = scalar(n, k);
        if (!value) fail(n, std::string("its ") + key + " '" + n.inputs[k] + "' is not a constant scalar");
        return value;
      };
      const std::optional<float> low = bound(1, "min"), high = bound(2, "max");
      if (!low && !high) {
        advance(out(n));
        return 1;
      }
      if (!high) {
        if (*low != 0.0f) fail(n, "with only a min reads as ReLU when the min is 0");
        return add_activation(n, Activation::kRelu), 1;
      }
      if (!low) fail(n, "with only a max is not read (no layer clamps from above only)");
      if (*low == 0.0f && *high == 6.0f) return add_activation(n, Activation::kRelu6), 1;
      return add_activation(n, Activation::kHardtanh, {*low, *high}), 1;
    }
    if (op == "Softmax" || op == "LogSoftmax") {
      // Before opset 13 the operator flattens the axes from `axis` on (default 1) into one: the
      // same as ours when that is the last axis alone.
      std::int64_t axis = int_attribute(n, "axis", m_.opset >= 13 ? -1 : 1);
      if (axis < 0) axis += shape_.rank();
      if (axis != shape_.rank() - 1) {
        refuse_attribute(n, "axis", m_.opset >= 13 ? "must be the last axis" : "must be the last axis (before opset 13 the axes from it on are one)");
      }
      if (op == "Softmax") {
        add(n, std::make_unique<nn::Softmax>());
      } else {
        add(n, std::make_unique<nn::LogSoftmax>());
      }
      return 1;
    }
    if (op == "Flatten") {
      std::int64_t axis = int_attribute(n, "axis", 1);
      if (axis < 0) axis += shape_.rank();
      if (axis != 1) refuse_attribute(n, "axis", "must be 1 (the batch stays)");
      add(n, std::make_unique<nn::Flatten>());
      return 1;
    }
    if (op == "Reshape") {
      if (m_.opset < 5) fail(n, "Reshape before opset 5 (its shape an attribute) is not read");
      const bool allow_zero = int_attribute(n, "allowzero", 0) != 0;  // a 0 is then a size, not "copy"
      const TensorData* target = n.inputs.size() > 1 ? constant_or_null(n.inputs[1]) : nullptr;
      if (target == nullptr || !target->is_integer || target->ints.size() != 2 ||
          !((target->ints[0] == -1 && (target->ints[1] == shape_.numel() || target->ints[1] == -1)) ||
            (target->ints[0] == 0 && target->ints[1] == -1 && !allow_zero))) {
        fail(n, "is read only as a flattening of the batch's samples (shape [-1, F] or [0, -1])");
      }
      add(n, std::make_unique<nn::Flatten>());
      return 1;
    }
    if (op == "Gemm") {
      if (m_.opset < 7) fail(n, "Gemm before opset 7 (its broadcast attribute) is not read");
      if (int_attribute(n, "transA", 0) != 0) refuse_attribute(n, "transA", "must be 0");
      const TensorData& w = constant(n, 1, "weight");
      if (w.dims.size() != 2 || shape_.rank() != 2) fail(n, "is not a product of [batch, in] and a constant matrix");
      const bool transposed = int_attribute(n, "transB", 0) != 0;
      TensorData upright = transposed ? w : transpose(w);  // [out, in]
      const std::int64_t outs = upright.dims[0], ins = upright.dims[1];
      // alpha A B + beta C as A (alpha B) + (beta C): the scales folded into the weights.
      const float alpha = float_attribute(n, "alpha", 1.0f), beta = float_attribute(n, "beta", 1.0f);
      if (alpha != 1.0f) {
        for (float& v : upright.values) v *= alpha;
      }
      std::optional<TensorData> bias;
      if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
        const TensorData& c = constant(n, 2, "bias");
        // C broadcasts to [batch, out]: one value, or one per output ([out] or [1, out]).
        const bool per_output = (c.dims.size() == 1 && c.dims[0] == outs) || (c.dims.size() == 2 && c.dims[0] == 1 && c.dims[1] == outs);
        if (c.numel() != 1 && !per_output) {
          fail(n, "its bias C " + dims_text(c.dims) + " is neither one value nor one per output (" + std::to_string(outs) + ")");
        }
        bias = c;
        bias->dims = {outs};
        bias->values.assign(static_cast<std::size_t>(outs), c.values[0]);
        if (per_output) bias->values = c.values;
        for (float& v : bias->values) v *= beta;
      }
      auto dense = std::make_unique<nn::Dense>(ins, outs, nn::DenseOptions{.bias = bias.has_value()});
      std::vector<std::pair<std::string, const TensorData*>> weights{{"weight", &upright}};
      if (bias) weights.emplace_back("bias", &*bias);
      add(n, std::move(dense), weights);
      return 1;
    }
    if (op == "Conv") {
      const TensorData& w = constant(n, 1, "weight");
      if (w.dims.size() != 4 || shape_.rank() != 4) fail(n, "is read as a 2-D convolution only ([N, C, H, W])");
      nn::ConvOptions o;
      o.stride = positive_pair(n, "strides", {1, 1});
      o.dilation = positive_pair(n, "dilations", {1, 1});
      o.groups = int_attribute(n, "group", 1);
      const std::array<std::int64_t, 2> extent{o.dilation[0] * (w.dims[2] - 1) + 1, o.dilation[1] * (w.dims[3] - 1) + 1};
      const std::vector<std::int64_t> pads = explicit_pads(n, extent, o.stride);
      if (pads[0] == pads[2] && pads[1] == pads[3]) {
        o.padding = {pads[0], pads[1]};
      } else {
        // torch's "same": stride 1, the smaller half first.
        const std::int64_t th = extent[0] - 1, tw = extent[1] - 1;
        if (pads[0] != th / 2 || pads[2] != th - th / 2 || pads[1] != tw / 2 || pads[3] != tw - tw / 2 || o.stride != std::array<std::int64_t, 2>{1, 1}) {
          refuse_attribute(n, n.attribute("pads") != nullptr ? "pads" : "auto_pad", "gives asymmetric pads that are not \"same\" padding at stride 1");
        }
        o.padding_mode = nn::Padding::kSame;
      }
      const TensorData* bias = n.inputs.size() > 2 && !n.inputs[2].empty() ? &constant(n, 2, "bias") : nullptr;
      o.bias = bias != nullptr;
      auto conv = std::make_unique<nn::Conv2d>(shape_[1], w.dims[0], std::array<std::int64_t, 2>{w.dims[2], w.dims[3]}, o);
      std::vector<std::pair<std::string, const TensorData*>> weights{{"weight", &w}};
      if (bias != nullptr) weights.emplace_back("bias", bias);
      add(n, std::move(conv), weights);
      return 1;
    }
    if (op == "MaxPool" || op == "AveragePool") {
      if (shape_.rank() != 4) fail(n, "is read as 2-D pooling only ([N, C, H, W])");
      if (op == "MaxPool" && output_used(n, 1)) fail(n, "its Indices output is used");
      if (int_attribute(n, "storage_order", 0) != 0) refuse_attribute(n, "storage_order", "must be 0");
      if (n.attribute("kernel_shape") == nullptr) fail(n, "has no kernel_shape");
      const std::array<std::int64_t, 2> kernel = positive_pair(n, "kernel_shape", {1, 1});
      const std::array<std::int64_t, 2> stride = positive_pair(n, "strides", {1, 1});
      const std::array<std::int64_t, 2> dilation = positive_pair(n, "dilations", {1, 1});
      const std::vector<std::int64_t> pads =
          explicit_pads(n, {dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1}, stride);
      if (pads[0] != pads[2] || pads[1] != pads[3]) {
        refuse_attribute(n, n.attribute("pads") != nullptr ? "pads" : "auto_pad", "gives asymmetric pads, which this layer cannot take");
      }
      const std::array<std::int64_t, 2> padding{pads[0], pads[1]};
      const bool ceil = int_attribute(n, "ceil_mode", 0) != 0;
      if (op == "MaxPool") {
        add(n, std::make_unique<nn::MaxPool2d>(kernel, nn::MaxPoolOptions{.stride = stride, .padding = padding,
                                                                          .dilation = dilation,
                                                                          .ceil_mode = ceil}));
      } else {
        if (dilation != std::array<std::int64_t, 2>{1, 1}) refuse_attribute(n, "dilations", "must be 1");
        add(n, std::make_unique<nn::AvgPool2d>(kernel, nn::AvgPoolOptions{.stride = stride, .padding = padding, .ceil_mode = ceil,
                                                                          .count_include_pad = int_attribute(n, "count_include_pad", 0) != 0}));
      }
      return 1;
    }
    if (op == "ReduceMean") {
      // Over the two spatial axes: torch.export's AdaptiveAvgPool2d(1) (keepdims), or with
      // Flatten (no keepdims). Axes are an input from opset 18, an attribute before.
      std::vector<std::int64_t> axes;
      if (m_.opset >= 18) {
        const TensorData* given = n.inputs.size() > 1 && !n.inputs[1].empty() ? constant_or_null(n.inputs[1]) : nullptr;
        if (given == nullptr || !given->is_integer) fail(n, "its axes are not a constant");
        axes = given->ints;
      } else {
        axes = ints_attribute(n, "axes", {});
      }
      for (std::int64_t& a : axes) a += a < 0 ? shape_.rank() : 0;
      std::sort(axes.begin(), axes.end());
      if (shape_.rank() != 4 || axes != std::vector<std::int64_t>{2, 3}) fail(n, "is read as a mean over the spatial axes of [N, C, H, W] only");
      if (int_attribute(n, "keepdims", 1) != 0) {
        add(n, std::make_unique<nn::AdaptiveAvgPool2d>(1));
      } else {
        model_.add(std::make_unique<nn::AdaptiveAvgPool2d>(1));
        shape_ = model_.layer(model_.size() - 1).output_shape(shape_);
        add(n, std::make_unique<nn::Flatten>());
      }
      return 1;
    }
    if (op == "GlobalAveragePool") {
      if (shape_.rank() != 4) fail(n, "is read for [N, C, H, W] inputs only");
      add(n, std::make_unique<nn::AdaptiveAvgPool2d>(1));
      return 1;
    }
    if (op == "BatchNormalization") {
      if (m_.opset < 7) fail(n, "BatchNormalization before opset 7 (is_test, consumed_inputs) is not read");
      if (m_.opset < 9 && int_attribute(n, "spatial", 1) != 1) refuse_attribute(n, "spatial", "must be 1 (statistics per channel)");
      if (int_attribute(n, "training_mode", 0) != 0) refuse_attribute(n, "training_mode", "must be 0 (inference)");
      for (std::size_t k = 1; k < n.outputs.size(); ++k) {
        if (output_used(n, k)) fail(n, "its running statistics outputs are used");
      }
      if (shape_.rank() < 2 || shape_.rank() > 4) fail(n, "is read for [N, C], [N, C, L] and [N, C, H, W] inputs");
      const std::int64_t features = shape_[1];
      nn::BatchNormOptions o;
      o.eps = float_attribute(n, "epsilon", 1e-5f);
      auto bn = std::make_unique<nn::BatchNorm>(shape_.rank() == 4 ? 2 : 1, features, o);
      add(n, std::move(bn), {{"weight", &constant(n, 1, "scale")}, {"bias", &constant(n, 2, "bias")},
                             {"running_mean", &constant(n, 3, "mean")}, {"running_var", &constant(n, 4, "variance")}});
      return 1;
    }
    if (op == "LayerNormalization") {
      std::int64_t axis = int_attribute(n, "axis", -1);
      if (axis < 0) axis += shape_.rank();
      if (axis < 1 || axis >= shape_.rank()) refuse_attribute(n, "axis", "must leave the batch axis out");
      if (output_used(n, 1) || output_used(n, 2)) fail(n, "its mean and inverse deviation outputs are used");
      std::vector<std::int64_t> normalized(shape_.dims().begin() + axis, shape_.dims().end());
      const TensorData* bias = n.inputs.size() > 2 && !n.inputs[2].empty() ? &constant(n, 2, "bias") : nullptr;
      auto ln = std::make_unique<nn::LayerNorm>(normalized, nn::LayerNormOptions{.eps = float_attribute(n, "epsilon", 1e-5f),
                                                                                  .bias = bias != nullptr});
      std::vector<std::pair<std::string, const TensorData*>> weights{{"weight", &constant(n, 1, "scale")}};
      if (bias != nullptr) weights.emplace_back("bias", bias);
      add(n, std::move(ln), weights);
      return 1;
    }
    if (op == "PRelu") {
      const TensorData& slope = constant(n, 1, "slope");
      const std::int64_t count = slope.numel();
      if (count != 1 && (shape_.rank() < 2 || count != shape_[1])) fail(n, "its slope is neither one value nor one per channel");
      add(n, std::make_unique<nn::PReLU>(count), {{"weight", &slope}});
      return 1;
    }
    fail(n, "operator " + op + " is not supported (axon/io/onnx.h lists those read)");
  }

  std::array<std::int64_t, 2> pair(const Node& n, const char* key, std::array<std::int64_t, 2> fallback) const {
    const Attribute* a = n.attribute(key);
    if (a == nullptr) return fallback;
    if (a->ints.size() != 2) refuse_attribute(n, key, "must hold 2 values (2-D only)");
    return {a->ints[0], a->ints[1]};
  }
  std::array<std::int64_t, 2> positive_pair(const Node& n, const char* key, std::array<std::int64_t, 2> fallback) const {
    const std::array<std::int64_t, 2> values = pair(n, key, fallback);
    if (values[0] < 1 || values[1] < 1) refuse_attribute(n, key, "must be positive");
    return values;
  }

  Model& m_;
  std::string source_;
  std::string output_;
  std::set<std::string> read_by_nodes_;
  onnx_side::SideValues side_{m_, source_};
  std::unique_ptr<nn::Layer> recurrent_;  // between take_recurrent and add_recurrent_weights
  std::vector<TensorData> recurrent_weights_;
  std::int64_t recurrent_hidden_ = 0;
  nn::Sequential model_;
  Shape shape_;
  std::string current_;
};

}  // namespace

namespace {

// The options' constants as the model's own, checked against its graph inputs.
void bind_constants(Model& m, const std::map<std::string, Tensor>& constants, const std::string& source) {
  for (const auto& entry : constants) {
    const std::string& name = entry.first;  // (not a structured binding: clang 14 cannot capture those)
    const Tensor& value = entry.second;
    const bool is_input = std::any_of(m.inputs.begin(), m.inputs.end(), [&](const ValueInfo& v) { return v.name == name; });
    if (m.constants.count(name) != 0) throw ValueError(source + ": constant '" + name + "' is an initializer of the graph already");
    if (!is_input) throw ValueError(source + ": constant '" + name + "' is not an input of the graph");
    if (!value.defined()) throw ValueError(source + ": constant '" + name + "' is an undefined tensor");
    TensorData t;
    t.name = name;
    t.dims.assign(value.shape().dims().begin(), value.shape().dims().end());
    if (value.dtype() == DType::kFloat32) {
      t.values = value.to_vector();
    } else {
      t.is_integer = true;
      for (const std::int32_t v : value.to_int_vector()) t.ints.push_back(v);
    }
    m.constants.emplace(name, std::move(t));
  }
}

}  // namespace

nn::Sequential load_onnx(const std::filesystem::path& path, Device device) {
  OnnxImportOptions options;
  options.device = device;
  return load_onnx(path, options);
}

static nn::Sequential load_model(std::string_view data, const std::string& source, const std::filesystem::path* folder,
                                 const OnnxImportOptions& options);

nn::Sequential load_onnx(const std::filesystem::path& path, const OnnxImportOptions& options) {
  const std::filesystem::path folder = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  return load_model(onnx_reader::read_file(path), path.string(), &folder, options);
}

nn::Sequential load_onnx_bytes(std::string_view data, const std::string& source, Device device) {
  OnnxImportOptions options;
  options.device = device;
  return load_onnx_bytes(data, source, options);
}

nn::Sequential load_onnx_bytes(std::string_view data, const std::string& source, const OnnxImportOptions& options) {
  return load_model(data, source, nullptr, options);
}

static nn::Sequential load_model(std::string_view data, const std::string& source, const std::filesystem::path* folder,
                                 const OnnxImportOptions& options) {
  Model m = onnx_reader::parse_model(data, source);
  onnx_reader::load_external_data(m, folder, source);
  bind_constants(m, options.constants, source);
  nn::Sequential model;
  try {
    model = Builder(m, source, options.output).build();
  } catch (const FormatError&) {
    throw;
  } catch (const Error& e) {  // a layer refusing the settings it was given (ValueError)
    throw FormatError(source + ": " + e.what());
  }
  model.to(options.device);
  model.eval();
  return model;
}

}  // namespace axon::io
