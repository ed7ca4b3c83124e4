#pragma once
// Seeded splits and subsets of a dataset. The same seed gives the same split on every machine
// (the generator is the project's own, see core/rng.hpp).
#include <cstdint>
#include <utility>
#include <vector>

#include "bilevel/data/dataset.hpp"

namespace bilevel {

// 0..n-1 in a seeded random order.
std::vector<Index> shuffled_indices(Index n, std::uint64_t seed);

// Splits d into (first, second) with about `fraction` of every class in `first` (stratified), each
// part in a seeded random order. fraction in (0, 1).
std::pair<Dataset, Dataset> stratified_split(const Dataset& d, double fraction, std::uint64_t seed);

// The first n examples of a seeded shuffle of d (all of d when n >= its size).
Dataset random_subset(const Dataset& d, Index n, std::uint64_t seed);

// Only the examples whose label is in `classes`, relabelled 0..classes.size()-1 in that order.
Dataset select_classes(const Dataset& d, const std::vector<int>& classes);

// Feature-wise standardisation with the mean and standard deviation of `reference` (the training
// split), applied to `d`; features constant on the reference are only centred.
void standardize(Dataset& d, const Dataset& reference);

// Replaces the label of a seeded random `fraction` of d's examples by a different, uniformly drawn
// class (once, as in the hyper-cleaning benchmark); returns which examples were changed.
std::vector<bool> corrupt_labels(Dataset& d, double fraction, std::uint64_t seed);

}  // namespace bilevel
