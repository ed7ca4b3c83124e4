#pragma once
// A labelled dataset in memory: one example per row of a row-major float matrix (DESIGN.md: data in
// contiguous storage, float by default), integer class labels in [0, num_classes).
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "bilevel/core/types.hpp"

namespace bilevel {

struct Dataset {
  RowMatrix<float> x;              // examples x features
  std::vector<std::int32_t> y;     // one label per example
  int num_classes = 0;
  std::string source;              // where it came from, for messages and reports
  std::vector<std::string> class_names;  // the file's own name of each class, when it has them (text formats)

  Index size() const { return x.rows(); }
  Index dim() const { return x.cols(); }

  // Throws DataError naming `source` when the labels and the rows disagree or a label is out of range.
  void validate() const;
};

// The rows `rows` of `d`, in that order (a copy: splits are made once, before a run).
Dataset subset(const Dataset& d, std::span<const Index> rows, std::string source_suffix = "");

}  // namespace bilevel
