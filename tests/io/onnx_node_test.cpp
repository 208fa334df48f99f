// ONNX's own backend node tests (Debian's libonnx-testdata: per operator a model, its inputs
// and ONNX's expected outputs, as protobuf files) run against load_onnx. Every test of an
// operator that load_onnx claims (axon/io/onnx.h) is listed in io/onnx_node_tests.txt as
//   pass     read, and on each of its data sets computes ONNX's expected output
//   refused  a FormatError from load_onnx (an operator, attribute or shape our layers cannot
//            take: the message's gist beside it) or from the tensor reader (int8, bool: types
//            axon does not compute in)
// so a test that starts or stops passing, or a new test in the data, fails here until the list
// says so. The model's first input is the data; the others are given as constants
// (OnnxImportOptions::constants), the first output is the one computed.
//
// Tolerance: |got - want| <= 1e-5 + 1e-5 |want| (ONNX's own runner allows rtol 1e-3).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using axon::Tensor;

// The operators load_onnx reads, as the test folders name them.
const std::regex kClaimed(
    "test_(relu|leakyrelu|elu|selu|sigmoid|tanh|softplus|softsign|hardsigmoid|hardswish|gelu|clip|gemm|matmul|softmax|"
    "logsoftmax|flatten|reshape|identity|dropout|conv|maxpool|averagepool|globalaveragepool|batchnorm|"
    "layer_normalization|prelu|mish|reduce_mean|lstm|gru)(_.*)?");

fs::path data_folder() {
  const char* override_folder = std::getenv("AXON_ONNX_NODE_TESTS");
  return override_folder != nullptr ? fs::path(override_folder) : fs::path("/usr/share/libonnx-testdata/data/node");
}

struct Expectation {
  bool pass = false;
  std::string note;
};

std::map<std::string, Expectation> read_list() {
  std::ifstream in(fs::path(AXON_TEST_FIXTURE_DIR).parent_path() / "io" / "onnx_node_tests.txt");
  EXPECT_TRUE(in) << "io/onnx_node_tests.txt is missing";
  std::map<std::string, Expectation> list;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream words(line);
    std::string name, verdict;
    words >> name >> verdict;
    EXPECT_TRUE(verdict == "pass" || verdict == "refused") << line;
    std::string note;
    std::getline(words, note);
    list[name] = {verdict == "pass", note};
  }
  return list;
}

// The outcome of one test folder: "pass", or "refused: <message>", or a failure's text.
struct Outcome {
  enum Kind { kPass, kRefused, kWrong } kind = kWrong;
  std::string text;
};

Outcome run_node_test(const fs::path& folder) {
  std::vector<fs::path> sets;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (entry.is_directory() && entry.path().filename().string().starts_with("test_data_set_")) sets.push_back(entry.path());
  }
  std::sort(sets.begin(), sets.end());
  if (sets.empty()) return {Outcome::kWrong, "no test_data_set_*"};
  for (const fs::path& set : sets) {
    std::vector<axon::io::OnnxTensor> inputs, outputs;
    try {
      for (int k = 0; fs::exists(set / ("input_" + std::to_string(k) + ".pb")); ++k) {
        inputs.push_back(axon::io::read_onnx_tensor(set / ("input_" + std::to_string(k) + ".pb")));
      }
      for (int k = 0; fs::exists(set / ("output_" + std::to_string(k) + ".pb")); ++k) {
        outputs.push_back(axon::io::read_onnx_tensor(set / ("output_" + std::to_string(k) + ".pb")));
      }
    } catch (const axon::FormatError& e) {  // int8, uint8, float16 data: axon computes in float32
      return {Outcome::kRefused, e.what()};
    }
    if (inputs.empty() || outputs.empty()) return {Outcome::kWrong, set.string() + ": no inputs or outputs"};
    axon::io::OnnxImportOptions options;
    for (std::size_t k = 1; k < inputs.size(); ++k) options.constants[inputs[k].name] = inputs[k].value;
    options.output = outputs[0].name;
    axon::nn::Sequential model;
    try {
      model = axon::io::load_onnx(folder / "model.onnx", options);
    } catch (const axon::FormatError& e) {
      return {Outcome::kRefused, e.what()};
    }
    if (inputs[0].value.dtype() != axon::DType::kFloat32) return {Outcome::kWrong, "loaded a model of integer data"};
    const Tensor got = model.predict(inputs[0].value);
    const Tensor& want = outputs[0].value;
    if (got.shape() != want.shape()) {
      return {Outcome::kWrong, set.filename().string() + ": shape " + got.shape().str() + ", ONNX's " + want.shape().str()};
    }
    const std::vector<float> g = got.to_vector(), w = want.to_vector();
    for (std::size_t i = 0; i < g.size(); ++i) {
      if (!(std::abs(g[i] - w[i]) <= 1e-5f + 1e-5f * std::abs(w[i]))) {
        return {Outcome::kWrong, set.filename().string() + ": element " + std::to_string(i) + " is " + std::to_string(g[i]) +
                                     ", ONNX's " + std::to_string(w[i])};
      }
    }
  }
  return {Outcome::kPass, ""};
}

