#include "axon/data/csv.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>

#include "axon/error.h"

namespace axon::data {
namespace {

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

std::vector<std::string_view> split(std::string_view line, char delimiter) {
  std::vector<std::string_view> fields;
  for (std::size_t start = 0;;) {
    const auto end = line.find(delimiter, start);
    fields.push_back(trim(line.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start)));
    if (end == std::string_view::npos) return fields;
    start = end + 1;
  }
}

// The whole field as a number, or nothing. from_chars refuses a leading '+', which people write.
template <class T>
std::optional<T> parse(std::string_view field) {
  if (field.size() > 1 && field[0] == '+' && field[1] != '-') field.remove_prefix(1);
  T value{};
  const auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), value);
  if (end != field.data() + field.size() || field.empty()) return std::nullopt;
  if constexpr (std::is_floating_point_v<T>) {
    // A number past double's range: strtod gives +-inf (reported as non-finite) or a tiny value.
    if (error == std::errc::result_out_of_range) return std::strtod(std::string(field).c_str(), nullptr);
  }
  if (error != std::errc()) return std::nullopt;
  return value;
}

std::string join(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& name : names) {
    if (!text.empty()) text += ", ";
    text += name;
  }
  return text;
}

// The file's lines one at a time, numbered from 1, without line endings or blank lines
// (spreadsheets leave a blank last line; pandas skips blank lines too).
class LineReader {
 public:
  explicit LineReader(const std::filesystem::path& path) : name_(path.string()) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) fail("cannot open: it is a directory");
    errno = 0;
    in_.open(path, std::ios::binary);
    if (!in_) fail(std::string("cannot open: ") + (errno != 0 ? std::strerror(errno) : "unknown error"));
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw FormatError("axon::data::read_csv: " + name_ + ": " + what);
  }

  bool next() {
    while (std::getline(in_, line_)) {
      ++number_;
      if (!line_.empty() && line_.back() == '\r') line_.pop_back();
      if (number_ == 1 && line_.starts_with("\xEF\xBB\xBF")) line_.erase(0, 3);  // UTF-8 BOM
      if (!trim(line_).empty()) return true;
    }
    if (in_.bad()) fail("read error after line " + std::to_string(number_));
    return false;
  }
  const std::string& line() const { return line_; }
  std::int64_t number() const { return number_; }

 private:
  std::string name_;
  std::ifstream in_;
  std::string line_;
  std::int64_t number_ = 0;
};

void check_options(const CsvOptions& options) {
  const std::string where = "axon::data::read_csv: ";
  if (options.label_column.empty()) {
    throw ValueError(where + "CsvOptions::label_column is empty: name the label column");
  }
  if (options.delimiter == '\n' || options.delimiter == '\r') {
    throw ValueError(where + "the delimiter cannot be a line ending");
  }
  const auto& features = options.feature_columns;
  for (std::size_t i = 0; i < features.size(); ++i) {
    if (features[i] == options.label_column) {
      throw ValueError(where + "feature column '" + features[i] + "' is also the label column");
    }
    if (std::find(features.begin(), features.begin() + static_cast<std::ptrdiff_t>(i), features[i]) !=
        features.begin() + static_cast<std::ptrdiff_t>(i)) {
      throw ValueError(where + "feature column '" + features[i] + "' is listed twice");
    }
  }
}

struct Columns {
  std::vector<std::string> header;
  std::vector<std::size_t> features;  // indices into header, in the order of the output
  std::size_t label = 0;
};

Columns read_header(LineReader& in, const CsvOptions& options) {
  if (!in.next()) in.fail("empty file: no header line");
  Columns columns;
  for (const auto field : split(in.line(), options.delimiter)) columns.header.emplace_back(field);
  const auto& header = columns.header;
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (header[i].empty()) in.fail("column " + std::to_string(i + 1) + " of the header has no name");
    const auto first = std::find(header.begin(), header.end(), header[i]) - header.begin();
    if (static_cast<std::size_t>(first) != i) {
      in.fail("duplicate column name '" + header[i] + "' (columns " + std::to_string(first + 1) + " and " +
              std::to_string(i + 1) + ")");
    }
  }
  const auto index_of = [&](const std::string& name) {
    const auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end()) in.fail("unknown column '" + name + "'; the header has: " + join(header));
    return static_cast<std::size_t>(it - header.begin());
  };
  columns.label = index_of(options.label_column);
  for (const auto& name : options.feature_columns) columns.features.push_back(index_of(name));
  if (options.feature_columns.empty()) {
    for (std::size_t i = 0; i < header.size(); ++i) {
      if (i != columns.label) columns.features.push_back(i);
    }
  }
  if (columns.features.empty()) {
    in.fail("no feature columns: the header has only the label '" + options.label_column + "'");
  }
  return columns;
}

