#pragma once
// Reads the [problem] keys that choose a dataset and its train / validation / test splits.
#include "bilevel/cli/config.hpp"
#include "bilevel/data/dataset.hpp"

namespace bilevel {

struct DataSplits {
  Dataset train, validation, test;
};

// problem.dataset ("fashion-mnist" or "mnist-digits"), problem.train_size, problem.validation_size,
// problem.test_size (0 = all that is left), problem.seed. Fashion-MNIST: train and validation are
// disjoint random parts of its training split, test from its test split; the MNIST digits (one
// split) are cut into three disjoint random parts.
DataSplits read_data_splits(Config& c);

}  // namespace bilevel
