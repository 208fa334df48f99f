// The CSV loader and the feature scaler: values against plain references on small files
// written here, every damaged-file case naming the file and what is wrong, the shipped Iris
// data, and scaling fitted on one part and applied to another.
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "axon/data/csv.h"
#include "axon/data/scaler.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using axon::FormatError;
using axon::Shape;
using axon::data::CsvOptions;
using axon::data::read_csv;
using axon::data::Scaler;
using axon_test::expect_error;
using axon_test::near_ref;
using Strings = std::vector<std::string>;

using axon_test::TempDir;

CsvOptions label(const std::string& name) {
  CsvOptions options;
  options.label_column = name;
  return options;
}

// A float32 CPU matrix of the given values (braced lists would be ambiguous for tensor_from).
axon::Tensor matrix(const Shape& shape, const std::vector<double>& values) {
  return axon_test::tensor_from(shape, values);
}

// ---- reading ----

TEST(ReadCsv, FeaturesLabelsAndNames) {
  TempDir dir;
  const auto path = dir.write("small.csv",
                              "a,b,kind,c\n"
                              "1.5,-2,cat,3e2\n"
                              "0,4.25,dog,-0.125\n"
                              "7,8,cat,9\n");
  const auto data = read_csv(path, label("kind"));
  EXPECT_EQ(data.feature_names, (Strings{"a", "b", "c"}));
  EXPECT_EQ(data.classes, (Strings{"cat", "dog"}));
  EXPECT_EQ(data.features.shape(), (Shape{3, 3}));
  EXPECT_TRUE(data.features.device().is_cpu());
  EXPECT_TRUE(near_ref(data.features, {1.5, -2, 300, 0, 4.25, -0.125, 7, 8, 9}, 0.0, 0.0));
  ASSERT_EQ(data.labels.dtype(), axon::DType::kInt32);
  EXPECT_EQ(data.labels.to_int_vector(), (std::vector<std::int32_t>{0, 1, 0}));
}

TEST(ReadCsv, ChosenFeatureColumnsInTheGivenOrder) {
  TempDir dir;
  const auto path = dir.write("pick.csv", "x,y,z,label\n1,2,3,a\n4,5,6,b\n");
  CsvOptions options = label("label");
  options.feature_columns = {"z", "x"};
  const auto data = read_csv(path, options);
  EXPECT_EQ(data.feature_names, (Strings{"z", "x"}));
  EXPECT_TRUE(near_ref(data.features, {3, 1, 6, 4}, 0.0, 0.0));
}

TEST(ReadCsv, OneHotLabels) {
  TempDir dir;
  const auto path = dir.write("onehot.csv", "f,y\n1,b\n2,c\n3,a\n4,b\n");
  CsvOptions options = label("y");
  options.one_hot = true;
  const auto data = read_csv(path, options);
  EXPECT_EQ(data.classes, (Strings{"a", "b", "c"}));
  EXPECT_EQ(data.labels.shape(), (Shape{4, 3}));
  EXPECT_TRUE(near_ref(data.labels, {0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0}, 0.0, 0.0));
}

TEST(ReadCsv, IntegerLabelsSortNumerically) {
  TempDir dir;
  const auto path = dir.write("ints.csv", "f,y\n1,10\n2,9\n3,-1\n4,10\n5,0\n");
  const auto data = read_csv(path, label("y"));
  EXPECT_EQ(data.classes, (Strings{"-1", "0", "9", "10"}));  // as strings, "10" < "9"
  EXPECT_EQ(data.labels.to_int_vector(), (std::vector<std::int32_t>{3, 2, 0, 3, 1}));
  // One label that is not an integer: all sort as strings.
  const auto mixed = read_csv(dir.write("mixed.csv", "f,y\n1,10\n2,9\n3,x\n"), label("y"));
  EXPECT_EQ(mixed.classes, (Strings{"10", "9", "x"}));
}

