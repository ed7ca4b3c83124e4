#include "bilevel/data/text_formats.hpp"

#include <fmt/format.h>

#include <charconv>
#include <string_view>
#include <utility>
#include <vector>

#include "bilevel/core/error.hpp"
#include "bilevel/data/gz_file.hpp"
#include "bilevel/data/labels.hpp"

namespace bilevel {
namespace {

constexpr std::size_t kMaxDenseValues = std::size_t{1} << 31;
// A LIBSVM file whose dense matrix would hold more than this many values, and over kMaxSparsity times
// the values the file stores, is refused: it is almost all zeros (a mistyped index, or a truly sparse
// dataset), and storing it dense would take gigabytes for a file of a few bytes. Found by fuzzing.
constexpr std::size_t kSparseDenseValues = std::size_t{1} << 26;
constexpr std::size_t kMaxSparsity = 1000;

std::string_view trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

void check_dense_size(const std::string& path, std::size_t n, std::size_t features) {
  if (n == 0) throw DataError(fmt::format("{}: no examples (empty file?)", path));
  if (features == 0) throw DataError(fmt::format("{}: no features", path));
  if (n > kMaxDenseValues / features)
    throw DataError(fmt::format("{}: {} examples x {} features is too large to store dense", path, n, features));
}

Dataset finish(const std::string& path, RowMatrix<float> x, const std::vector<std::string>& raw_labels) {
  EncodedLabels labels = encode_labels(raw_labels);
  Dataset d;
  d.x = std::move(x);
  d.y = std::move(labels.y);
  d.num_classes = static_cast<int>(labels.class_names.size());
  d.class_names = std::move(labels.class_names);
  d.source = path;
  d.validate();
  return d;
}

}  // namespace

Dataset read_libsvm(const std::string& path, Index num_features) {
  if (num_features < 0) throw DataError(fmt::format("{}: number of features must be >= 0, got {}", path, num_features));
  GzFile f(path);
  std::vector<std::string> labels;
  std::vector<std::vector<std::pair<Index, float>>> rows;
  Index max_index = 0;
  std::string line;
  for (std::size_t line_no = 1; f.read_line(line); ++line_no) {
    std::string_view rest(line);
    if (const auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
    rest = trim(rest);
    if (rest.empty()) continue;
    auto next_token = [&] {
      const auto end = rest.find_first_of(" \t");
      const std::string_view t = rest.substr(0, end);
      rest = end == std::string_view::npos ? std::string_view{} : trim(rest.substr(end));
      return t;
    };
    const std::string_view label = next_token();
    double label_value = 0;
    if (!parse_number(label, label_value))
      throw DataError(fmt::format("{}:{}: the line starts with \"{}\", not a numeric label", path, line_no, label));
    labels.emplace_back(label);
    auto& row = rows.emplace_back();
    Index previous = 0;
    while (!rest.empty()) {
      const std::string_view token = next_token();
      const auto colon = token.find(':');
      long long index = 0;
      const auto [end, ec] = colon == std::string_view::npos
                                 ? std::from_chars_result{token.data(), std::errc::invalid_argument}
                                 : std::from_chars(token.data(), token.data() + colon, index);
      double value = 0;
      if (ec != std::errc() || end != token.data() + colon || !parse_number(token.substr(colon + 1), value))
        throw DataError(fmt::format("{}:{}: \"{}\" is not index:value", path, line_no, token));
      if (index < 1) throw DataError(fmt::format("{}:{}: feature index {} must be >= 1", path, line_no, index));
      if (index <= previous)
        throw DataError(fmt::format("{}:{}: feature index {} does not follow {} (indices must ascend)", path, line_no,
                                    index, previous));
      if (num_features > 0 && index > num_features)
        throw DataError(fmt::format("{}:{}: feature index {} exceeds the {} features expected", path, line_no, index,
                                    num_features));
      previous = static_cast<Index>(index);
      row.emplace_back(previous - 1, static_cast<float>(value));
    }
    max_index = std::max(max_index, previous);
  }
  const Index dim = num_features > 0 ? num_features : max_index;
  check_dense_size(path, rows.size(), static_cast<std::size_t>(dim));
  std::size_t stored = 0;
  for (const auto& row : rows) stored += row.size();
  const std::size_t dense = rows.size() * static_cast<std::size_t>(dim);
  if (dense > kSparseDenseValues && dense / kMaxSparsity > stored)
    throw DataError(fmt::format("{}: {} examples x {} features would be stored dense as {} values for the {} values the "
                                "file holds; bilevel stores data dense: is feature index {} a typo?",
                                path, rows.size(), dim, dense, stored, dim));
  RowMatrix<float> x = RowMatrix<float>::Zero(static_cast<Index>(rows.size()), dim);
  for (std::size_t i = 0; i < rows.size(); ++i)
    for (const auto& [j, v] : rows[i]) x(static_cast<Index>(i), j) = v;
  return finish(path, std::move(x), labels);
}

Dataset read_csv(const std::string& path, const CsvOptions& options) {
  GzFile f(path);
  std::vector<std::string> labels;
  std::vector<float> values;
  std::size_t columns = 0, label_column = 0;
  std::vector<std::string_view> fields;
  std::string line;
  bool first = true;
  for (std::size_t line_no = 1; f.read_line(line); ++line_no) {
    if (trim(line).empty()) continue;
    fields.clear();
    for (std::string_view rest(line);;) {
      const auto sep = rest.find(options.separator);
      fields.push_back(trim(rest.substr(0, sep)));
      if (sep == std::string_view::npos) break;
      rest = rest.substr(sep + 1);
    }
    if (first) {
      columns = fields.size();
      if (columns < 2) throw DataError(fmt::format("{}:{}: needs a label and at least one feature column", path, line_no));
      const long long c = options.label_column < 0 ? static_cast<long long>(columns) + options.label_column
                                                   : options.label_column;
      if (c < 0 || c >= static_cast<long long>(columns))
        throw DataError(fmt::format("{}: label column {} does not exist: the file has {} columns", path,
                                    options.label_column, columns));
      label_column = static_cast<std::size_t>(c);
    } else if (fields.size() != columns) {
      throw DataError(fmt::format("{}:{}: {} fields, but the first line has {}", path, line_no, fields.size(), columns));
    }
    const std::size_t row_start = values.size();
    bool header = false;
    for (std::size_t j = 0; j < fields.size(); ++j) {
      if (j == label_column) continue;
      double v = 0;
      if (!parse_number(fields[j], v)) {
        if (first) {  // a header line: its names are not data
          header = true;
          break;
        }
        throw DataError(fmt::format("{}:{}: column {}: \"{}\" is not a number", path, line_no, j + 1, fields[j]));
      }
      values.push_back(static_cast<float>(v));
    }
    first = false;
    if (header) {
      values.resize(row_start);
      continue;
    }
    if (fields[label_column].empty())
      throw DataError(fmt::format("{}:{}: column {}: the label is empty", path, line_no, label_column + 1));
    labels.emplace_back(fields[label_column]);
  }
  check_dense_size(path, labels.size(), columns == 0 ? 0 : columns - 1);
  RowMatrix<float> x = Eigen::Map<const RowMatrix<float>>(values.data(), static_cast<Index>(labels.size()),
                                                          static_cast<Index>(columns - 1));
  return finish(path, std::move(x), labels);
}

}  // namespace bilevel
