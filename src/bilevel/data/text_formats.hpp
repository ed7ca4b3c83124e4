#pragma once
// Labelled datasets in text formats (plain or gzip). Both are stored dense (the problems work on dense
// row-major float matrices), so a file whose dense size would exceed 2^31 values is refused with a
// message rather than exhausting memory. Labels become classes as in labels.hpp.
#include <string>

#include "bilevel/data/dataset.hpp"

namespace bilevel {

// LIBSVM / SVMlight: one example per line, "label index:value index:value ...", the label a number,
// indices 1-based and
// ascending, absent features 0; '#' starts a comment. num_features = 0 takes the largest index seen;
// a larger index than a given num_features is an error. Errors name the file, line and token.
Dataset read_libsvm(const std::string& path, Index num_features = 0);

struct CsvOptions {
  // Column of the label; negative counts from the end (-1 = last column). Default: the first column.
  int label_column = 0;
  // The field separator.
  char separator = ',';
};

// CSV: one example per line, every field but the label a number. A first line with a field that is
// not a number in a feature column is taken as a header (its names are ignored). Every row must have
// the same number of fields. Errors name the file, line and column.
Dataset read_csv(const std::string& path, const CsvOptions& options = {});

}  // namespace bilevel
