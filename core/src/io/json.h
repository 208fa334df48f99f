#pragma once
// A small JSON reader for file headers (safetensors): objects, arrays, strings, numbers, true,
// false, null. Bounded: nesting depth, and every string and container is limited by the input's
// size, so a hostile header cannot make it recurse deeply or allocate much. Errors are
// FormatError with the byte offset; the caller adds the file's name.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace axon::io::json {

struct Value;
using Object = std::vector<std::pair<std::string, Value>>;  // in file order; duplicates refused
using Array = std::vector<Value>;

struct Value {
  std::variant<std::nullptr_t, bool, double, std::string, std::shared_ptr<Array>, std::shared_ptr<Object>> data;

  bool is_object() const { return std::holds_alternative<std::shared_ptr<Object>>(data); }
  bool is_array() const { return std::holds_alternative<std::shared_ptr<Array>>(data); }
  bool is_string() const { return std::holds_alternative<std::string>(data); }
  bool is_number() const { return std::holds_alternative<double>(data); }
  const Object& object() const { return *std::get<std::shared_ptr<Object>>(data); }
  const Array& array() const { return *std::get<std::shared_ptr<Array>>(data); }
  const std::string& string() const { return std::get<std::string>(data); }
  double number() const { return std::get<double>(data); }
};

// Parses a whole document (trailing spaces allowed, anything else after it is an error).
Value parse(std::string_view text);

// Writes a string as a JSON string literal (quotes and escapes).
std::string quote(std::string_view text);

}  // namespace axon::io::json
