// The IDX loader: every element type against plain references, plain and gzip files (written
// here with zlib), and every damaged-file case, each error naming the file and what is wrong.
#include <zlib.h>

#include <bit>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>

#include "axon/data/idx.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using axon::DType;
using axon::FormatError;
using axon::Shape;
using axon::data::read_idx;
using axon_test::expect_error;
using Bytes = std::vector<unsigned char>;

using axon_test::TempDir;

void put_be(Bytes& out, std::uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<unsigned char>(value >> (8 * i)));
}

// An IDX file: the magic (00 00 type rank), big-endian uint32 dimensions, then `data`.
Bytes idx_file(unsigned char type, const std::vector<std::uint32_t>& dims, const Bytes& data) {
  Bytes out{0, 0, type, static_cast<unsigned char>(dims.size())};
  for (const auto dim : dims) put_be(out, dim, 4);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

fs::path write_plain(const fs::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  EXPECT_TRUE(out.good()) << path;
  return path;
}

fs::path write_gzip(const fs::path& path, const Bytes& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  EXPECT_NE(file, nullptr) << path;
  if (file == nullptr) return path;
  if (!bytes.empty()) {
    EXPECT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  }
  EXPECT_EQ(gzclose(file), Z_OK);
  return path;
}

Bytes read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

Bytes random_bytes(std::size_t n, std::uint32_t seed = axon_test::kDefaultSeed) {
  std::mt19937 rng(seed);
  Bytes out(n);
  for (auto& b : out) b = static_cast<unsigned char>(rng());
  return out;
}

std::vector<double> as_doubles(const std::vector<std::int32_t>& v) { return std::vector<double>(v.begin(), v.end()); }

// ---- values ----

TEST(ReadIdx, UbyteAsFloatAndAsInt) {
  TempDir dir;
  const Bytes data = random_bytes(2 * 3 * 4);
  const auto path = write_plain(dir / "u8.idx", idx_file(0x08, {2, 3, 4}, data));
  std::vector<double> want(data.begin(), data.end());
  const auto f = read_idx(path);
  EXPECT_EQ(f.shape(), (Shape{2, 3, 4}));
  EXPECT_TRUE(f.device().is_cpu());
  EXPECT_TRUE(axon_test::near_ref(f, want, 0.0, 0.0));
  const auto i = read_idx(path, DType::kInt32);
  ASSERT_EQ(i.dtype(), DType::kInt32);
  EXPECT_EQ(i.shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(as_doubles(i.to_int_vector()), want);
}

TEST(ReadIdx, SbyteIsSigned) {
  TempDir dir;
  const Bytes data{0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe};
  const auto path = write_plain(dir / "s8.idx", idx_file(0x09, {6}, data));
  EXPECT_EQ(read_idx(path, DType::kInt32).to_int_vector(), (std::vector<std::int32_t>{0, 1, 127, -128, -1, -2}));
  EXPECT_TRUE(axon_test::near_ref(read_idx(path), {0, 1, 127, -128, -1, -2}, 0.0, 0.0));
}

TEST(ReadIdx, Int16AndInt32AreBigEndian) {
  TempDir dir;
  const std::vector<std::int16_t> shorts{0, 1, -1, 258, -32768, 32767};
  Bytes data16;
  for (const auto v : shorts) put_be(data16, static_cast<std::uint16_t>(v), 2);
  const auto p16 = write_plain(dir / "i16.idx", idx_file(0x0B, {2, 3}, data16));
  EXPECT_EQ(read_idx(p16, DType::kInt32).to_int_vector(), std::vector<std::int32_t>(shorts.begin(), shorts.end()));

  const std::vector<std::int32_t> ints{0, 1, -1, 16909060, std::numeric_limits<std::int32_t>::min(),
                                       std::numeric_limits<std::int32_t>::max()};
  Bytes data32;
  for (const auto v : ints) put_be(data32, static_cast<std::uint32_t>(v), 4);
  const auto p32 = write_plain(dir / "i32.idx", idx_file(0x0C, {3, 2}, data32));
  const auto exact = read_idx(p32, DType::kInt32);
  EXPECT_EQ(exact.shape(), (Shape{3, 2}));
  EXPECT_EQ(exact.to_int_vector(), ints);
  std::vector<double> rounded;  // as float, large ints round as a cast does
  for (const auto v : ints) rounded.push_back(static_cast<float>(v));
  EXPECT_TRUE(axon_test::near_ref(read_idx(p32), rounded, 0.0, 0.0));
}

TEST(ReadIdx, Float32AndFloat64AreBigEndian) {
  TempDir dir;
  const auto floats = axon_test::random_floats(37, -1e3f, 1e3f);
  Bytes data32;
  for (const float v : floats) put_be(data32, std::bit_cast<std::uint32_t>(v), 4);
  const auto p32 = write_plain(dir / "f32.idx", idx_file(0x0D, {37}, data32));
  EXPECT_TRUE(axon_test::near_ref(read_idx(p32), axon_test::to_double(floats), 0.0, 0.0));

  std::mt19937 rng(5);
  std::uniform_real_distribution<double> dist(-1e5, 1e5);
  std::vector<double> doubles(24);
  for (auto& v : doubles) v = dist(rng);
  Bytes data64;
  for (const double v : doubles) put_be(data64, std::bit_cast<std::uint64_t>(v), 8);
  const auto p64 = write_plain(dir / "f64.idx", idx_file(0x0E, {2, 3, 4}, data64));
  const auto t = read_idx(p64);
  EXPECT_EQ(t.shape(), (Shape{2, 3, 4}));
  EXPECT_TRUE(axon_test::near_ref(t, axon_test::round_to_float(doubles), 0.0, 0.0));

  // Past float's range: +-inf, as an IEEE conversion gives; NaN stays NaN.
  const double inf = std::numeric_limits<double>::infinity();
  Bytes wide;
  for (const double v : {1e300, -1e300, inf, std::nan("")}) put_be(wide, std::bit_cast<std::uint64_t>(v), 8);
  const auto w = read_idx(write_plain(dir / "wide.idx", idx_file(0x0E, {4}, wide)));
  EXPECT_TRUE(axon_test::near_ref(w, {inf, -inf, inf, std::nan("")}, 0.0, 0.0));
}

TEST(ReadIdx, EveryRankFromOneToEightAndAZeroDimension) {
  TempDir dir;
  const auto eight = write_plain(dir / "r8.idx", idx_file(0x08, {1, 2, 1, 2, 1, 2, 1, 2}, random_bytes(16)));
  EXPECT_EQ(read_idx(eight).shape(), (Shape{1, 2, 1, 2, 1, 2, 1, 2}));
  // No rows at all is a valid (empty) file, however wide the other dimensions.
  const auto empty = write_plain(dir / "empty.idx", idx_file(0x0D, {0, 4000000000u}, {}));
  const auto t = read_idx(empty);
  EXPECT_EQ(t.shape(), (Shape{0, 4000000000}));
  EXPECT_EQ(t.numel(), 0);
}

TEST(ReadIdx, GzipReadsAsThePlainFileAcrossManyChunks) {
  TempDir dir;
  // 400 KB of float data: several of the reader's 64 KiB chunks.
  const auto floats = axon_test::random_floats(100 * 1000, -3.0f, 3.0f, 17);
  Bytes data;
  for (const float v : floats) put_be(data, std::bit_cast<std::uint32_t>(v), 4);
  const Bytes file = idx_file(0x0D, {100, 10, 100}, data);
  const auto plain = read_idx(write_plain(dir / "images.idx", file));
  const auto gzip = read_idx(write_gzip(dir / "images.idx.gz", file));
  EXPECT_EQ(gzip.shape(), (Shape{100, 10, 100}));
  EXPECT_TRUE(axon_test::near_ref(gzip, axon_test::to_double(floats), 0.0, 0.0));
  EXPECT_TRUE(axon_test::near_ref(plain, axon_test::to_double(floats), 0.0, 0.0));

  const Bytes labels{3, 1, 4, 1, 5, 9, 2, 6};
  const auto l = read_idx(write_gzip(dir / "labels.gz", idx_file(0x08, {8}, labels)), DType::kInt32);
  EXPECT_EQ(l.to_int_vector(), std::vector<std::int32_t>(labels.begin(), labels.end()));
}

TEST(ReadIdx, FashionMnistAsDebianShipsIt) {
  const fs::path dir = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(dir / "t10k-labels-idx1-ubyte.gz")) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const auto labels = read_idx(dir / "t10k-labels-idx1-ubyte.gz", DType::kInt32);
  ASSERT_EQ(labels.shape(), (Shape{10000}));
  std::vector<int> counts(10, 0);
  for (const auto label : labels.to_int_vector()) {
    ASSERT_TRUE(label >= 0 && label < 10) << label;
    ++counts[static_cast<std::size_t>(label)];
  }
  EXPECT_EQ(counts, std::vector<int>(10, 1000));
  const auto images = read_idx(dir / "t10k-images-idx3-ubyte.gz");
  EXPECT_EQ(images.shape(), (Shape{10000, 28, 28}));
}

// ---- errors: each names the file and what is wrong ----

TEST(ReadIdxErrors, CannotOpen) {
  TempDir dir;
  expect_error<FormatError>([&] { read_idx(dir / "missing.idx"); },
                            {"read_idx", "missing.idx", "cannot open", "No such file or directory"});
  fs::create_directories(dir / "folder.idx");
  expect_error<FormatError>([&] { read_idx(dir / "folder.idx"); }, {"folder.idx", "cannot open", "directory"});
}

TEST(ReadIdxErrors, BadMagicShowsTheBytesInHex) {
  TempDir dir;
  const auto path = write_plain(dir / "text.idx", {0x12, 0x34, 0xab, 0x78, 0, 0, 0, 1, 0});
  expect_error<FormatError>([&] { read_idx(path); }, {"text.idx", "bad magic 12 34 ab 78"});
  const auto tiny = write_plain(dir / "tiny.idx", {0, 0});
  expect_error<FormatError>([&] { read_idx(tiny); }, {"tiny.idx", "truncated at byte 2", "magic"});
  const auto empty = write_plain(dir / "empty.idx", {});
  expect_error<FormatError>([&] { read_idx(empty); }, {"empty.idx", "truncated at byte 0"});
}

TEST(ReadIdxErrors, UnsupportedTypeByte) {
  TempDir dir;
  const auto path = write_plain(dir / "type.idx", idx_file(0x07, {1}, {0}));
  expect_error<FormatError>([&] { read_idx(path); }, {"type.idx", "unsupported type byte 07"});
}

TEST(ReadIdxErrors, RankZeroOrAboveEight) {
  TempDir dir;
  const auto zero = write_plain(dir / "rank0.idx", {0, 0, 0x08, 0, 1});
  expect_error<FormatError>([&] { read_idx(zero); }, {"rank0.idx", "rank 0 is outside 1 to 8"});
  const auto nine = write_plain(dir / "rank9.idx", idx_file(0x08, {1, 1, 1, 1, 1, 1, 1, 1, 1}, {1}));
  expect_error<FormatError>([&] { read_idx(nine); }, {"rank9.idx", "rank 9 is outside 1 to 8"});
}

TEST(ReadIdxErrors, DimensionProductOverflows) {
  TempDir dir;
  const std::vector<std::uint32_t> dims(8, 0xffffffffu);
  const auto path = write_plain(dir / "overflow.idx", idx_file(0x08, dims, {}));
  expect_error<FormatError>([&] { read_idx(path); }, {"overflow.idx", "overflows 64 bits"});
}

// A 20-byte file claiming 2^31 x 2^31 elements must be refused at once, without allocating.
TEST(ReadIdxErrors, HugeClaimInATinyFileThrowsQuickly) {
  TempDir dir;
  const Bytes file = idx_file(0x08, {1u << 31, 1u << 31}, {1, 2, 3, 4, 5, 6, 7, 8});
  ASSERT_EQ(file.size(), 20u);
  const auto start = std::chrono::steady_clock::now();
  for (const auto& path : {write_plain(dir / "huge.idx", file), write_gzip(dir / "huge.idx.gz", file)}) {
    expect_error<FormatError>([&] { read_idx(path); },
                              {path.filename().string(), "more than the limit of 2^34",
                               "would need 18446744073709551616 bytes"});
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

// Just under the limit (2^34 bytes claimed) in a tiny file: a plain file is checked against its
// size, a gzip one is read in chunks, so both stop at the truncation without a 64 GiB buffer.
TEST(ReadIdxErrors, LargeClaimAtTheLimitIsTruncationNotAllocation) {
  TempDir dir;
  const Bytes file = idx_file(0x08, {1u << 17, 1u << 17}, random_bytes(1000));
  const auto start = std::chrono::steady_clock::now();
  expect_error<FormatError>([&] { read_idx(write_plain(dir / "claim.idx", file)); },
                            {"claim.idx", "truncated at byte 1012: expected 17179869184 bytes of data", "has 1000"});
  // A gzip stream of ~1 KB cannot expand to 16 GiB (deflate's ratio is at most 1032:1): refused
  // before anything is allocated or decompressed.
  expect_error<FormatError>([&] { read_idx(write_gzip(dir / "claim.idx.gz", file)); },
                            {"claim.idx.gz", "(gzip)", "declares 17179869184 bytes of data", "can hold"});
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST(ReadIdxErrors, TruncatedHeaderAndData) {
  TempDir dir;
  const auto header = write_plain(dir / "header.idx", {0, 0, 0x08, 2, 0, 0, 0, 2, 0});
  expect_error<FormatError>([&] { read_idx(header); },
                            {"header.idx", "truncated at byte 9: expected 2 dimensions"});
  const Bytes short_data = idx_file(0x08, {2, 3}, {1, 2, 3, 4});
  expect_error<FormatError>([&] { read_idx(write_plain(dir / "data.idx", short_data)); },
                            {"data.idx", "truncated at byte 16: expected 6 bytes of data"});
  expect_error<FormatError>([&] { read_idx(write_gzip(dir / "data.gz", short_data)); },
                            {"data.gz", "truncated at byte 16: expected 6 bytes of data"});
}

TEST(ReadIdxErrors, BytesAfterTheData) {
  TempDir dir;
  const Bytes file = idx_file(0x0B, {2}, {0, 1, 0, 2, 9, 9, 9});
  expect_error<FormatError>([&] { read_idx(write_plain(dir / "extra.idx", file)); },
                            {"extra.idx", "3 unexpected bytes after the data"});
  expect_error<FormatError>([&] { read_idx(write_gzip(dir / "extra.gz", file)); },
                            {"extra.gz", "3 unexpected bytes after the data"});
}

TEST(ReadIdxErrors, TruncatedGzipStream) {
  TempDir dir;
  // Random bytes do not compress, so half the .gz holds about half the data.
  const Bytes file = idx_file(0x08, {200, 1000}, random_bytes(200 * 1000, 3));
  const Bytes gz = read_bytes(write_gzip(dir / "full.gz", file));
  ASSERT_GT(gz.size(), 100000u);
  const auto half = write_plain(dir / "half.gz", Bytes(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(gz.size() / 2)));
  expect_error<FormatError>([&] { read_idx(half); },
                            {"half.gz", "truncated at byte", "expected 200000 bytes of data", "gzip stream ends early"});
  // All the data but not the 8-byte trailer (CRC and length).
  const auto no_trailer = write_plain(dir / "no_trailer.gz", Bytes(gz.begin(), gz.end() - 8));
  expect_error<FormatError>([&] { read_idx(no_trailer); }, {"no_trailer.gz", "truncated", "gzip stream ends early"});
}

TEST(ReadIdxErrors, CorruptGzipStream) {
  TempDir dir;
  const Bytes file = idx_file(0x08, {64, 64}, random_bytes(64 * 64, 4));
  const Bytes gz = read_bytes(write_gzip(dir / "good.gz", file));
  ASSERT_GT(gz.size(), 20u);
  Bytes bad_block = gz;
  bad_block[10] = 0xff;  // the first deflate block header after the 10-byte gzip header: type 3 is invalid
  expect_error<FormatError>([&] { read_idx(write_plain(dir / "block.gz", bad_block)); },
                            {"block.gz", "corrupt gzip stream", "invalid block type"});
  Bytes bad_crc = gz;
  bad_crc[gz.size() - 8] ^= 0x5a;  // the CRC-32 of the data
  expect_error<FormatError>([&] { read_idx(write_plain(dir / "crc.gz", bad_crc)); },
                            {"crc.gz", "corrupt gzip stream", "incorrect data check"});
}

TEST(ReadIdxErrors, Int32AskedOfFloatData) {
  TempDir dir;
  const auto f32 = write_plain(dir / "f32.idx", idx_file(0x0D, {1}, {0x3f, 0x80, 0, 0}));
  expect_error<FormatError>([&] { read_idx(f32, DType::kInt32); }, {"f32.idx", "int32 requested", "float32"});
  const auto f64 = write_plain(dir / "f64.idx", idx_file(0x0E, {1}, Bytes(8, 0)));
  expect_error<FormatError>([&] { read_idx(f64, DType::kInt32); }, {"f64.idx", "int32 requested", "float64"});
  expect_error<axon::ValueError>([&] { read_idx(f32, static_cast<DType>(7)); }, {"read_idx", "unknown dtype 7"});
}

}  // namespace
