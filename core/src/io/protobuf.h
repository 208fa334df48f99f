#pragma once
// Protocol Buffers' wire format, as much of it as ONNX files need: our own small encoder and a
// bounded decoder, so that the library needs no protobuf runtime (as dlib chose).
//
// A message is a sequence of fields, each a key (field number << 3 | wire type) as a varint,
// then its value: a varint (0), 8 bytes (1), a length-delimited run of bytes (2: strings,
// nested messages, packed repeated numbers) or 4 bytes (5). Numbers are little-endian.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace axon::io::protobuf {

enum class WireType : std::uint8_t { kVarint = 0, kFixed64 = 1, kBytes = 2, kFixed32 = 5 };

// Builds one message. Nested messages are built in a Writer of their own and added whole.
class Writer {
 public:
  Writer& varint(int field, std::uint64_t value);
  // int32 and int64 fields (and enums): two's complement, 10 bytes for a negative value.
  Writer& int64(int field, std::int64_t value) { return varint(field, static_cast<std::uint64_t>(value)); }
  Writer& float32(int field, float value);
  Writer& bytes(int field, std::string_view value);
  Writer& message(int field, const Writer& nested) { return bytes(field, nested.data()); }
  // Packed repeated fields: one length-delimited run.
  Writer& packed_int64(int field, std::span<const std::int64_t> values);
  Writer& packed_float32(int field, std::span<const float> values);

  const std::string& data() const { return data_; }

 private:
  void key(int field, WireType type);
  void raw_varint(std::uint64_t value);
  std::string data_;
};

// One field as the reader found it.
struct Field {
  int number = 0;
  WireType type = WireType::kVarint;
  std::uint64_t varint = 0;  // kVarint
  std::uint64_t fixed = 0;   // kFixed64; kFixed32 in the low 32 bits
  std::string_view bytes;    // kBytes: a view into the buffer
  std::size_t offset = 0;    // of its key, from the start of the outermost buffer (the file)
  std::size_t bytes_offset = 0;  // kBytes: of its first byte, likewise

  float as_float32() const;
};

// Reads the fields of one message in order. Every length is checked against what is left of
// the message before it is used, so a damaged or hostile buffer gives a FormatError naming
// `source` and the byte offset, never a read past its end; the work is linear in the size.
class Reader {
 public:
  // `base`: the offset of `data` within the outermost buffer. `source` (the file's name) must
  // outlive the reader.
  Reader(std::string_view data, std::size_t base, const std::string& source)
      : data_(data), base_(base), source_(&source) {}

  // The next field, or false at the message's end.
  bool next(Field& field);
  // A nested message: a kBytes field read with the same source (FormatError for another type).
  Reader nested(const Field& field, const char* what) const;

  // Repeated numbers of a field given packed (kBytes) or one per field: appended to `out`.
  void int64s(const Field& field, std::vector<std::int64_t>& out, const char* what) const;
  void float32s(const Field& field, std::vector<float>& out, const char* what) const;
  // The field as a varint / a string, FormatError naming `what` for another wire type.
  std::int64_t int64(const Field& field, const char* what) const;
  std::string_view string(const Field& field, const char* what) const;

  [[noreturn]] void fail(std::size_t offset, const std::string& what) const;

 private:
  std::string_view data_;
  std::size_t base_;
  std::size_t at_ = 0;
  const std::string* source_;
};

}  // namespace axon::io::protobuf
