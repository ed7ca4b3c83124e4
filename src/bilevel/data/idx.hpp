#pragma once
// The IDX format of MNIST and Fashion-MNIST (plain or gzip): a big-endian header (magic 0x0000 08 nd,
// then nd dimensions) followed by unsigned bytes.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "bilevel/data/dataset.hpp"

namespace bilevel {

// Images and labels as the files hold them, one byte per pixel: what a reader keeps until it knows
// which rows it needs, so that only those become floats (Fashion-MNIST's 60 000 training images are
// 47 MB as bytes and 188 MB as floats, of which a run usually takes a few thousand rows).
struct IdxImages {
  std::vector<unsigned char> pixels;  // size() x features, row-major, 0..255
  Index features = 0;
  std::vector<std::int32_t> labels;   // in [0, num_classes)
  int num_classes = 0;
  std::string source;

  Index size() const { return static_cast<Index>(labels.size()); }
  // The rows `rows` (indices in [0, size()), any order, repeats allowed) scaled to [0, 1].
  Dataset select(std::span<const Index> rows) const;
  Dataset all() const;
};

// Images (idx3, n x rows x cols) and labels (idx1, n); throws DataError naming the file and what is
// wrong (bad magic, truncated file, counts that disagree, label out of range).
IdxImages read_idx_images(const std::string& images_path, const std::string& labels_path, int num_classes = 10);

// read_idx_images(...).all(): every image scaled to [0, 1].
Dataset read_idx(const std::string& images_path, const std::string& labels_path, int num_classes = 10);

}  // namespace bilevel