TEST(ReadCsv, CrLfSpacesBlankLinesBomAndOtherDelimiters) {
  TempDir dir;
  const auto path = dir.write("messy.csv",
                              "\xEF\xBB\xBF a , label \r\n"
                              "  1.25 ,  yes\r\n"
                              "\r\n"
                              "+2,no \r\n"
                              "\r\n");
  const auto data = read_csv(path, label("label"));
  EXPECT_EQ(data.feature_names, (Strings{"a"}));
  EXPECT_EQ(data.classes, (Strings{"no", "yes"}));
  EXPECT_TRUE(near_ref(data.features, {1.25, 2}, 0.0, 0.0));
  EXPECT_EQ(data.labels.to_int_vector(), (std::vector<std::int32_t>{1, 0}));

  // Past double's range towards zero is zero, not an error.
  const auto tiny = read_csv(dir.write("tiny.csv", "x,y\n1e-999,a\n-2.5E+1,b\n"), label("y"));
  EXPECT_TRUE(near_ref(tiny.features, {0, -25}, 0.0, 0.0));

  CsvOptions semicolons = label("t");
  semicolons.delimiter = ';';
  const auto s = read_csv(dir.write("semi.csv", "u;t;v\n1.5;a;2\n3;b;4\n"), semicolons);
  EXPECT_EQ(s.feature_names, (Strings{"u", "v"}));
  EXPECT_TRUE(near_ref(s.features, {1.5, 2, 3, 4}, 0.0, 0.0));
}

TEST(ReadCsv, TheShippedIrisData) {
  const auto data = read_csv(AXON_TEST_FIXTURE_DIR "/../../examples/data/iris.csv", label("species"));
  EXPECT_EQ(data.features.shape(), (Shape{150, 4}));
  EXPECT_EQ(data.feature_names, (Strings{"sepal_length", "sepal_width", "petal_length", "petal_width"}));
  EXPECT_EQ(data.classes, (Strings{"setosa", "versicolor", "virginica"}));
  std::map<std::int32_t, int> counts;
  for (const auto l : data.labels.to_int_vector()) ++counts[l];
  EXPECT_EQ(counts, (std::map<std::int32_t, int>{{0, 50}, {1, 50}, {2, 50}}));
  const auto first = data.features.rows(0, 1);
  EXPECT_TRUE(near_ref(first, axon_test::round_to_float({5.1, 3.5, 1.4, 0.2}), 0.0, 0.0));
  // Every measurement is a positive length in centimetres, under 8 cm.
  for (const float v : data.features.to_vector()) EXPECT_TRUE(v > 0.0f && v < 8.0f) << v;
}

// ---- errors: each names the file and what is wrong ----

TEST(ReadCsvErrors, CannotOpenOrEmpty) {
  TempDir dir;
  expect_error<FormatError>([&] { read_csv(dir / "missing.csv", label("y")); },
                            {"read_csv", "missing.csv", "cannot open", "No such file or directory"});
  expect_error<FormatError>([&] { read_csv(dir.write("empty.csv", ""), label("y")); },
                            {"empty.csv", "empty file"});
  expect_error<FormatError>([&] { read_csv(dir.write("blank.csv", "\n \r\n"), label("y")); },
                            {"blank.csv", "empty file"});
  expect_error<FormatError>([&] { read_csv(dir.write("header.csv", "x,y\n\n"), label("y")); },
                            {"header.csv", "no data rows"});
}

TEST(ReadCsvErrors, UnknownAndDuplicateColumns) {
  TempDir dir;
  const auto path = dir.write("cols.csv", "x,y,z\n1,2,a\n");
  expect_error<FormatError>([&] { read_csv(path, label("species")); },
                            {"cols.csv", "unknown column 'species'", "x, y, z"});
  CsvOptions options = label("z");
  options.feature_columns = {"x", "w"};
  expect_error<FormatError>([&] { read_csv(path, options); }, {"cols.csv", "unknown column 'w'", "x, y, z"});
  expect_error<FormatError>([&] { read_csv(dir.write("dup.csv", "x,y,x\n1,2,3\n"), label("y")); },
                            {"dup.csv", "duplicate column name 'x'", "columns 1 and 3"});
}

TEST(ReadCsvErrors, RaggedRow) {
  TempDir dir;
  const auto path = dir.write("ragged.csv", "x,y,z\n1,2,a\n3,b\n");
  expect_error<FormatError>([&] { read_csv(path, label("z")); },
                            {"ragged.csv", "line 3 has 2 fields, the header has 3"});
  const auto wide = dir.write("wide.csv", "x,y\n1,a\n\n2,b,7\n");
  expect_error<FormatError>([&] { read_csv(wide, label("y")); }, {"wide.csv", "line 4 has 3 fields, the header has 2"});
}

