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

// A field as an error message shows it: a hostile file's field may be megabytes long.
std::string shown(std::string_view field) {
  constexpr std::size_t kMost = 64;
  if (field.size() <= kMost) return std::string(field);
  return std::string(field.substr(0, kMost)) + "... (" + std::to_string(field.size()) + " bytes)";
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
// (spreadsheets leave a blank last line; pandas skips blank lines too). A line may be at most
// `max_line_bytes` long: the reader holds one line, never more.
class LineReader {
 public:
  LineReader(const std::filesystem::path& path, std::size_t max_line_bytes)
      : name_(path.string()), max_line_bytes_(max_line_bytes) {
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
    while (read_line()) {
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
  // The next line into line_ (false at the end), in blocks up to its line break.
  bool read_line() {
    line_.clear();
    bool any = false;
    while (true) {
      if (at_ == filled_) {
        in_.read(block_.data(), static_cast<std::streamsize>(block_.size()));
        filled_ = static_cast<std::size_t>(in_.gcount());
        at_ = 0;
        if (filled_ == 0) return any;
      }
      const char* start = block_.data() + at_;
      const auto* newline = static_cast<const char*>(std::memchr(start, '\n', filled_ - at_));
      const std::size_t length = newline != nullptr ? static_cast<std::size_t>(newline - start) : filled_ - at_;
      if (line_.size() + length > max_line_bytes_) {
        fail("line " + std::to_string(number_ + 1) + " is longer than " + std::to_string(max_line_bytes_) +
             " bytes (CsvOptions::max_line_bytes)");
      }
      line_.append(start, length);
      any = true;
      at_ += length;
      if (newline != nullptr) {
        ++at_;
        return true;
      }
    }
  }

  std::string name_;
  std::size_t max_line_bytes_;
  std::ifstream in_;
  std::vector<char> block_ = std::vector<char>(std::size_t{1} << 16);
  std::size_t at_ = 0, filled_ = 0;
  std::string line_;
  std::int64_t number_ = 0;
};

// The first name that appears twice, by sorting (n log n: a check of each name against those
// before it took 18 s for 100k columns).
template <class Names>
std::optional<std::string_view> first_duplicate(const Names& names) {
  std::vector<std::string_view> sorted(names.begin(), names.end());
  std::sort(sorted.begin(), sorted.end());
  const auto twice = std::adjacent_find(sorted.begin(), sorted.end());
  if (twice == sorted.end()) return std::nullopt;
  return *twice;
}

void check_options(const CsvOptions& options) {
  const std::string where = "axon::data::read_csv: ";
  if (options.label_column.empty()) {
    throw ValueError(where + "CsvOptions::label_column is empty: name the label column");
  }
  if (options.delimiter == '\n' || options.delimiter == '\r') {
    throw ValueError(where + "the delimiter cannot be a line ending");
  }
  if (options.max_line_bytes < 1) throw ValueError(where + "CsvOptions::max_line_bytes must be >= 1");
  const auto& features = options.feature_columns;
  for (const std::string& feature : features) {
    if (feature == options.label_column) {
      throw ValueError(where + "feature column '" + feature + "' is also the label column");
    }
  }
  if (const auto twice = first_duplicate(features)) {
    throw ValueError(where + "feature column '" + std::string(*twice) + "' is listed twice");
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
  }
  // Names to columns through one sorted table (n log n, however many columns are asked for).
  std::map<std::string_view, std::size_t> column_of;
  for (std::size_t i = 0; i < header.size(); ++i) {
    const auto [it, added] = column_of.emplace(header[i], i);
    if (!added) {
      in.fail("duplicate column name '" + shown(header[i]) + "' (columns " + std::to_string(it->second + 1) + " and " +
              std::to_string(i + 1) + ")");
    }
  }
  const auto index_of = [&](const std::string& name) {
    const auto it = column_of.find(name);
    if (it == column_of.end()) {
      // The header in the message, but not all of a huge one.
      std::string names = join(header);
      if (names.size() > 200) names = names.substr(0, 200) + "... (" + std::to_string(header.size()) + " columns)";
      in.fail("unknown column '" + shown(name) + "'; the header has: " + names);
    }
    return it->second;
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
             shown(header[column]) + ")";
    };
    if (fields.size() != header.size()) {
      in.fail("line " + std::to_string(in.number()) + " has " + std::to_string(fields.size()) +
              " fields, the header has " + std::to_string(header.size()));
    }
    for (const std::size_t column : columns.features) {
      const auto value = parse<double>(fields[column]);
      if (!value) in.fail("non-numeric field '" + shown(fields[column]) + "' " + at(column));
      // Finite as a double is not enough: the tensor holds floats.
      if (!std::isfinite(*value) || std::abs(*value) > std::numeric_limits<float>::max()) {
        in.fail("non-finite value '" + shown(fields[column]) + "' " + at(column) + " (as float32)");
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

Tensor label_tensor(const std::vector<std::string>& labels, const std::vector<std::string>& classes,
                    const CsvOptions& options, const LineReader& in) {
  std::map<std::string_view, std::int32_t> index;
  for (std::size_t i = 0; i < classes.size(); ++i) index.emplace(classes[i], static_cast<std::int32_t>(i));
  const auto rows = static_cast<std::int64_t>(labels.size());
  if (!options.one_hot) {
    std::vector<std::int32_t> values;
    values.reserve(labels.size());
    for (const auto& label : labels) values.push_back(index.at(label));
    return Tensor::from_vector({rows}, std::span<const std::int32_t>(values));
  }
  const auto columns = static_cast<std::int64_t>(classes.size());
  const long double bytes = static_cast<long double>(rows) * static_cast<long double>(columns) * 4.0L;
  if (bytes > static_cast<long double>(options.max_one_hot_bytes)) {
    in.fail("one-hot labels of " + std::to_string(rows) + " rows x " + std::to_string(columns) + " classes would take " +
            std::to_string(static_cast<std::uint64_t>(bytes)) + " bytes, more than CsvOptions::max_one_hot_bytes (" +
            std::to_string(options.max_one_hot_bytes) + "): read integer labels, or raise the limit");
  }
  // Straight into the tensor (an axon allocation: OutOfMemory names the request).
  const Tensor out = Tensor::zeros({rows, columns});
  float* values = out.data<float>();
  for (std::size_t r = 0; r < labels.size(); ++r) {
    values[r * classes.size() + static_cast<std::size_t>(index.at(labels[r]))] = 1.0f;
  }
  return out;
}

}  // namespace

CsvData read_csv(const std::filesystem::path& path, const CsvOptions& options) {
  check_options(options);
  LineReader in(path, options.max_line_bytes);
  const Columns columns = read_header(in, options);
  const Rows rows = read_rows(in, columns, options.delimiter);

  CsvData data;
  for (const std::size_t column : columns.features) data.feature_names.push_back(columns.header[column]);
  const auto row_count = static_cast<std::int64_t>(rows.labels.size());
  data.features = Tensor::from_vector({row_count, static_cast<std::int64_t>(columns.features.size())},
                                      std::span<const float>(rows.features));
  data.classes = sorted_classes(rows.labels);
  data.labels = label_tensor(rows.labels, data.classes, options, in);
  return data;
}

}  // namespace axon::data
