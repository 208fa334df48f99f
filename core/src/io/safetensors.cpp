#include "axon/io/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <limits>
#include <utility>

#include "axon/error.h"
#include "core/src/io/json.h"
#include "core/src/io/utf8.h"

namespace axon::io {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian: add byte swapping");

namespace {

// A header larger than this is refused before it is read (real ones are a few KiB per
// hundred tensors; the reference implementation caps it at 100 MB too).
constexpr std::uint64_t kMaxHeaderBytes = std::uint64_t{100} << 20;

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what) {
  throw FormatError("safetensors file " + path.string() + ": " + what);
}

// A file descriptor closed when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

const char* dtype_code(DType dtype) { return dtype == DType::kFloat32 ? "F32" : "I32"; }

}  // namespace

void save_safetensors(const std::filesystem::path& path, const std::vector<NamedTensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  std::string header = "{";
  std::vector<std::string> data;
  std::uint64_t offset = 0;
  // Names must read back: UTF-8 (what the reader accepts, utf8.h), unique (by sorting: n log n).
  const auto check_utf8 = [&](std::string_view text, const std::string& what) {
    if (const auto bad = first_invalid_utf8(text)) {
      throw ValueError("save_safetensors: " + what + " is not valid UTF-8 (byte " + std::to_string(*bad) + ")");
    }
  };
  std::vector<std::string_view> names;
  names.reserve(tensors.size());
  for (const NamedTensor& t : tensors) names.emplace_back(t.name);
  std::sort(names.begin(), names.end());
  if (const auto twice = std::adjacent_find(names.begin(), names.end()); twice != names.end()) {
    throw ValueError("save_safetensors: tensor name '" + std::string(*twice) + "' appears twice");
  }
  for (const auto& [key, value] : metadata) {
    check_utf8(key, "a metadata key");
    check_utf8(value, "the metadata value of '" + key + "'");
  }
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const auto& [name, tensor] = tensors[i];
    if (name.empty() || name == "__metadata__") throw ValueError("save_safetensors: bad tensor name '" + name + "'");
    check_utf8(name, "a tensor name");
    if (!tensor.defined()) throw ValueError("save_safetensors: tensor '" + name + "' is undefined");
    std::string bytes(tensor.nbytes(), '\0');
    if (bytes.empty()) {
      // nothing to copy (an empty tensor's host vector has no data pointer)
    } else if (tensor.dtype() == DType::kFloat32) {
      const std::vector<float> values = tensor.to_vector();
      std::memcpy(bytes.data(), values.data(), bytes.size());
    } else {
      const std::vector<std::int32_t> values = tensor.to_int_vector();
      std::memcpy(bytes.data(), values.data(), bytes.size());
    }
    // Appended piece by piece (GCC 12 warns falsely on chains of const char* + string).
    if (i > 0) header += ',';
    header += json::quote(name);
    header += ":{\"dtype\":\"";
    header += dtype_code(tensor.dtype());
    header += "\",\"shape\":[";
    for (int axis = 0; axis < tensor.rank(); ++axis) {
      if (axis > 0) header += ',';
      header += std::to_string(tensor.dim(axis));
    }
    header += "],\"data_offsets\":[";
    header += std::to_string(offset);
    header += ',';
    header += std::to_string(offset + bytes.size());
    header += "]}";
    offset += bytes.size();
    data.push_back(std::move(bytes));
  }
  if (!metadata.empty()) {
    if (!tensors.empty()) header += ',';
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [key, value] : metadata) {
      if (!first) header += ',';
      header += json::quote(key);
      header += ':';
      header += json::quote(value);
      first = false;
    }
    header += '}';
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');  // the data starts 8-byte aligned
  char length[8];
  const std::uint64_t header_size = header.size();
  std::memcpy(length, &header_size, 8);
  std::vector<std::string_view> parts{std::string_view(length, 8), header};
  for (const std::string& bytes : data) parts.emplace_back(bytes);
  write_file_atomically(path, parts);
}

const Tensor& Safetensors::at(std::string_view name) const {
  for (const NamedTensor& t : tensors) {
    if (t.name == name) return t.tensor;
  }
  fail(path, "has no tensor named '" + std::string(name) + "'");
}

