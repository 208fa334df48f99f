#include "axon/data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "axon/error.h"

namespace axon::data {
namespace {

// 2^34 elements is 64 GiB as float32: past any real data set, far short of what a damaged
// header can claim (eight dimensions of 2^32).
constexpr std::uint64_t kMaxElements = std::uint64_t{1} << 34;
constexpr std::size_t kChunkBytes = std::size_t{1} << 16;
// Deflate never expands more than 1032:1, so a gzip file of C bytes holds at most 1032 C bytes.
constexpr std::uint64_t kMaxDeflateRatio = 1032;
// Bytes after the data are counted up to this, so a gzip bomb appended to a file ends quickly.
constexpr std::uint64_t kMaxCountedExtra = std::uint64_t{1} << 30;

struct ElementType { std::uint8_t code; const char* name; std::size_t size; bool integer; };
constexpr std::array<ElementType, 6> kTypes{{{0x08, "ubyte", 1, true}, {0x09, "sbyte", 1, true},
                                             {0x0B, "int16", 2, true}, {0x0C, "int32", 4, true},
                                             {0x0D, "float32", 4, false}, {0x0E, "float64", 8, false}}};

const ElementType* find_type(std::uint8_t code) {
  const auto* it = std::find_if(kTypes.begin(), kTypes.end(), [&](const auto& t) { return t.code == code; });
  return it == kTypes.end() ? nullptr : it;
}

std::string hex(std::span<const unsigned char> bytes) {
  std::string text;
  char digits[4];
  for (const unsigned char b : bytes) {
    text.append(digits, std::snprintf(digits, sizeof digits, text.empty() ? "%02x" : " %02x", b));
  }
  return text;
}

template <class U>
U load_be(const unsigned char* p) {
  U value = 0;
  for (std::size_t i = 0; i < sizeof(U); ++i) value = static_cast<U>((value << 8) | p[i]);
  return value;
}

// The file's bytes, decompressed when it is gzip (zlib reads a plain file as it is). Every
// failure becomes one FormatError naming the file.
class IdxStream {
 public:
  explicit IdxStream(const std::filesystem::path& path) : name_(path.string()) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) fail("cannot open: it is a directory");
    errno = 0;
    file_.reset(gzopen(name_.c_str(), "rb"));
    if (!file_) fail(std::string("cannot open: ") + (errno != 0 ? std::strerror(errno) : "out of memory"));
    gzbuffer(file_.get(), static_cast<unsigned>(kChunkBytes));  // before the first read, or ignored
    gzip_ = gzdirect(file_.get()) == 0;
    const auto size = std::filesystem::file_size(path, ec);
    if (!ec) file_size_ = size;
  }

  bool gzip() const { return gzip_; }
  std::optional<std::uint64_t> file_size() const { return file_size_; }  // none for a pipe

  [[noreturn]] void fail(const std::string& what) const {
    throw FormatError("axon::data::read_idx: " + name_ + (gzip_ ? " (gzip)" : "") + ": " + what);
  }

  // Up to n <= kChunkBytes bytes; fewer only where the data ends. A damaged gzip stream throws.
  std::size_t read(unsigned char* dst, std::size_t n) {
    const int r = gzread(file_.get(), dst, static_cast<unsigned>(n));  // short only at the end or on error
    if (r < static_cast<int>(n)) check_stream();
    const auto got = static_cast<std::size_t>(std::max(r, 0));
    position_ += got;
    return got;
  }

  // Exactly n bytes, or "truncated at byte N: expected <what>".
  void read_exact(unsigned char* dst, std::size_t n, const std::string& what) {
    if (read(dst, n) < n) fail("truncated at byte " + std::to_string(position_) + ": expected " + what + early_end());
  }

  // Nothing may follow the data, and a gzip stream must end with its checksum intact.
  void expect_end() {
    std::vector<unsigned char> buffer(kChunkBytes);
    std::uint64_t extra = 0;
    while (extra < kMaxCountedExtra) {
      const std::size_t got = read(buffer.data(), buffer.size());
      extra += got;
      if (got < buffer.size()) break;
    }
    if (ended_early_) fail("truncated at byte " + std::to_string(position_) + ", after the data" + early_end());
    const std::string at_least = extra >= kMaxCountedExtra ? "at least " : "";
    if (extra > 0) fail(at_least + std::to_string(extra) + " unexpected bytes after the data");
  }

