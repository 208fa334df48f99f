// Writes, into the folder given, ONNX files axon exported (<name>.onnx) for a set of models
// covering every layer and activation save_onnx exports, and for each the inputs and axon's
// predictions at batch sizes 1, 3 and 5 (<name>_io.safetensors: x1, y1, x3, y3, x5, y5), for
// tests/io/check_onnx.py to check with onnx.checker and run in onnxruntime.
#include <cstdio>
#include <string>

#include "onnx_cases.h"

using namespace onnx_cases;

int main(int argc, char** argv) try {
  if (argc != 2) {
    std::fprintf(stderr, "usage: write_onnx_models FOLDER\n");
    return 2;
  }
  const std::filesystem::path folder = argv[1];
  std::filesystem::create_directories(folder);
  for (const Case& c : cases()) {
    axon::Generator generator(7);
    nn::Sequential model;
    c.build(model, generator);
    run_in_training(model, c.sample, generator);
    axon::io::save_onnx(model, folder / (c.name + ".onnx"), {.sample_input = c.sample});
    std::vector<axon::io::NamedTensor> io;
    for (const std::int64_t batch : {1, 3, 5}) {
      std::vector<std::int64_t> dims{batch};
      dims.insert(dims.end(), c.sample.dims().begin(), c.sample.dims().end());
      const Tensor x = Tensor::uniform(Shape(std::span<const std::int64_t>(dims)), -3, 3, axon::Device::cpu(), generator);
      io.push_back({"x" + std::to_string(batch), x});
      io.push_back({"y" + std::to_string(batch), model.predict(x)});
    }
    axon::io::save_safetensors(folder / (c.name + "_io.safetensors"), io);
  }
  std::printf("write_onnx_models: %zu models in %s\n", cases().size(), folder.c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "write_onnx_models: %s\n", e.what());
  return 1;
}