namespace {

std::uint64_t as_count(const std::filesystem::path& path, const json::Value& value, const std::string& what) {
  if (!value.is_number()) fail(path, what + " must be a number");
  const double number = value.number();
  if (!(number >= 0) || number > 9007199254740992.0 || std::floor(number) != number) {
    fail(path, what + " must be a whole number in [0, 2^53], got " + std::to_string(number));
  }
  return static_cast<std::uint64_t>(number);
}

// How a tensor is stored in the file: F32 and I32 as they are; F16, BF16 and F64 converted to
// float32 when read, I64 (torch's integer default: BatchNorm's num_batches_tracked) to int32.
enum class Stored { kF32, kI32, kF16, kBF16, kF64, kI64 };

struct StoredKind {
  std::string_view code;
  Stored stored;
  std::size_t bytes;  // per element
};
constexpr StoredKind kStoredKinds[] = {{"F32", Stored::kF32, 4}, {"I32", Stored::kI32, 4},
                                       {"F16", Stored::kF16, 2}, {"BF16", Stored::kBF16, 2},
                                       {"F64", Stored::kF64, 8}, {"I64", Stored::kI64, 8}};

struct Entry {
  std::string name;
  StoredKind kind;
  std::vector<std::int64_t> shape;
  std::uint64_t begin, end;
};

// IEEE half to float, exactly (every half is a float): subnormals, infinities and NaN included.
float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1fu;
  std::uint32_t mantissa = h & 0x3ffu;
  std::uint32_t bits = 0;
  if (exponent == 0x1fu) {  // infinity or NaN (the payload kept)
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {  // normal: rebias 15 -> 127
    bits = sign | ((exponent + 112u) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {  // zero
    bits = sign;
  } else {  // subnormal half: a normal float; shift the mantissa up to its leading one
    int shift = 0;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      ++shift;
    }
    bits = sign | (static_cast<std::uint32_t>(113 - shift) << 23) | ((mantissa & 0x3ffu) << 13);
  }
  float value = 0.0f;
  std::memcpy(&value, &bits, 4);
  return value;
}

float bfloat16_to_float(std::uint16_t b) {
  const std::uint32_t bits = static_cast<std::uint32_t>(b) << 16;  // bfloat16 is float's top half
  float value = 0.0f;
  std::memcpy(&value, &bits, 4);
  return value;
}

}  // namespace

namespace {

// Exactly n bytes at `offset` of the open file, or a FormatError saying how many it had.
void read_at(const std::filesystem::path& path, int fd, std::uint64_t offset, char* dst, std::size_t n,
             const std::string& what) {
  while (n > 0) {
    const ssize_t got = ::pread(fd, dst, n, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) fail(path, "cannot read " + what + ": " + std::strerror(errno));
    if (got == 0) fail(path, "truncated at byte " + std::to_string(offset) + " while reading " + what);
    dst += got;
    offset += static_cast<std::uint64_t>(got);
    n -= static_cast<std::size_t>(got);
  }
}

// Reads a tensor stored in another width in chunks (bounded memory), handing each element's
// bytes and index to convert().
template <class Convert>
void read_converted(const std::filesystem::path& path, int fd, std::uint64_t offset, const Entry& entry,
                    std::size_t count, const Convert& convert) {
  constexpr std::size_t kChunkElements = 1 << 16;
  std::vector<char> chunk(std::min(count, kChunkElements) * entry.kind.bytes);
  for (std::size_t done = 0; done < count;) {
    const std::size_t n = std::min(count - done, kChunkElements);
    read_at(path, fd, offset + done * entry.kind.bytes, chunk.data(), n * entry.kind.bytes,
            "the data of '" + entry.name + "'");
    for (std::size_t i = 0; i < n; ++i) convert(chunk.data() + i * entry.kind.bytes, done + i);
    done += n;
  }
}

// F16, BF16 or F64 into float32. An F64 value beyond float32's range is a FormatError naming
// the element (it would be a silent inf).
void convert_to_float(const std::filesystem::path& path, int fd, std::uint64_t offset, const Entry& entry, float* out,
                      std::size_t count) {
  read_converted(path, fd, offset, entry, count, [&](const char* bytes, std::size_t i) {
    if (entry.kind.stored == Stored::kF64) {
      double value = 0.0;
      std::memcpy(&value, bytes, 8);
      const auto narrowed = static_cast<float>(value);  // round to nearest
      if (std::isinf(narrowed) && std::isfinite(value)) {
        char text[32];
        std::snprintf(text, sizeof(text), "%.17g", value);
        fail(path, "tensor '" + entry.name + "' element " + std::to_string(i) + " is " + text +
                       ", beyond float32's range");
      }
      out[i] = narrowed;
    } else {
      std::uint16_t half = 0;
      std::memcpy(&half, bytes, 2);
      out[i] = entry.kind.stored == Stored::kF16 ? half_to_float(half) : bfloat16_to_float(half);
    }
  });
}

// I64 into int32; a value outside int32's range is a FormatError naming the element.
void convert_to_int32(const std::filesystem::path& path, int fd, std::uint64_t offset, const Entry& entry,
                      std::int32_t* out, std::size_t count) {
  read_converted(path, fd, offset, entry, count, [&](const char* bytes, std::size_t i) {
    std::int64_t value = 0;
    std::memcpy(&value, bytes, 8);
    if (value < std::numeric_limits<std::int32_t>::min() || value > std::numeric_limits<std::int32_t>::max()) {
      fail(path, "tensor '" + entry.name + "' element " + std::to_string(i) + " is " + std::to_string(value) +
                     ", beyond int32's range");
    }
    out[i] = static_cast<std::int32_t>(value);
  });
}

}  // namespace

Safetensors load_safetensors(const std::filesystem::path& path, Device device) {
  // One open file for everything: its size from the descriptor (not the path, which an atomic
  // save may point at a new file meanwhile), every byte read from it.
  const Fd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (file.get() < 0) fail(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat status {};
  if (::fstat(file.get(), &status) != 0) fail(path, std::string("cannot read its size: ") + std::strerror(errno));
  if (!S_ISREG(status.st_mode)) fail(path, "is not a regular file");
  const auto file_size = static_cast<std::uint64_t>(status.st_size);
  if (file_size < 8) fail(path, "truncated at byte " + std::to_string(file_size) + ": no 8-byte header length");
  std::uint64_t header_size = 0;
  read_at(path, file.get(), 0, reinterpret_cast<char*>(&header_size), 8, "the header length");
  if (header_size > file_size - 8) {
    fail(path, "header length " + std::to_string(header_size) + " runs past the end of the file (" +
                   std::to_string(file_size) + " bytes)");
  }
  if (header_size > kMaxHeaderBytes) fail(path, "header length " + std::to_string(header_size) + " exceeds 100 MiB");
  std::string header(header_size, '\0');
  read_at(path, file.get(), 8, header.data(), header.size(), "the header");
  json::Value root;
  try {
    root = json::parse(header);
  } catch (const FormatError& e) {
    fail(path, std::string("header: ") + e.what() + " (after the 8-byte length)");
  }
  if (!root.is_object()) fail(path, "the header is not a JSON object");

  Safetensors result;
  result.path = path;
  std::vector<Entry> entries;
  const std::uint64_t data_size = file_size - 8 - header_size;
  for (const auto& [name, value] : root.object()) {
    if (name == "__metadata__") {
      if (!value.is_object()) fail(path, "__metadata__ must be an object of strings");
      for (const auto& [key, text] : value.object()) {
        if (!text.is_string()) fail(path, "__metadata__ value of '" + key + "' is not a string");
        result.metadata[key] = text.string();
      }
      continue;
    }
    if (!value.is_object()) fail(path, "tensor '" + name + "' is not an object");
    const json::Value* dtype = nullptr;
    const json::Value* shape = nullptr;
    const json::Value* offsets = nullptr;
    for (const auto& [key, field] : value.object()) {
      if (key == "dtype") dtype = &field;
      else if (key == "shape") shape = &field;
      else if (key == "data_offsets") offsets = &field;
      else fail(path, "tensor '" + name + "' has an unknown field '" + key + "'");
    }
    if (dtype == nullptr || shape == nullptr || offsets == nullptr) {
      fail(path, "tensor '" + name + "' needs dtype, shape and data_offsets");
    }
    if (!dtype->is_string()) fail(path, "tensor '" + name + "': dtype must be a string");
    const auto kind = std::find_if(std::begin(kStoredKinds), std::end(kStoredKinds),
                                   [&](const StoredKind& k) { return k.code == dtype->string(); });
    if (kind == std::end(kStoredKinds)) {
      fail(path, "tensor '" + name + "' has dtype " + dtype->string() +
                     "; axon reads F32 and I32, F16, BF16 and F64 as float32, and I64 as int32");
    }
    Entry entry{name, *kind, {}, 0, 0};
    if (!shape->is_array() || shape->array().size() > static_cast<std::size_t>(Shape::kMaxRank)) {
      fail(path, "tensor '" + name + "': shape must be an array of at most 8 sizes");
    }
    std::uint64_t elements = 1;
    for (const json::Value& dim : shape->array()) {
      const std::uint64_t size = as_count(path, dim, "a dimension of '" + name + "'");
      if (size != 0 && elements > data_size / size) {
        fail(path, "tensor '" + name + "' would need more bytes than the file's data holds");
      }
      elements *= size;
      entry.shape.push_back(static_cast<std::int64_t>(size));
    }
    if (!offsets->is_array() || offsets->array().size() != 2) fail(path, "tensor '" + name + "': data_offsets must be [begin, end]");
    entry.begin = as_count(path, offsets->array()[0], "data_offsets of '" + name + "'");
    entry.end = as_count(path, offsets->array()[1], "data_offsets of '" + name + "'");
    if (entry.begin > entry.end || entry.end > data_size) {
      fail(path, "tensor '" + name + "' has data_offsets [" + std::to_string(entry.begin) + ", " + std::to_string(entry.end) +
                     "] outside the " + std::to_string(data_size) + " data bytes");
    }
    if (entry.end - entry.begin != elements * entry.kind.bytes) {
      fail(path, "tensor '" + name + "' spans " + std::to_string(entry.end - entry.begin) + " bytes but its shape needs " +
                     std::to_string(elements * entry.kind.bytes) + " (" + std::string(entry.kind.code) + ")");
    }
    entries.push_back(std::move(entry));
  }
  // The data must be covered exactly once: no overlap, no hole, nothing after the last tensor.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.begin < b.begin; });
  std::uint64_t covered = 0;
  for (const Entry& entry : entries) {
    if (entry.begin != covered) {
      fail(path, entry.begin < covered ? "tensor '" + entry.name + "' overlaps the one before it"
                                       : "a gap of " + std::to_string(entry.begin - covered) + " bytes before tensor '" +
                                             entry.name + "'");
    }
    covered = entry.end;
  }
  if (covered != data_size) fail(path, std::to_string(data_size - covered) + " bytes after the last tensor");

  for (const Entry& entry : entries) {
    const bool integer = entry.kind.stored == Stored::kI32 || entry.kind.stored == Stored::kI64;
    const DType dtype = integer ? DType::kInt32 : DType::kFloat32;
    Tensor host = Tensor::empty(Shape(std::span<const std::int64_t>(entry.shape)), Device::cpu(), dtype);
    const std::uint64_t at = 8 + header_size + entry.begin;
    const std::string what = "the data of '" + entry.name + "'";
    if (host.numel() == 0) {
      // nothing to read
    } else if (entry.kind.stored == Stored::kF32 || entry.kind.stored == Stored::kI32) {
      char* target = dtype == DType::kFloat32 ? reinterpret_cast<char*>(host.data<float>())
                                              : reinterpret_cast<char*>(host.data<std::int32_t>());
      read_at(path, file.get(), at, target, host.nbytes(), what);
    } else if (entry.kind.stored == Stored::kI64) {
      convert_to_int32(path, file.get(), at, entry, host.data<std::int32_t>(), static_cast<std::size_t>(host.numel()));
    } else {
      convert_to_float(path, file.get(), at, entry, host.data<float>(), static_cast<std::size_t>(host.numel()));
    }
    result.tensors.push_back({entry.name, device.is_cpu() ? host : host.to(device)});
    result.file_dtypes[entry.name] = entry.kind.code;
  }
  return result;
}

}  // namespace axon::io