TEST(ReadCsvErrors, NonNumericField) {
  TempDir dir;
  const auto path = dir.write("text.csv", "x,y,z\n1,2,a\n3,4x,b\n");
  expect_error<FormatError>([&] { read_csv(path, label("z")); },
                            {"text.csv", "non-numeric field '4x' at line 3 column 2 (y)"});
  const auto empty = dir.write("hole.csv", "x,y,z\n1,,a\n");
  expect_error<FormatError>([&] { read_csv(empty, label("z")); },
                            {"hole.csv", "non-numeric field '' at line 2 column 2 (y)"});
}

TEST(ReadCsvErrors, NonFiniteFeatureValues) {
  TempDir dir;
  for (const std::string value : {"inf", "-inf", "nan", "1e300", "-1e999"}) {
    const auto path = dir.write("nonfinite.csv", "x,y\n1,a\n" + value + ",b\n");
    expect_error<FormatError>([&] { read_csv(path, label("y")); },
                              {"nonfinite.csv", "non-finite value '" + value + "' at line 3 column 1 (x)"});
  }
}

TEST(ReadCsvErrors, BadOptionsAreValueErrors) {
  TempDir dir;
  const auto path = dir.write("ok.csv", "x,y\n1,a\n");
  expect_error<axon::ValueError>([&] { read_csv(path, CsvOptions{}); }, {"label_column"});
  CsvOptions twice = label("y");
  twice.feature_columns = {"x", "x"};
  expect_error<axon::ValueError>([&] { read_csv(path, twice); }, {"'x' is listed twice"});
  CsvOptions leak = label("y");
  leak.feature_columns = {"y"};
  expect_error<axon::ValueError>([&] { read_csv(path, leak); }, {"'y' is also the label column"});
}

// ---- scaling ----

// Per-column x' = (x - offset) * scale with the reference statistics, in double.
std::vector<double> scaled(const std::vector<double>& x, std::size_t cols, const std::vector<double>& offset,
                           const std::vector<double>& scale) {
  std::vector<double> out(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) out[i] = (x[i] - offset[i % cols]) * scale[i % cols];
  return out;
}

TEST(Scaler, MinMaxMapsTheTrainingRowsToZeroOne) {
  const std::size_t rows = 7, cols = 3;
  const auto x = axon_test::random_doubles(rows * cols, -5.0, 5.0, 21);
  Scaler scaler(Scaler::Kind::kMinMax);
  const auto got = scaler.fit_transform(matrix({7, 3}, x));
  std::vector<double> low(cols, 1e9), high(cols, -1e9), scale(cols);
  for (std::size_t i = 0; i < x.size(); ++i) {
    low[i % cols] = std::min(low[i % cols], x[i]);
    high[i % cols] = std::max(high[i % cols], x[i]);
  }
  for (std::size_t c = 0; c < cols; ++c) scale[c] = 1.0 / (high[c] - low[c]);
  EXPECT_TRUE(near_ref(scaler.offset(), low, 0.0, 0.0));
  EXPECT_TRUE(near_ref(scaler.scale(), scale, 1e-15, 0.0));
  EXPECT_TRUE(near_ref(got, scaled(x, cols, low, scale), 1e-6, 1e-7));
  for (const float v : got.to_vector()) EXPECT_TRUE(v >= 0.0f && v <= 1.0f) << v;
}

TEST(Scaler, StandardUsesThePopulationStd) {
  const std::size_t rows = 9, cols = 4;
  const auto x = axon_test::random_doubles(rows * cols, -3.0, 7.0, 22);
  Scaler scaler;  // standard by default
  EXPECT_EQ(scaler.kind(), Scaler::Kind::kStandard);
  const auto got = scaler.fit_transform(matrix({9, 4}, x));
  std::vector<double> mean(cols, 0.0), var(cols, 0.0), scale(cols);
  for (std::size_t i = 0; i < x.size(); ++i) mean[i % cols] += x[i] / rows;
  for (std::size_t i = 0; i < x.size(); ++i) var[i % cols] += (x[i] - mean[i % cols]) * (x[i] - mean[i % cols]) / rows;
  for (std::size_t c = 0; c < cols; ++c) scale[c] = 1.0 / std::sqrt(var[c]);
  EXPECT_TRUE(near_ref(scaler.offset(), mean, 1e-12, 1e-14));
  EXPECT_TRUE(near_ref(scaler.scale(), scale, 1e-12, 0.0));
  EXPECT_TRUE(near_ref(got, scaled(x, cols, mean, scale), 1e-6, 1e-6));
}

