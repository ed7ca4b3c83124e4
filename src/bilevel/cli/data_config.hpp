#pragma once
// Reads the [problem] keys that choose a dataset and its train / validation / test splits.
#include "bilevel/cli/config.hpp"
#include "bilevel/data/dataset.hpp"

namespace bilevel {

struct DataSplits {
  Dataset train, validation, test;
};

// problem.dataset ("fashion-mnist", "mnist-digits", or a file: "libsvm" / "csv" with problem.data_path,
// and problem.num_features (libsvm) or problem.label_column (csv)), problem.train_size,
// problem.validation_size, problem.test_size (0 = all that is left), problem.seed, problem.shuffle
// (false: consecutive rows in file order instead of a seeded shuffle). Fashion-MNIST:
// train and validation are disjoint random parts of its training split, test from its test split; the
// other datasets (one split) are cut into three disjoint random parts.
DataSplits read_data_splits(Config& c);

// make(splits) with the splits of read_data_splits, which are freed when it returns: a problem keeps its
// own copy of the data (in its scalar type, on huge pages), so the splits would otherwise stay alive as a
// second copy through the whole run (219 MB at Fashion-MNIST's 60 000 training images).
template <class Make>
auto from_data_splits(Config& c, Make&& make) {
  DataSplits splits = read_data_splits(c);
  return make(splits);
}

}  // namespace bilevel
