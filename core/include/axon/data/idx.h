#pragma once
// IDX files, the format MNIST and Fashion-MNIST ship in, plain or gzip-compressed.
#include <cstdint>
#include <filesystem>

#include "axon/dtype.h"
#include "axon/export.h"
#include "axon/tensor.h"

namespace axon::data {

// Reads an IDX file into a CPU tensor whose shape is the file's dimensions. The file is plain or
// gzip-compressed (told apart by the gzip magic bytes 1f 8b, read through zlib). Its layout:
// 2 zero bytes, a type byte (0x08 ubyte, 0x09 sbyte, 0x0B int16, 0x0C int32, 0x0D float32,
// 0x0E float64), a rank byte (1 to 8), rank big-endian uint32 dimensions, then the big-endian
// data, nothing after it.
// as = kFloat32 converts every value to float; as = kInt32 accepts only the integer types.
// Throws FormatError naming the file and what is wrong (cannot open, bad magic, unsupported type
// byte, bad rank, too many elements, truncated at byte N, unexpected bytes after the data,
// corrupt gzip stream, int32 asked of float data); ValueError for an unknown `as`.
// Sizes are checked before anything is allocated: at most 2^34 elements; a plain file must hold
// exactly the bytes its header promises (the output then takes at most 4x the file: bytes read
// as float32); a gzip stream's header may declare no more data than deflate can expand its
// compressed bytes to (1032:1) and no more output than IdxOptions::max_bytes. The output is
// allocated once, at the checked size, and filled as the data arrives.
struct IdxOptions {
  DType as = DType::kFloat32;
  // The most output (the tensor's bytes) a gzip file may declare; raise it for bigger data sets.
  std::uint64_t max_bytes = std::uint64_t{2} << 30;  // 2 GiB
};
AXON_API Tensor read_idx(const std::filesystem::path& path, const IdxOptions& options);
AXON_API Tensor read_idx(const std::filesystem::path& path, DType as = DType::kFloat32);

}  // namespace axon::data
