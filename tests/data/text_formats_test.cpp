// LIBSVM and CSV readers: the real Fashion-MNIST fixture written in each format reads back exactly,
// labels become classes in a documented order, and each broken file is an error naming file and line.
#include <gtest/gtest.h>
#include <zlib.h>

#include <fmt/format.h>

#include <fstream>
#include <string>

#include "bilevel/data/labels.hpp"
#include "bilevel/data/text_formats.hpp"
#include "data_test_helpers.hpp"

namespace bilevel {
namespace text_formats_test {

using testing::expect_data_error;
using testing::fashion200;
using testing::scratch;
namespace fs = std::filesystem;

std::string write_text(const std::string& name, const std::string& text) {
  const fs::path p = scratch(name);
  std::ofstream(p) << text;
  return p.string();
}

std::string write_gzip(const std::string& name, const std::string& text) {
  const fs::path p = scratch(name);
  gzFile f = gzopen(p.c_str(), "wb");
  gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
  gzclose(f);
  return p.string();
}

// The dataset in LIBSVM form, zero pixels left out as the format intends. The pixel values k/255 are
// printed with 9 significant digits, which float reads back exactly.
std::string as_libsvm(const Dataset& d) {
  std::string s;
  for (Index i = 0; i < d.size(); ++i) {
    s += fmt::format("{}", d.y[static_cast<std::size_t>(i)]);
    for (Index j = 0; j < d.dim(); ++j)
      if (d.x(i, j) != 0) s += fmt::format(" {}:{:.9g}", j + 1, d.x(i, j));
    s += "\n";
  }
  return s;
}

std::string as_csv(const Dataset& d, bool label_last) {
  std::string s = label_last ? "" : "label";
  for (Index j = 0; j < d.dim(); ++j) s += fmt::format("{}pixel{}", j == 0 && !label_last ? "," : (j == 0 ? "" : ","), j);
  if (label_last) s += ",label";
  s += "\n";
  for (Index i = 0; i < d.size(); ++i) {
    if (!label_last) s += fmt::format("{},", d.y[static_cast<std::size_t>(i)]);
    for (Index j = 0; j < d.dim(); ++j) s += fmt::format("{}{:.9g}", j == 0 ? "" : ",", d.x(i, j));
    if (label_last) s += fmt::format(",{}", d.y[static_cast<std::size_t>(i)]);
    s += "\n";
  }
  return s;
}

TEST(Libsvm, RealImagesWrittenAsLibsvmReadBackExactly) {
  const Dataset d = fashion200();
  const std::string text = as_libsvm(d);
  for (const std::string& path : {write_text("f.libsvm", text), write_gzip("f.libsvm.gz", text)}) {
    const Dataset r = read_libsvm(path, d.dim());
    EXPECT_EQ(r.x, d.x) << path;
    EXPECT_EQ(r.y, d.y) << path;
    EXPECT_EQ(r.num_classes, 10);
    EXPECT_EQ(r.source, path);
  }
}

TEST(Libsvm, InfersTheDimensionAndMapsLabelsInNumericOrder) {
  const std::string path = write_text("small.svm",
                                      "# a comment line\n"
                                      "+1 1:0.5 3:2  # trailing comment\n"
                                      "-1 2:1e-1\n"
                                      "\n"
                                      "1.0 3:-4\n"
                                      "10\n");
  const Dataset d = read_libsvm(path);
  ASSERT_EQ(d.size(), 4);
  ASSERT_EQ(d.dim(), 3);
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"-1", "1", "10"}));
  EXPECT_EQ(d.y, (std::vector<std::int32_t>{1, 0, 1, 2}));  // "+1" and "1.0" are one class
  EXPECT_FLOAT_EQ(d.x(0, 0), 0.5f);
  EXPECT_FLOAT_EQ(d.x(0, 1), 0.0f);
  EXPECT_FLOAT_EQ(d.x(0, 2), 2.0f);
  EXPECT_FLOAT_EQ(d.x(1, 1), 0.1f);
  EXPECT_FLOAT_EQ(d.x(2, 2), -4.0f);
  EXPECT_EQ(d.x.row(3).squaredNorm(), 0.0f);
  EXPECT_EQ(read_libsvm(path, 5).dim(), 5);  // a given dimension may exceed the largest index
}

