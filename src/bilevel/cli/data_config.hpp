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

}  // namespace bilevel
