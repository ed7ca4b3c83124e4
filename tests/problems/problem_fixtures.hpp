#pragma once
// Shared pieces of the problem tests: the real Fashion-MNIST fixture and its splits, random points,
// full batches.
#include <numeric>
#include <string>
#include <vector>

#include "bilevel/core/rng.hpp"
#include "bilevel/data/idx.hpp"
#include "bilevel/data/splits.hpp"

namespace bilevel::testing {

// The first 200 Fashion-MNIST training images (tests/data/fixtures).
inline Dataset fashion200() {
  const std::string dir = std::string(BILEVEL_SOURCE_DIR) + "/tests/data/fixtures/";
  return read_idx(dir + "fashion-train-200-images-idx3-ubyte.gz", dir + "fashion-train-200-labels-idx1-ubyte.gz");
}

struct FixtureSplits {
  Dataset train, validation, test;
};

// fashion200 as 100 train, 58 validation and 42 test images (stratified, seeded).
inline FixtureSplits fixture_splits() {
  auto [train, rest] = stratified_split(fashion200(), 0.5, 1);
  auto [validation, test] = stratified_split(rest, 0.6, 2);
  return {std::move(train), std::move(validation), std::move(test)};
}

inline Vector<double> random_vector(Index n, double scale, std::uint64_t seed) {
  Rng rng(seed);
  Vector<double> v(n);
  for (Index i = 0; i < n; ++i) v(i) = scale * rng.normal();
  return v;
}

// The full batch 0..n-1.
inline std::vector<SampleId> all_ids(Index n) {
  std::vector<SampleId> ids(static_cast<std::size_t>(n));
  std::iota(ids.begin(), ids.end(), SampleId{0});
  return ids;
}

}  // namespace bilevel::testing