TEST(Libsvm, BrokenFilesAreErrorsNamingFileLineAndToken) {
  struct Case {
    const char* text;
    std::vector<std::string> parts;
  };
  const std::vector<Case> cases = {
      {"1 1:0.5\n2 3:x\n", {":2:", "\"3:x\" is not index:value"}},
      {"1 1:0.5 0:1\n", {":1:", "index 0 must be >= 1"}},
      {"1 2:1 2:3\n", {":1:", "index 2 does not follow 2"}},
      {"1 3:1 2:3\n", {":1:", "index 2 does not follow 3"}},
      {"1 1:0.5\n1:2 2:1\n", {":2:", "\"1:2\", not a numeric label"}},
      {"a,b,c\n1,2,3\n", {":1:", "not a numeric label"}},
      {"1 1 2\n", {":1:", "\"1\" is not index:value"}},
      {"1 1:nan\n", {":1:", "is not index:value"}},
      {"# only a comment\n", {"no examples"}},
      {"", {"no examples"}},
      {"1\n2\n", {"no features"}},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const std::string path = write_text(fmt::format("broken{}.svm", i), cases[i].text);
    std::vector<std::string> parts = cases[i].parts;
    parts.push_back(path);
    SCOPED_TRACE(cases[i].text);
    expect_data_error([&] { read_libsvm(path); }, parts);
  }
  const std::string wide = write_text("wide.svm", "1 1:1\n2 7:1\n");
  expect_data_error([&] { read_libsvm(wide, 5); }, {wide, ":2:", "index 7 exceeds the 5 features"});
  // Three stored values, but an index that would make the dense matrix 2 x 100 000 000 (found by fuzzing).
  const std::string sparse = write_text("sparse.svm", "1 1:1 3:2\n2 100000000:1\n");
  expect_data_error([&] { read_libsvm(sparse); }, {sparse, "2 examples x 100000000 features", "3 values", "typo"});
  expect_data_error([&] { read_libsvm(scratch("missing.svm").string()); }, {"missing.svm", "cannot open"});
}

TEST(Libsvm, ATruncatedGzipStreamIsAnError) {
  const Dataset d = fashion200();
  const std::string full = write_gzip("t.svm.gz", as_libsvm(d));
  std::ifstream in(full, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  const std::string cut = write_text("cut.svm.gz", bytes.substr(0, bytes.size() / 2));
  expect_data_error([&] { read_libsvm(cut); }, {cut, "truncated"});
}

TEST(Csv, RealImagesWrittenAsCsvReadBackExactlyWithTheLabelFirstOrLast) {
  const Dataset d = fashion200();
  const Dataset first = read_csv(write_text("f.csv", as_csv(d, false)));
  EXPECT_EQ(first.x, d.x);
  EXPECT_EQ(first.y, d.y);
  CsvOptions last;
  last.label_column = -1;
  const Dataset l = read_csv(write_gzip("f.csv.gz", as_csv(d, true)), last);
  EXPECT_EQ(l.x, d.x);
  EXPECT_EQ(l.y, d.y);
}

TEST(Csv, TextLabelsBecomeClassesInSortedOrder) {
  CsvOptions o;
  o.label_column = 2;
  o.separator = ';';
  const Dataset d = read_csv(write_text("animals.csv", "1.5; 2; dog\r\n3;4;cat\n\n5;6;dog\n"), o);
  EXPECT_EQ(d.size(), 3);  // no header: every feature of the first line is a number
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(d.y, (std::vector<std::int32_t>{1, 0, 1}));
  EXPECT_FLOAT_EQ(d.x(0, 0), 1.5f);
  EXPECT_FLOAT_EQ(d.x(2, 1), 6.0f);
}

TEST(Csv, BrokenFilesAreErrorsNamingFileLineAndColumn) {
  struct Case {
    const char* text;
    std::vector<std::string> parts;
  };
  const std::vector<Case> cases = {
      {"y,a,b\n1,2,3\n0,4\n", {":3:", "2 fields, but the first line has 3"}},
      {"1,2,3\n0,4,five\n", {":2:", "column 3", "\"five\" is not a number"}},
      {"1,2,3\n,4,5\n", {":2:", "column 1", "label is empty"}},
      {"1,2,inf\n", {"column 3", "not a number"}},  // a first line with a bad value reads as a header: then no data
      {"y,a\n", {"no examples"}},
      {"1\n2\n", {"needs a label and at least one feature column"}},
      {"", {"no examples"}},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const std::string path = write_text(fmt::format("broken{}.csv", i), cases[i].text);
    SCOPED_TRACE(cases[i].text);
    std::vector<std::string> parts = cases[i].parts;
    parts.push_back(path);
    if (i == 3) parts = {path, "no examples"};
    expect_data_error([&] { read_csv(path); }, parts);
  }
  CsvOptions o;
  o.label_column = 5;
  const std::string ok = write_text("ok.csv", "1,2,3\n");
  expect_data_error([&] { read_csv(ok, o); }, {ok, "label column 5 does not exist", "3 columns"});
}

TEST(Labels, NumbersParseWholeTokensOnly) {
  double v = 0;
  EXPECT_TRUE(parse_number("+2.5", v));
  EXPECT_EQ(v, 2.5);
  EXPECT_TRUE(parse_number("-1e-3", v));
  EXPECT_FALSE(parse_number("2.5x", v));
  EXPECT_FALSE(parse_number("", v));
  EXPECT_FALSE(parse_number("+", v));
  EXPECT_FALSE(parse_number("inf", v));
  EXPECT_FALSE(parse_number("nan", v));
}

}  // namespace text_formats_test
}  // namespace bilevel