TEST(Scaler, FittedOnTrainingRowsAppliedToOthers) {
  const auto train = axon_test::random_doubles(6 * 2, 0.0, 4.0, 23);
  const auto test = axon_test::random_doubles(3 * 2, -10.0, 10.0, 24);
  for (const auto kind : {Scaler::Kind::kMinMax, Scaler::Kind::kStandard}) {
    Scaler scaler(kind);
    scaler.fit(matrix({6, 2}, train));
    const auto offset = scaler.offset();
    const auto got = scaler.transform(matrix({3, 2}, test));
    EXPECT_EQ(scaler.offset(), offset);  // transform learns nothing
    EXPECT_EQ(got.shape(), (Shape{3, 2}));
    EXPECT_TRUE(near_ref(got, scaled(test, 2, scaler.offset(), scaler.scale()), 1e-6, 1e-6));
  }
}

TEST(Scaler, AConstantColumnMapsToZero) {
  const std::vector<double> x{2.5, 1, 2.5, 3, 2.5, -4};  // column 0 is constant
  for (const auto kind : {Scaler::Kind::kMinMax, Scaler::Kind::kStandard}) {
    Scaler scaler(kind);
    const auto got = scaler.fit_transform(matrix({3, 2}, x)).to_vector();
    EXPECT_EQ(scaler.scale()[0], 0.0);
    for (std::size_t r = 0; r < 3; ++r) EXPECT_EQ(got[r * 2], 0.0f);
    for (const float v : got) EXPECT_TRUE(std::isfinite(v)) << v;
  }
  Scaler one_row;  // one row: every column is constant
  EXPECT_TRUE(near_ref(one_row.fit_transform(matrix({1, 3}, {1.0, -2.0, 5.0})), {0, 0, 0}, 0.0, 0.0));
}

TEST(Scaler, Errors) {
  Scaler scaler;
  const auto x = matrix({2, 3}, {1.0, 2.0, 3.0, 4.0, 5.0, 6.0});
  expect_error<axon::ValueError>([&] { (void)scaler.transform(x); }, {"Scaler::transform", "fit first"});
  expect_error<axon::ValueError>([&] { scaler.fit(axon::Tensor::zeros({0, 3})); }, {"Scaler::fit", "no data"});
  expect_error<axon::ValueError>([&] { scaler.fit(matrix({1, 2}, {1.0, std::nan("")})); },
                                 {"Scaler::fit", "row 0 column 1", "not finite"});
  expect_error<axon::ShapeError>([&] { scaler.fit(matrix({6}, {1, 2, 3, 4, 5, 6.0})); },
                                 {"Scaler::fit", "rank 2"});
  expect_error<axon::DTypeError>([&] { scaler.fit(axon::Tensor::zeros({2, 2}, axon::Device::cpu(), axon::DType::kInt32)); },
                                 {"Scaler::fit", "float32"});
  EXPECT_FALSE(scaler.fitted());  // a failed fit leaves it unfitted
  scaler.fit(x);
  expect_error<axon::ShapeError>([&] { (void)scaler.transform(matrix({2, 2}, {1.0, 2.0, 3.0, 4.0})); },
                                 {"Scaler::transform", "fitted on 3 columns", "[2, 2]"});
  expect_error<axon::ValueError>([&] { Scaler bad(static_cast<Scaler::Kind>(9)); }, {"Scaler", "unknown kind 9"});
}

TEST(Scaler, TransformStaysOnTheFeaturesDevice) {
  if (!axon_test::have_cuda()) {
    if (axon_test::cuda_required()) FAIL() << "AXON_REQUIRE_CUDA=1 but no CUDA device";
    GTEST_SKIP() << "no CUDA device";
  }
  const auto x = axon_test::random_doubles(5 * 3, -2.0, 2.0, 25);
  const auto cuda = matrix({5, 3}, x).to(axon::Device::cuda(0));
  Scaler on_gpu, on_cpu;
  const auto got = on_gpu.fit_transform(cuda);
  EXPECT_EQ(got.device(), cuda.device());
  const auto want = on_cpu.fit_transform(matrix({5, 3}, x));
  EXPECT_EQ(on_gpu.offset(), on_cpu.offset());
  EXPECT_TRUE(near_ref(got.to(axon::Device::cpu()), axon_test::values_of(want), 0.0, 0.0));
}

}  // namespace
