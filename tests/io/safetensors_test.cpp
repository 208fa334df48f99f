// safetensors files: round trips, PyTorch's files, and hostile files that must throw a
// FormatError naming the file and the fault (never a crash or a huge allocation).
#include <bit>
#include <cstring>

#include "test_util.h"

namespace {

using axon::Tensor;
using axon_test::expect_error;
using axon_test::TempDir;
namespace io = axon::io;
namespace nn = axon::nn;

nn::Sequential torch_like_mlp(std::uint64_t seed) {
  axon::Generator generator(seed);
  nn::Sequential model;
  model.add(nn::Dense(4, 8, nn::DenseOptions{.generator = &generator}))
      .add(nn::ReLU())
      .add(nn::Dense(8, 3, nn::DenseOptions{.generator = &generator}))
      .add(nn::Tanh());
  return model;
}

TEST(Safetensors, TensorsAndMetadataRoundTrip) {
  const TempDir dir;
  const Tensor a = Tensor::uniform({3, 5}, -1, 1);
  const Tensor b = axon_test::int_tensor_from({4}, {7, -8, 9, 2147483647});
  const Tensor empty = Tensor::empty({0, 3});
  io::save_safetensors(dir / "t.safetensors", {{"a", a}, {"labels", b}, {"nothing", empty}},
                       {{"format", "axon"}, {"note", "quotes \" and \\ and \n survive"}});
  const io::Safetensors file = io::load_safetensors(dir / "t.safetensors");
  EXPECT_EQ(file.at("a").to_vector(), a.to_vector());
  EXPECT_EQ(file.at("a").shape(), a.shape());
  EXPECT_EQ(file.at("labels").to_int_vector(), b.to_int_vector());
  EXPECT_EQ(file.at("nothing").shape(), empty.shape());
  EXPECT_EQ(file.metadata.at("note"), "quotes \" and \\ and \n survive");
  expect_error<axon::FormatError>([&] { (void)file.at("b"); }, {"t.safetensors", "no tensor named 'b'"});
  expect_error<axon::ValueError>([&] { io::save_safetensors(dir / "u", {{"a", a}, {"a", a}}); }, {"twice"});
}

// The layout the format's readers expect: a little-endian u64 header length, a JSON header
// padded with spaces, the data 8-byte aligned (what lets a reader map tensors in place), and
// nothing after the last tensor.
TEST(Safetensors, TheDataStartsEightByteAligned) {
  const TempDir dir;
  for (const std::string name : {"a", "ab", "abc", "abcd", "abcde", "abcdef", "abcdefg", "abcdefgh"}) {
    io::save_safetensors(dir / "t.safetensors", {{name, Tensor::uniform({3}, -1, 1)}});
    const std::string bytes = axon_test::read_file(dir / "t.safetensors");
    ASSERT_GE(bytes.size(), 8u);
    std::uint64_t length = 0;
    for (int i = 7; i >= 0; --i) length = (length << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
    EXPECT_EQ((8 + length) % 8, 0u) << name;
    EXPECT_EQ(bytes.size(), 8 + length + 12) << name;
    const std::string header = bytes.substr(8, length);
    EXPECT_EQ(header.front(), '{') << name;
    EXPECT_EQ(header.find_last_not_of(' '), header.rfind('}')) << name;
  }
}

TEST(Safetensors, AModelSavedAndLoadedPredictsTheSame) {
  const TempDir dir;
  nn::Sequential trained = torch_like_mlp(1);
  nn::save_weights(trained, dir / "model.safetensors");
  nn::Sequential other = torch_like_mlp(2);
  const Tensor x = Tensor::uniform({6, 4}, -1, 1);
  EXPECT_NE(other.predict(x).to_vector(), trained.predict(x).to_vector());
  nn::load_weights(other, dir / "model.safetensors");
  EXPECT_EQ(other.predict(x).to_vector(), trained.predict(x).to_vector());
  // A model of another shape is refused, and left as it was.
  axon::Generator generator(3);
  nn::Sequential wider;
  wider.add(nn::Dense(4, 9, nn::DenseOptions{.generator = &generator})).add(nn::ReLU()).add(nn::Dense(9, 3));
  const auto before = wider.parameters().values().to_vector();
  expect_error<axon::FormatError>([&] { nn::load_weights(wider, dir / "model.safetensors"); },
                                  {"model.safetensors", "0.weight", "[8, 4]", "[9, 4]"});
  EXPECT_EQ(wider.parameters().values().to_vector(), before);
}

TEST(Safetensors, WeightsTrainedInPyTorchPredictWhatPyTorchPredicted) {
  nn::Sequential model = torch_like_mlp(5);
  nn::load_weights(model, AXON_TEST_FIXTURE_DIR "/torch_mlp.safetensors");
  const io::Safetensors io = io::load_safetensors(AXON_TEST_FIXTURE_DIR "/torch_mlp_io.safetensors");
  EXPECT_TRUE(axon_test::near_ref(model.predict(io.at("input")), axon_test::values_of(io.at("output")), 1e-5, 1e-6));
  EXPECT_EQ(io::load_safetensors(AXON_TEST_FIXTURE_DIR "/torch_mlp.safetensors").metadata.at("made_by").rfind("torch", 0), 0u);
}

// F16, BF16 and F64 tensors load as float32, as torch's .float() converts them: infinities,
// NaN, signed zeros, subnormals and the range limits included.
TEST(Safetensors, HalfBfloatAndDoubleTensorsLoadAsFloat32AsTorchConvertsThem) {
  const io::Safetensors file = io::load_safetensors(AXON_TEST_FIXTURE_DIR "/torch_dtypes.safetensors");
  for (const std::string name : {"f16", "bf16", "f64"}) {
    SCOPED_TRACE(name);
    const Tensor& got = file.at(name);
    const Tensor& want = file.at(name + "_as_f32");
    EXPECT_EQ(got.dtype(), axon::DType::kFloat32);
    EXPECT_EQ(got.shape(), want.shape());
    const std::vector<float> g = got.to_vector(), w = want.to_vector();
    ASSERT_EQ(g.size(), w.size());
    for (std::size_t i = 0; i < g.size(); ++i) {
      if (std::isnan(w[i])) {  // (a NaN's payload is not kept by every conversion)
        EXPECT_TRUE(std::isnan(g[i])) << "element " << i;
        continue;
      }
      EXPECT_EQ(std::bit_cast<std::uint32_t>(g[i]), std::bit_cast<std::uint32_t>(w[i]))  // bit for bit: -0, subnormals
          << "element " << i << ": " << g[i] << " vs " << w[i];
    }
  }
  EXPECT_EQ(file.file_dtypes.at("f16"), "F16");
  EXPECT_EQ(file.file_dtypes.at("bf16"), "BF16");
  EXPECT_EQ(file.file_dtypes.at("f64"), "F64");
  EXPECT_EQ(file.file_dtypes.at("f64_as_f32"), "F32");
  // A bfloat16 state_dict loads into a float32 model: it predicts what the rounded weights do.
  nn::Sequential from_bf16 = torch_like_mlp(5);
  nn::load_weights(from_bf16, AXON_TEST_FIXTURE_DIR "/torch_mlp_bf16.safetensors");
  nn::Sequential from_f32 = torch_like_mlp(5);
  nn::load_weights(from_f32, AXON_TEST_FIXTURE_DIR "/torch_mlp.safetensors");
  const std::vector<float> rounded = from_bf16.parameters().values().to_vector();
  const std::vector<float> exact = from_f32.parameters().values().to_vector();
  ASSERT_EQ(rounded.size(), exact.size());
  for (std::size_t i = 0; i < exact.size(); ++i) {
    EXPECT_NEAR(rounded[i], exact[i], std::abs(exact[i]) / 128.0f) << i;  // 8 bits of mantissa
  }
  EXPECT_NE(rounded, exact);
}

// ---- hostile files ----

std::string with_header(const std::string& header, const std::string& data) {
  std::string bytes(8, '\0');
  const std::uint64_t length = header.size();
  std::memcpy(bytes.data(), &length, 8);
  return bytes + header + data;
}

TEST(Safetensors, DamagedFilesThrowNamingTheFileAndTheFault) {
  const TempDir dir;
  const std::string four_floats(16, '\0');
  const std::string good = R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})";
  ASSERT_NO_THROW((void)io::load_safetensors(dir.write("good", with_header(good, four_floats))));
  struct Case {
    std::string name, bytes, fault;
  };
  std::string huge_length(8, '\xff');
  const std::vector<Case> cases{
      {"tiny", "abc", "truncated at byte 3"},
      {"huge_length", huge_length + "{}", "runs past the end"},
      {"truncated_data", with_header(good, four_floats.substr(0, 10)), "outside the 10 data bytes"},
      {"extra_data", with_header(good, four_floats + "xx"), "2 bytes after the last tensor"},
      {"bad_json", with_header(R"({"w":{"dtype":"F32",)", four_floats), "invalid JSON"},
      {"bad_utf8", with_header("{\"w\xff\":1}", ""), "invalid UTF-8"},
      {"deep", with_header(std::string(200, '[') + std::string(200, ']'), ""), "nested deeper"},
      {"dtype", with_header(R"({"w":{"dtype":"U8","shape":[16],"data_offsets":[0,16]}})", four_floats), "dtype U8"},
      {"f16_bytes", with_header(R"({"w":{"dtype":"F16","shape":[2,2],"data_offsets":[0,16]}})", four_floats),
       "spans 16 bytes but its shape needs 8 (F16)"},
      {"f64_range", with_header(R"({"w":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}})",
                                std::string("\0\0\0\0\0\0\xf0\x3f", 8) + std::string("\x9c\x75\x00\x88\x3c\xe4\x37\x7e", 8)),
       "element 1 is 1.0000000000000001e+300, beyond float32's range"},
      {"shape_vs_bytes", with_header(R"({"w":{"dtype":"F32","shape":[3,2],"data_offsets":[0,16]}})", four_floats),
       "shape needs 24"},
      {"huge_shape",
       with_header(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]}})", four_floats),
       "more bytes than the file"},
      {"overlap",
       with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                   four_floats.substr(0, 12)),
       "overlaps"},
      {"gap", with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", four_floats), "gap of 8 bytes"},
      {"negative", with_header(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", four_floats.substr(0, 8)),
       "whole number"},
      {"duplicate", with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{}})", "abcd"), "duplicate key"},
      {"not_object", with_header("[1,2]", ""), "not a JSON object"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const auto path = dir.write(c.name, c.bytes);
    expect_error<axon::FormatError>([&] { (void)io::load_safetensors(path); }, {c.name, c.fault});
  }
  expect_error<axon::FormatError>([&] { (void)io::load_safetensors(dir / "missing"); }, {"missing", "cannot open"});
}

