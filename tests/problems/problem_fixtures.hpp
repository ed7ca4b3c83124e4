#pragma once
// Shared pieces of the problem tests: the real Fashion-MNIST fixture and its splits, random points,
// full batches.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "bilevel/core/rng.hpp"
#include "bilevel/data/idx.hpp"
#include "bilevel/data/splits.hpp"
#include "bilevel/methods/engine.hpp"
#include "bilevel/problems/finite_difference.hpp"

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

// The five oracles of a separable problem's view, on a minibatch of blocks (duplicates allowed) and on
// all of them, against finite differences at lambda.
template <SeparableProblem P>
void expect_block_oracles_pass_finite_differences(const P& p, const std::vector<SampleId>& minibatch,
                                                  const Vector<double>& lambda) {
  BlockBatchView<P> view(p);
  const std::vector<SampleId> all = all_ids(p.num_blocks()), one{0};
  for (Batch blocks : {Batch(minibatch), Batch(all)}) {
    view.set_blocks(blocks);
    const auto report = check_oracles(view, random_vector(view.dim_w(), 0.5, 1), lambda, one, one);
    EXPECT_TRUE(report.passed()) << report.summary();
  }
}

// A separable problem's hypergradient over all its blocks, by `options`, against central differences
// of its objective solved accurately (the evaluator) in three random directions.
template <SeparableProblem P>
void expect_hypergradient_is_the_derivative_of_the_objective(const P& p, const Vector<double>& lambda,
                                                              const EstimatorOptions& options) {
  SeparableHypergradientEstimator<P> estimator(p, options);
  EstimatorState<double> state;
  EstimatorStreams streams(0);
  OracleCounts counts;
  const Vector<double> h = estimator.compute(lambda, state, streams, counts).hypergradient;
  auto objective = [&](const Vector<double>& l) { return SeparableEvaluator<P>(p, EvaluationOptions{}).evaluate(l, 1.0).objective; };
  Rng rng(5);
  for (int k = 0; k < 3; ++k) {
    Vector<double> d(p.dim_lambda());
    for (Index i = 0; i < d.size(); ++i) d(i) = rng.normal();
    d.normalize();
    const double eps = 1e-5;
    const double fd = (objective(lambda + eps * d) - objective(lambda - eps * d)) / (2 * eps);
    EXPECT_NEAR(h.dot(d), fd, 1e-7 * (1 + std::abs(fd))) << "direction " << k;
  }
}

}  // namespace bilevel::testing
