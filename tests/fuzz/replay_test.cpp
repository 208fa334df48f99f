// Every seed of the fuzz corpora and every input a fuzzer ever found (tests/fuzz/findings/, one
// file per finding, named for the fault) read the ways the fuzz targets read them: each may
// throw only axon::Error. Runs in the ordinary suite and under the sanitizers, without clang.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "readers.h"

namespace {

std::vector<std::filesystem::path> inputs(const std::string& format) {
  std::vector<std::filesystem::path> files;
  for (const char* kind : {"corpus", "findings"}) {
    const std::filesystem::path folder = std::filesystem::path(AXON_FUZZ_DIR) / kind / format;
    if (!std::filesystem::exists(folder)) continue;
    for (const auto& entry : std::filesystem::directory_iterator(folder)) files.push_back(entry.path());
  }
  return files;
}

// Every file of `format` read by `read` (a readers.h function): only axon::Error may escape.
template <typename Read>
void replay(const std::string& format, std::size_t at_least, Read read) {
  const auto files = inputs(format);
  ASSERT_GE(files.size(), at_least) << "the " << format << " seeds are missing";
  for (const auto& file : files) {
    SCOPED_TRACE(file.string());
    EXPECT_NO_THROW(read(file));
  }
}

TEST(FuzzReplay, Idx) { replay("idx", 5, axon_fuzz::read_idx_every_way); }

TEST(FuzzReplay, Csv) { replay("csv", 4, axon_fuzz::read_csv_every_way); }

TEST(FuzzReplay, Safetensors) {
  replay("safetensors", 3, [](const std::filesystem::path& file) {
    axon_fuzz::SafetensorsTarget target;  // a fresh model per file: one file's load cannot hide another's fault
    axon_fuzz::read_safetensors_every_way(file, target);
  });
}

TEST(FuzzReplay, Onnx) { replay("onnx", 4, axon_fuzz::read_onnx_every_way); }

// The seeds are valid files: each loads (a corpus of files that all fail would leave the
// fuzzer outside the code it is meant to reach).
TEST(FuzzReplay, SeedsAreValidFiles) {
  const std::filesystem::path corpus = std::filesystem::path(AXON_FUZZ_DIR) / "corpus";
  EXPECT_NO_THROW((void)axon::data::read_idx(corpus / "idx" / "ubyte_2x3.idx.gz"));
  EXPECT_NO_THROW((void)axon::data::read_csv(corpus / "csv" / "basic.csv", {.label_column = "label"}));
  for (const char* name : {"model", "settings", "conv"}) {
    EXPECT_NO_THROW((void)axon::nn::load_model(corpus / "safetensors" / (std::string(name) + ".safetensors"))) << name;
  }
  for (const char* name : {"mlp", "cnn", "cnn_norms", "torch_cnn_norms"}) {
    EXPECT_NO_THROW((void)axon::io::load_onnx(corpus / "onnx" / (std::string(name) + ".onnx"))) << name;
  }
  for (const char* name : {"tensor_float_x", "tensor_int64_shape"}) {
    EXPECT_NO_THROW((void)axon::io::read_onnx_tensor(corpus / "onnx" / (std::string(name) + ".pb"))) << name;
  }
  axon_fuzz::SafetensorsTarget target;
  EXPECT_NO_THROW(target.trainer.load_checkpoint(corpus / "safetensors" / "checkpoint.safetensors"));
}

}  // namespace
