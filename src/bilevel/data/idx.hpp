#pragma once
// The IDX format of MNIST and Fashion-MNIST (plain or gzip): a big-endian header (magic 0x0000 08 nd,
// then nd dimensions) followed by unsigned bytes.
#include <string>

#include "bilevel/data/dataset.hpp"

namespace bilevel {

// Images (idx3, n x rows x cols) scaled to [0, 1] and labels (idx1, n); throws DataError naming the
// file and what is wrong (bad magic, truncated file, counts that disagree, label out of range).
Dataset read_idx(const std::string& images_path, const std::string& labels_path, int num_classes = 10);

}  // namespace bilevel