struct Rows {
  std::vector<float> features;
  std::vector<std::string> labels;
};

Rows read_rows(LineReader& in, const Columns& columns, char delimiter) {
  Rows rows;
  const auto& header = columns.header;
  while (in.next()) {
    const auto fields = split(in.line(), delimiter);
    const auto at = [&](std::size_t column) {
      return "at line " + std::to_string(in.number()) + " column " + std::to_string(column + 1) + " (" +
             header[column] + ")";
    };
    if (fields.size() != header.size()) {
      in.fail("line " + std::to_string(in.number()) + " has " + std::to_string(fields.size()) +
              " fields, the header has " + std::to_string(header.size()));
    }
    for (const std::size_t column : columns.features) {
      const auto value = parse<double>(fields[column]);
      if (!value) in.fail("non-numeric field '" + std::string(fields[column]) + "' " + at(column));
      // Finite as a double is not enough: the tensor holds floats.
      if (!std::isfinite(*value) || std::abs(*value) > std::numeric_limits<float>::max()) {
        in.fail("non-finite value '" + std::string(fields[column]) + "' " + at(column) + " (as float32)");
      }
      rows.features.push_back(static_cast<float>(*value));
    }
    if (fields[columns.label].empty()) in.fail("empty label " + at(columns.label));
    rows.labels.emplace_back(fields[columns.label]);
  }
  if (rows.labels.empty()) in.fail("no data rows after the header");
  return rows;
}

// The distinct labels, numerically ordered when all are integers ("2" before "10"), else as
// strings. Ties between spellings of one number ("1", "+1") are kept apart, ordered as strings.
std::vector<std::string> sorted_classes(const std::vector<std::string>& labels) {
  std::vector<std::string> classes(labels);
  std::sort(classes.begin(), classes.end());
  classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
  std::vector<std::pair<std::int64_t, std::string>> numbered;
  for (const auto& label : classes) {
    const auto value = parse<std::int64_t>(label);
    if (!value) return classes;
    numbered.emplace_back(*value, label);
  }
  std::sort(numbered.begin(), numbered.end());
  for (std::size_t i = 0; i < numbered.size(); ++i) classes[i] = numbered[i].second;
  return classes;
}

Tensor label_tensor(const std::vector<std::string>& labels, const std::vector<std::string>& classes, bool one_hot) {
  std::map<std::string_view, std::int32_t> index;
  for (std::size_t i = 0; i < classes.size(); ++i) index.emplace(classes[i], static_cast<std::int32_t>(i));
  const auto rows = static_cast<std::int64_t>(labels.size());
  if (!one_hot) {
    std::vector<std::int32_t> values;
    values.reserve(labels.size());
    for (const auto& label : labels) values.push_back(index.at(label));
    return Tensor::from_vector({rows}, std::span<const std::int32_t>(values));
  }
  std::vector<float> values(labels.size() * classes.size(), 0.0f);
  for (std::size_t r = 0; r < labels.size(); ++r) {
    values[r * classes.size() + static_cast<std::size_t>(index.at(labels[r]))] = 1.0f;
  }
  return Tensor::from_vector({rows, static_cast<std::int64_t>(classes.size())}, std::span<const float>(values));
}

}  // namespace

CsvData read_csv(const std::filesystem::path& path, const CsvOptions& options) {
  check_options(options);
  LineReader in(path);
  const Columns columns = read_header(in, options);
  const Rows rows = read_rows(in, columns, options.delimiter);

  CsvData data;
  for (const std::size_t column : columns.features) data.feature_names.push_back(columns.header[column]);
  const auto row_count = static_cast<std::int64_t>(rows.labels.size());
  data.features = Tensor::from_vector({row_count, static_cast<std::int64_t>(columns.features.size())},
                                      std::span<const float>(rows.features));
  data.classes = sorted_classes(rows.labels);
  data.labels = label_tensor(rows.labels, data.classes, options.one_hot);
  return data;
}

}  // namespace axon::data
