#include "core/src/io/json.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cmath>

#include "axon/error.h"
#include "core/src/io/utf8.h"

namespace axon::io::json {

namespace {

constexpr int kMaxDepth = 64;
// The tree costs about 80 bytes a value beside the text's own strings, so the count of values
// bounds its memory (~170 MB here) whatever the text: a 100 MiB header of "0," items would
// otherwise build a tree thirty times its size. Real headers hold tens per tensor.
constexpr std::size_t kMaxValues = std::size_t{1} << 21;

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Value document() {
    Value value = parse_value(0);
    skip_spaces();
    if (at_ < text_.size()) fail("unexpected text after the JSON value");
    return value;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw FormatError("invalid JSON at byte " + std::to_string(at_) + ": " + what);
  }

  void skip_spaces() {
    while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\t' || text_[at_] == '\n' || text_[at_] == '\r')) {
      ++at_;
    }
  }

  char peek() {
    skip_spaces();
    if (at_ >= text_.size()) fail("unexpected end");
    return text_[at_];
  }

  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++at_;
  }

  Value parse_value(int depth) {
    if (depth > kMaxDepth) fail("nested deeper than " + std::to_string(kMaxDepth));
    if (++values_ > kMaxValues) fail("more than " + std::to_string(kMaxValues) + " values");
    const char c = peek();
    if (c == '{') return parse_object(depth);
    if (c == '[') return parse_array(depth);
    if (c == '"') return Value{parse_string()};
    if (c == 't') return literal("true", Value{true});
    if (c == 'f') return literal("false", Value{false});
    if (c == 'n') return literal("null", Value{nullptr});
    return Value{parse_number()};
  }

  Value literal(std::string_view word, Value value) {
    if (text_.substr(at_, word.size()) != word) fail("unknown literal");
    at_ += word.size();
    return value;
  }

  Value parse_object(int depth) {
    const std::size_t start = at_;
    expect('{');
    auto object = std::make_shared<Object>();
    if (peek() == '}') {
      ++at_;
      return Value{object};
    }
    while (true) {
      if (peek() != '"') fail("expected a key string");
      std::string key = parse_string();
      expect(':');
      object->emplace_back(std::move(key), parse_value(depth + 1));
      const char next = peek();
      ++at_;
      if (next == '}') break;
      if (next != ',') fail("expected ',' or '}'");
    }
    // Duplicate keys, found by sorting (n log n whatever the keys: a check of each key against
    // the ones before took 92 s for 200k keys).
    std::vector<std::string_view> keys;
    keys.reserve(object->size());
    for (const auto& entry : *object) keys.emplace_back(entry.first);
    std::sort(keys.begin(), keys.end());
    const auto twice = std::adjacent_find(keys.begin(), keys.end());
    if (twice != keys.end()) {
      at_ = start;
      fail("duplicate key \"" + std::string(*twice) + "\" in the object");
    }
    return Value{object};
  }

  Value parse_array(int depth) {
    expect('[');
    auto array = std::make_shared<Array>();
    if (peek() == ']') {
      ++at_;
      return Value{array};
    }
    while (true) {
      array->push_back(parse_value(depth + 1));
      const char next = peek();
      ++at_;
      if (next == ']') return Value{array};
      if (next != ',') fail("expected ',' or ']'");
    }
  }

  static void append_utf8(std::string& out, std::uint32_t code) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xC0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    }
  }

  std::uint32_t hex4() {
    if (at_ + 4 > text_.size()) fail("truncated \\u escape");
    std::uint32_t value = 0;
    const auto [end, error] = std::from_chars(text_.data() + at_, text_.data() + at_ + 4, value, 16);
    if (error != std::errc() || end != text_.data() + at_ + 4) fail("bad \\u escape");
    at_ += 4;
    return value;
  }

  // Validates one UTF-8 sequence starting at at_ (strictly: utf8.h) and appends it.
  void copy_utf8(std::string& out) {
    const std::size_t length = utf8_sequence_length(text_, at_);
    if (length == 0) fail("invalid UTF-8");
    out.append(text_.substr(at_, length));
    at_ += length;
  }

  std::string parse_string() {
    expect('"');
    std::string out;
    while (true) {
      if (at_ >= text_.size()) fail("unterminated string");
      const char c = text_[at_];
      if (c == '"') {
        ++at_;
        return out;
      }
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
      if (c != '\\') {
        copy_utf8(out);
        continue;
      }
      if (++at_ >= text_.size()) fail("unterminated escape");
      const char e = text_[at_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          std::uint32_t code = hex4();
          if (code >= 0xD800 && code < 0xDC00) {  // a surrogate pair
            if (text_.substr(at_, 2) != "\\u") fail("lone surrogate");
            at_ += 2;
            const std::uint32_t low = hex4();
            if (low < 0xDC00 || low >= 0xE000) fail("bad surrogate pair");
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
          } else if (code >= 0xDC00 && code < 0xE000) {
            fail("lone surrogate");
          }
          append_utf8(out, code);
          break;
        }
        default: fail("unknown escape");
      }
    }
  }

  double parse_number() {
    const std::size_t begin = at_;
    while (at_ < text_.size() && (std::isdigit(static_cast<unsigned char>(text_[at_])) || text_[at_] == '-' ||
                                  text_[at_] == '+' || text_[at_] == '.' || text_[at_] == 'e' || text_[at_] == 'E')) {
      ++at_;
    }
    if (begin == at_) fail("expected a value");
    double value = 0;
    const auto [end, error] = std::from_chars(text_.data() + begin, text_.data() + at_, value);
    if (error != std::errc() || end != text_.data() + at_ || !std::isfinite(value)) {
      at_ = begin;
      fail("bad number");
    }
    return value;
  }

  std::string_view text_;
  std::size_t at_ = 0;
  std::size_t values_ = 0;
};

}  // namespace

Value parse(std::string_view text) { return Parser(text).document(); }

std::string quote(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof(escaped), "\\u%04x", static_cast<unsigned>(c));
          out += escaped;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

}  // namespace axon::io::json