TEST(Safetensors, AFailedWriteLeavesTheOldFile) {
  const TempDir dir;
  io::save_safetensors(dir / "model.safetensors", {{"w", Tensor::ones({2})}});
  // A folder that does not exist: the write fails before touching anything.
  expect_error<axon::Error>([&] { io::save_safetensors(dir / "no_such_folder" / "x.safetensors", {{"w", Tensor::ones({2})}}); },
                            {"no_such_folder"});
  EXPECT_EQ(io::load_safetensors(dir / "model.safetensors").at("w").to_vector(), (std::vector<float>{1, 1}));
  // Overwriting replaces the file whole; no temporary file is left beside it.
  io::save_safetensors(dir / "model.safetensors", {{"w", Tensor::full({3}, 2.0f)}});
  EXPECT_EQ(io::load_safetensors(dir / "model.safetensors").at("w").to_vector(), (std::vector<float>{2, 2, 2}));
  int files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir / "")) ++files;
  EXPECT_EQ(files, 1);
}

}  // namespace

namespace {

TEST(Safetensors, LoadModelRebuildsTheNetworkFromTheFile) {
  const axon_test::TempDir dir;
  axon::Generator generator(8);
  nn::Sequential model;
  model.add(nn::Dense(6, 10, nn::DenseOptions{.activation = axon::Activation::kGelu, .generator = &generator}))
      .add(nn::Dropout(0.25f))
      .add(nn::Dense(10, 5, nn::DenseOptions{.bias = false, .generator = &generator}))
      .add(nn::LeakyReLU(0.2f))
      .add(nn::Dense(5, 3, nn::DenseOptions{.generator = &generator}))
      .add(nn::LogSoftmax());
  nn::save_weights(model, dir / "model.safetensors");
  nn::Sequential loaded = nn::load_model(dir / "model.safetensors");
  ASSERT_EQ(loaded.size(), model.size());
  for (std::size_t i = 0; i < model.size(); ++i) {
    EXPECT_EQ(loaded.layer(i).type(), model.layer(i).type()) << i;
    EXPECT_EQ(loaded.layer(i).settings(), model.layer(i).settings()) << i;
  }
  const Tensor x = Tensor::uniform({7, 6}, -1, 1);
  EXPECT_EQ(loaded.predict(x).to_vector(), model.predict(x).to_vector());
  // PyTorch's file has no layer list: it loads into a model built in code, not by load_model.
  expect_error<axon::FormatError>([] { (void)nn::load_model(AXON_TEST_FIXTURE_DIR "/torch_mlp.safetensors"); },
                                  {"torch_mlp.safetensors", "no layer list", "load_weights"});
}

// A layer list that asks for more parameters than the file holds is refused before anything is
// allocated (found by review: a 200-byte file could otherwise allocate gigabytes; with the check
// gone, 10^5 x 10^5 throws OutOfMemory instead of this FormatError).
TEST(Safetensors, LoadModelRefusesALayerListLargerThanTheFile) {
  const axon_test::TempDir dir;
  io::save_safetensors(dir / "huge.safetensors", {{"0.weight", Tensor::uniform({2, 2}, -1, 1)}},
                       {{"format", "axon"},
                        {"format_version", "1"},
                        {"layers", R"([{"type":"Dense","in":100000,"out":100000,"bias":true,"activation":"identity"}])"}});
  expect_error<axon::FormatError>([&] { (void)nn::load_model(dir / "huge.safetensors"); },
                                  {"huge.safetensors", "layer 0 (Dense)", "10000100000 parameters",
                                   "the file holds 4"});
}

}  // namespace