 private:
  // After a short or failed gzread: a clean end, a gzip stream cut short (remembered: the caller
  // reports truncation), or a read error or a damaged stream (thrown here).
  void check_stream() {
    int code = Z_OK;
    const char* message = gzerror(file_.get(), &code);
    if (code == Z_OK || code == Z_BUF_ERROR) {  // Z_BUF_ERROR: the stream was cut short
      ended_early_ = ended_early_ || code == Z_BUF_ERROR;
      return;
    }
    std::string text = message != nullptr ? message : "unknown error";
    if (text.starts_with(name_ + ": ")) text.erase(0, name_.size() + 2);  // zlib prefixes the path
    if (code == Z_ERRNO) fail("cannot read: " + text);
    fail("corrupt gzip stream: " + text);
  }

  std::string early_end() const {
    return ended_early_ ? " (the gzip stream ends early: unexpected end of file)" : "";
  }

  std::string name_;  // the path as messages show it (and zlib prefixes its own)
  std::unique_ptr<gzFile_s, int (*)(gzFile)> file_{nullptr, &gzclose};
  std::optional<std::uint64_t> file_size_;
  std::uint64_t position_ = 0;  // bytes read, after decompression
  bool gzip_ = false;
  bool ended_early_ = false;
};

struct Header {
  const ElementType* type = nullptr;
  Shape shape;
  std::uint64_t elements = 0, bytes = 0;  // bytes: the header's own size, magic + dimensions
};

// "would need N bytes": the product can pass 2^64, which a long double (64-bit mantissa, scaled
// by a power of two) still holds exactly.
std::string bytes_needed(std::uint64_t elements, DType as) {
  char text[64];
  std::snprintf(text, sizeof text, "%.0Lf",
                static_cast<long double>(elements) * static_cast<long double>(dtype_size(as)));
  return text;
}

Header read_header(IdxStream& in, DType as) {
  std::array<unsigned char, 4> magic{};
  in.read_exact(magic.data(), magic.size(), "a 4-byte magic number");
  if (magic[0] != 0 || magic[1] != 0) {
    in.fail("bad magic " + hex(magic) + ": an IDX file starts with 00 00, a type byte and a rank byte");
  }
  Header header;
  header.type = find_type(magic[2]);
  const std::string type_byte = hex(std::span(magic).subspan(2, 1));
  if (header.type == nullptr) {
    in.fail("unsupported type byte " + type_byte + " in magic " + hex(magic) +
            " (IDX types: 08 ubyte, 09 sbyte, 0b int16, 0c int32, 0d float32, 0e float64)");
  }
  if (as == DType::kInt32 && !header.type->integer) {
    in.fail("int32 requested, but the data is " + std::string(header.type->name) + " (type byte " + type_byte +
            "); read it as float32");
  }
  const int rank = magic[3];
  if (rank == 0 || rank > Shape::kMaxRank) {
    in.fail("rank " + std::to_string(rank) + " is outside 1 to " + std::to_string(Shape::kMaxRank));
  }
  std::array<unsigned char, 4 * Shape::kMaxRank> raw{};
  const auto raw_bytes = static_cast<std::size_t>(4 * rank);
  in.read_exact(raw.data(), raw_bytes, std::to_string(rank) + " dimensions of 4 bytes each");

  std::array<std::int64_t, Shape::kMaxRank> dims{};
  // In int64, left to right, as Shape counts: a running product that overflows is refused even
  // when a later dimension is 0 (no tensor can have that shape).
  std::int64_t count = 1;
  bool overflow = false;
  for (int axis = 0; axis < rank; ++axis) {
    const std::int64_t dim = load_be<std::uint32_t>(raw.data() + 4 * axis);
    dims[static_cast<std::size_t>(axis)] = dim;
    overflow = __builtin_mul_overflow(count, dim, &count) || overflow;
  }
  header.shape = Shape(std::span<const std::int64_t>(dims.data(), static_cast<std::size_t>(rank)));
  if (overflow) in.fail("dimensions " + header.shape.str() + ": the element count overflows 64 bits");
  const auto elements = static_cast<std::uint64_t>(count);
  if (elements > kMaxElements) {
    in.fail("dimensions " + header.shape.str() + " hold " + std::to_string(elements) +
            " elements, more than the limit of 2^34: would need " + bytes_needed(elements, as) + " bytes");
  }
  header.elements = elements;
  header.bytes = magic.size() + raw_bytes;
  return header;
}