TEST(OnnxNodeTests, EveryClaimedOperatorsTestsPassOrAreRefusedAsListed) {
  const fs::path root = data_folder();
  if (!fs::is_directory(root)) GTEST_SKIP() << root << " is missing (Debian's libonnx-testdata; scripts/install-deps installs it)";
  std::set<std::string> present;
  for (const auto& entry : fs::directory_iterator(root)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && std::regex_match(name, kClaimed)) present.insert(name);
  }
  ASSERT_GT(present.size(), 100u) << "too few of ONNX's node tests found under " << root;
  const std::map<std::string, Expectation> list = read_list();
  const bool discover = std::getenv("AXON_ONNX_NODE_DISCOVER") != nullptr;  // prints a list to start from
  int passed = 0, refused = 0;
  for (const std::string& name : present) {
    SCOPED_TRACE(name);
    const Outcome outcome = run_node_test(root / name);
    if (discover) {
      std::printf("%s %s  %s\n", name.c_str(), outcome.kind == Outcome::kPass ? "pass" : "refused",
                  outcome.kind == Outcome::kPass ? "" : outcome.text.c_str());
    }
    passed += outcome.kind == Outcome::kPass;
    refused += outcome.kind == Outcome::kRefused;
    EXPECT_NE(outcome.kind, Outcome::kWrong) << outcome.text;
    const auto listed = list.find(name);
    if (listed == list.end()) {
      ADD_FAILURE() << "not in io/onnx_node_tests.txt";
      continue;
    }
    if (listed->second.pass) {
      EXPECT_EQ(outcome.kind, Outcome::kPass) << outcome.text;
    } else {
      EXPECT_EQ(outcome.kind, Outcome::kRefused) << "now reads: mark it pass in io/onnx_node_tests.txt";
    }
  }
  for (const auto& [name, expectation] : list) {
    EXPECT_TRUE(present.count(name) != 0) << name << " is listed but not in " << root;
  }
  std::printf("ONNX node tests of the claimed operators: %d read and pass, %d refused, of %zu\n", passed, refused, present.size());
}

// The reader of ONNX's tensor files on what a test set holds: names, shapes, both types.
TEST(ReadOnnxTensor, ReadsFloatAndIntegerTensorsAndRefusesDamage) {
  const fs::path root = data_folder();
  if (!fs::is_directory(root)) GTEST_SKIP() << root << " is missing";
  const axon::io::OnnxTensor x = axon::io::read_onnx_tensor(root / "test_relu" / "test_data_set_0" / "input_0.pb");
  EXPECT_EQ(x.name, "x");
  EXPECT_EQ(x.value.shape(), (axon::Shape{3, 4, 5}));
  EXPECT_EQ(x.value.dtype(), axon::DType::kFloat32);
  const axon::io::OnnxTensor shape = axon::io::read_onnx_tensor(root / "test_reshape_reordered_all_dims" / "test_data_set_0" / "input_1.pb");
  EXPECT_EQ(shape.value.dtype(), axon::DType::kInt32);
  EXPECT_EQ(shape.value.to_int_vector(), (std::vector<std::int32_t>{4, 2, 3}));

  std::ifstream in(root / "test_relu" / "test_data_set_0" / "input_0.pb", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (std::size_t cut = 0; cut < bytes.size(); cut += 7) {
    try {
      (void)axon::io::read_onnx_tensor_bytes(std::string_view(bytes).substr(0, cut), "cut.pb");
      ADD_FAILURE() << "a prefix of " << cut << " bytes read as a whole tensor";
    } catch (const axon::FormatError& e) {
      EXPECT_NE(std::string(e.what()).find("cut.pb"), std::string::npos) << e.what();
    }
  }
  axon_test::expect_error<axon::FormatError>([] { (void)axon::io::read_onnx_tensor("/nonexistent/x.pb"); }, {"/nonexistent/x.pb"});
}

}  // namespace
