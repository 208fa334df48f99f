#include "core/src/io/protobuf.h"

#include <bit>
#include <cstring>

#include "axon/error.h"

namespace axon::io::protobuf {

static_assert(std::endian::native == std::endian::little, "the wire format's numbers are little-endian");

// ---- Writer ----

void Writer::raw_varint(std::uint64_t value) {
  while (value >= 0x80) {
    data_.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  data_.push_back(static_cast<char>(value));
}

void Writer::key(int field, WireType type) {
  raw_varint(static_cast<std::uint64_t>(field) << 3 | static_cast<std::uint64_t>(type));
}

Writer& Writer::varint(int field, std::uint64_t value) {
  key(field, WireType::kVarint);
  raw_varint(value);
  return *this;
}

Writer& Writer::float32(int field, float value) {
  key(field, WireType::kFixed32);
  char bytes[4];
  std::memcpy(bytes, &value, 4);
  data_.append(bytes, 4);
  return *this;
}

Writer& Writer::bytes(int field, std::string_view value) {
  key(field, WireType::kBytes);
  raw_varint(value.size());
  data_.append(value);
  return *this;
}

Writer& Writer::packed_int64(int field, std::span<const std::int64_t> values) {
  Writer run;
  for (const std::int64_t v : values) run.raw_varint(static_cast<std::uint64_t>(v));
  return bytes(field, run.data());
}

Writer& Writer::packed_float32(int field, std::span<const float> values) {
  return bytes(field, std::string_view(reinterpret_cast<const char*>(values.data()), values.size_bytes()));
}

// ---- Reader ----

float Field::as_float32() const {
  const auto bits = static_cast<std::uint32_t>(fixed);
  float value;
  std::memcpy(&value, &bits, 4);
  return value;
}

void Reader::fail(std::size_t offset, const std::string& what) const {
  throw FormatError(*source_ + ": byte " + std::to_string(offset) + ": " + what);
}

namespace {

// A varint at data[at], advancing `at`; false when it runs past the end or over 10 bytes.
bool read_varint(std::string_view data, std::size_t& at, std::uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (at >= data.size()) return false;
    const auto byte = static_cast<std::uint8_t>(data[at++]);
    value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

}  // namespace

bool Reader::next(Field& field) {
  if (at_ >= data_.size()) return false;
  field = Field{};
  field.offset = base_ + at_;
  std::uint64_t key = 0;
  if (!read_varint(data_, at_, key)) fail(field.offset, "a field key runs past the end of its message");
  if (key >> 3 == 0 || key >> 3 > (1u << 29) - 1) fail(field.offset, "field number " + std::to_string(key >> 3) + " is invalid");
  field.number = static_cast<int>(key >> 3);
  const auto type = static_cast<std::uint8_t>(key & 7);
  const std::size_t left = data_.size() - at_;
  switch (type) {
    case 0:
      field.type = WireType::kVarint;
      if (!read_varint(data_, at_, field.varint)) fail(field.offset, "a varint runs past the end of its message");
      break;
    case 1:
    case 5: {
      const std::size_t size = type == 1 ? 8 : 4;
      if (left < size) fail(field.offset, "a " + std::to_string(size * 8) + "-bit value runs past the end of its message");
      field.type = type == 1 ? WireType::kFixed64 : WireType::kFixed32;
      std::memcpy(&field.fixed, data_.data() + at_, size);
      at_ += size;
      break;
    }
    case 2: {
      field.type = WireType::kBytes;
      std::uint64_t size = 0;
      if (!read_varint(data_, at_, size)) fail(field.offset, "a length runs past the end of its message");
      if (size > data_.size() - at_) {
        fail(field.offset, "field " + std::to_string(field.number) + " claims " + std::to_string(size) +
                               " bytes, its message has " + std::to_string(data_.size() - at_) + " left");
      }
      field.bytes_offset = base_ + at_;
      field.bytes = data_.substr(at_, static_cast<std::size_t>(size));
      at_ += static_cast<std::size_t>(size);
      break;
    }
    default:
      fail(field.offset, "wire type " + std::to_string(type) + " (groups or unknown) is not supported");
  }
  return true;
}

Reader Reader::nested(const Field& field, const char* what) const {
  if (field.type != WireType::kBytes) fail(field.offset, std::string(what) + " is not a message");
  return Reader(field.bytes, field.bytes_offset, *source_);
}

std::int64_t Reader::int64(const Field& field, const char* what) const {
  if (field.type != WireType::kVarint) fail(field.offset, std::string(what) + " is not an integer");
  return static_cast<std::int64_t>(field.varint);
}

std::string_view Reader::string(const Field& field, const char* what) const {
  if (field.type != WireType::kBytes) fail(field.offset, std::string(what) + " is not a string");
  return field.bytes;
}

void Reader::int64s(const Field& field, std::vector<std::int64_t>& out, const char* what) const {
  if (field.type == WireType::kVarint) {
    out.push_back(static_cast<std::int64_t>(field.varint));
    return;
  }
  if (field.type != WireType::kBytes) fail(field.offset, std::string(what) + " is not a list of integers");
  std::size_t at = 0;
  while (at < field.bytes.size()) {
    std::uint64_t value = 0;
    if (!read_varint(field.bytes, at, value)) fail(field.bytes_offset + at, std::string(what) + ": a varint runs past its list");
    out.push_back(static_cast<std::int64_t>(value));
  }
}

void Reader::float32s(const Field& field, std::vector<float>& out, const char* what) const {
  if (field.type == WireType::kFixed32) {
    out.push_back(field.as_float32());
    return;
  }
  if (field.type != WireType::kBytes || field.bytes.size() % 4 != 0) {
    fail(field.offset, std::string(what) + " is not a list of 32-bit floats");
  }
  if (field.bytes.empty()) return;  // (memcpy must not see the null of an empty run)
  const std::size_t first = out.size();
  out.resize(first + field.bytes.size() / 4);
  std::memcpy(out.data() + first, field.bytes.data(), field.bytes.size());
}

}  // namespace axon::io::protobuf
