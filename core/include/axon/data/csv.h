#pragma once
// Numeric CSV files with a header line: feature columns and a label column, for classifiers.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "axon/export.h"
#include "axon/tensor.h"

namespace axon::data {

struct CsvOptions {
  std::string label_column;                  // required: the name in the header
  std::vector<std::string> feature_columns;  // empty: every column but the label, in file order
  bool one_hot = false;                      // labels as float32 [N, classes] instead of int32 [N]
  char delimiter = ',';
  // Bounds, so that a damaged or hostile file fails fast instead of filling memory: a line
  // longer than this is refused (an endless stream without line breaks ends here), and one-hot
  // labels (rows x classes floats) above this many bytes are refused (read integer labels).
  std::size_t max_line_bytes = std::size_t{1} << 24;             // 16 MiB
  std::uint64_t max_one_hot_bytes = std::uint64_t{1} << 30;      // 1 GiB
};

struct CsvData {
  Tensor features;  // float32 [rows, features], on the CPU
  Tensor labels;    // int32 [rows], or float32 [rows, classes] when one_hot, on the CPU
  std::vector<std::string> feature_names;
  // Label i means classes[i]: the distinct label strings, sorted numerically when all are
  // integers (so "10" comes after "9"), else lexicographically.
  std::vector<std::string> classes;
};

// Reads a CSV file whose first line names the columns. Accepts \r\n line endings, spaces around
// fields, blank lines (skipped) and a UTF-8 byte-order mark; quoted fields are not supported.
// Throws FormatError naming the file and what is wrong: cannot open, empty file, unknown or
// duplicate column names, a ragged row ("line L has C fields, the header has H"), a
// non-numeric feature field ("non-numeric field 'x' at line L column C (name)"), a feature value
// that is not finite as float32, an empty label, no data rows, a line longer than
// max_line_bytes, one-hot labels above max_one_hot_bytes. Throws ValueError for options that
// cannot be right whatever the file (no label column, a feature column listed twice or equal
// to the label). Memory: about 4 bytes per feature value and a string per label beside the
// output, and one line at a time; the header's names are checked in n log n.
AXON_API CsvData read_csv(const std::filesystem::path& path, const CsvOptions& options);

}  // namespace axon::data