// double to float, +-inf past float's range (where a plain cast is undefined behaviour).
float narrow(double value) {
  constexpr double kMax = std::numeric_limits<float>::max();
  constexpr float kInf = std::numeric_limits<float>::infinity();
  if (value > kMax || value < -kMax) return value > 0 ? kInf : -kInf;
  return static_cast<float>(value);
}

// Converts `count` big-endian elements of the file's type to Out.
template <class Out>
void decode(const ElementType& type, const unsigned char* in, std::size_t count, Out* out) {
  using P = const unsigned char*;
  const auto each = [&](auto load) {
    for (std::size_t i = 0; i < count; ++i) out[i] = static_cast<Out>(load(in + i * type.size));
  };
  switch (type.code) {
    case 0x08: each([](P p) { return *p; }); break;
    case 0x09: each([](P p) { return static_cast<std::int8_t>(*p); }); break;
    case 0x0B: each([](P p) { return static_cast<std::int16_t>(load_be<std::uint16_t>(p)); }); break;
    case 0x0C: each([](P p) { return static_cast<std::int32_t>(load_be<std::uint32_t>(p)); }); break;
  }
  // Float data only ever becomes float: read_header refused int32 for it.
  if constexpr (std::is_same_v<Out, float>) {
    if (type.code == 0x0D) each([](P p) { return std::bit_cast<float>(load_be<std::uint32_t>(p)); });
    if (type.code == 0x0E) each([](P p) { return narrow(std::bit_cast<double>(load_be<std::uint64_t>(p))); });
  }
}

template <class Out>
Tensor read_data(IdxStream& in, const Header& header, const IdxOptions& options) {
  const std::uint64_t data_bytes = header.elements * header.type->size;  // <= 2^37: no overflow
  const std::uint64_t out_bytes = header.elements * sizeof(Out);
  const std::string expected = std::to_string(data_bytes) + " bytes of data after the " +
                               std::to_string(header.bytes) + "-byte header";
  // Checked against what the file can hold before the output is allocated: a plain file's size
  // exactly; a gzip stream's compressed size times deflate's greatest ratio, and the caller's
  // limit (its true length shows only as it is read).
  const auto size = in.file_size();
  if (!in.gzip() && size) {
    const std::uint64_t total = header.bytes + data_bytes;
    if (*size < total) {
      in.fail("truncated at byte " + std::to_string(*size) + ": expected " + expected + ", the file has " +
              std::to_string(*size - header.bytes));
    }
    if (*size > total) in.fail(std::to_string(*size - total) + " unexpected bytes after the data");
  } else {
    if (size && data_bytes > kMaxDeflateRatio * *size) {
      in.fail("the header declares " + expected + ", more than a gzip stream of " + std::to_string(*size) +
              " bytes can hold (deflate expands at most " + std::to_string(kMaxDeflateRatio) + ":1)");
    }
    if (out_bytes > options.max_bytes) {
      in.fail("the header declares " + std::to_string(header.elements) + " elements (" + std::to_string(out_bytes) +
              " bytes as " + std::string(dtype_name(dtype_of<Out>())) + "), more than IdxOptions::max_bytes (" +
              std::to_string(options.max_bytes) + "): raise the limit to read it");
    }
  }
  const Tensor out = Tensor::empty(header.shape, Device::cpu(), dtype_of<Out>());
  Out* dst = out.data<Out>();
  std::vector<unsigned char> chunk(kChunkBytes);
  const std::size_t per_chunk = kChunkBytes / header.type->size;
  for (std::uint64_t done = 0; done < header.elements;) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(per_chunk, header.elements - done));
    in.read_exact(chunk.data(), n * header.type->size, expected);
    decode(*header.type, chunk.data(), n, dst + done);
    done += n;
  }
  in.expect_end();
  return out;
}

}  // namespace

Tensor read_idx(const std::filesystem::path& path, const IdxOptions& options) {
  const DType as = options.as;
  if (as != DType::kFloat32 && as != DType::kInt32) {
    throw ValueError("axon::data::read_idx: unknown dtype " + std::to_string(static_cast<int>(as)));
  }
  IdxStream in(path);
  const Header header = read_header(in, as);
  return as == DType::kInt32 ? read_data<std::int32_t>(in, header, options) : read_data<float>(in, header, options);
}

Tensor read_idx(const std::filesystem::path& path, DType as) { return read_idx(path, IdxOptions{.as = as}); }

}  // namespace axon::data
