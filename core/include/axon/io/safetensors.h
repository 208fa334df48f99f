#pragma once
// safetensors files (the format Hugging Face and PyTorch users share): an 8-byte little-endian
// header length, a JSON header naming each tensor's dtype, shape and byte range, then the raw
// little-endian data. Written and read by our own code: float32 ("F32") and int32 ("I32") as
// they are; F16, BF16 and F64 tensors (a half-precision or double checkpoint from PyTorch) are
// read into float32: F16 and BF16 exactly (every such value is a float32), F64 rounded to
// nearest (a finite value beyond float32's range is a FormatError naming the element, not an
// inf).
//
// Writes are atomic: the bytes go to a temporary file in the same folder, which is flushed,
// fsynced and renamed over the target, and the folder is fsynced: a crash leaves the old file
// or the new one, never a mix. A symbolic link is written through (its target is replaced, the
// link stays); an existing file keeps its mode, a new one gets 0666 less the umask; the
// temporaries of killed writers are removed by the next save of the same file. Reading opens
// the file once and takes its size from the open descriptor (a save racing the read cannot
// make a whole file look damaged), checks every length, offset and shape against the file
// before allocating, and throws FormatError naming the file and what is wrong.
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "axon/export.h"
#include "axon/tensor.h"

namespace axon::io {

struct NamedTensor {
  std::string name;
  Tensor tensor;
};

struct AXON_API Safetensors {
  std::vector<NamedTensor> tensors;              // in the order of their data in the file
  std::map<std::string, std::string> metadata;   // the header's "__metadata__"
  // Each tensor's dtype as the file stores it ("F32", "I32", "F16", "BF16", "F64", "I64"): the
  // tensors themselves are float32 or int32.
  std::map<std::string, std::string> file_dtypes;
  // The tensor called `name`; FormatError naming the file when there is none.
  const Tensor& at(std::string_view name) const;
  std::filesystem::path path;
};

// Tensors of any device (copied to the host to write). ValueError for an empty or duplicate
// name, "__metadata__" as a name, or a dtype other than float32/int32.
AXON_API void save_safetensors(const std::filesystem::path& path, const std::vector<NamedTensor>& tensors,
                               const std::map<std::string, std::string>& metadata = {});
// Every tensor, on `device`.
AXON_API Safetensors load_safetensors(const std::filesystem::path& path, Device device = Device::cpu());

// Replaces `path` with `bytes` atomically (temporary file, fsync, rename, folder fsync), as
// described above. Throws Error naming the path and the system's reason.
AXON_API void write_file_atomically(const std::filesystem::path& path, const std::vector<std::string_view>& parts);

}  // namespace axon::io
