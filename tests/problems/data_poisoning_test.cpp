// data-poisoning on real Fashion-MNIST images (the test fixture): every oracle against finite
// differences in double, the feasible set, the contraction, the metrics.
#include "bilevel/problems/data_poisoning.hpp"

#include <gtest/gtest.h>

#include "bilevel/data/idx.hpp"
#include "bilevel/data/splits.hpp"
#include "bilevel/problems/contraction.hpp"
#include "bilevel/problems/finite_difference.hpp"
#include "bilevel/problems/minimization_adapter.hpp"
#include "problem_fixtures.hpp"

namespace bilevel {
namespace data_poisoning_test {

using namespace testing;

// The fixture splits; the first 20 training images are poisoned.
DataPoisoning<double> problem(double epsilon = 0.3) {
  const FixtureSplits s = fixture_splits();
  DataPoisoningOptions o;
  o.epsilon = epsilon;
  return DataPoisoning<double>(s.train, 20, s.validation, s.test, o);
}

static_assert(MinimizationProblem<DataPoisoning<double>>);

TEST(DataPoisoning, OraclesPassFiniteDifferences) {
  const auto p = problem();
  const Vector<double> w = random_vector(p.dim_w(), 0.05, 1);
  Vector<double> lambda = random_vector(p.dim_lambda(), 0.1, 2);
  p.constraint().project(lambda);
  // Poisoned (3, 17, 17 twice) and clean (42, 99) examples; the full batch.
  const std::vector<SampleId> minibatch{3, 17, 42, 99, 17}, val{0, 7, 50};
  const auto full = all_ids(p.ll_population()), full_val = all_ids(p.ul_population());
  for (auto [ll, ul] : {std::pair<Batch, Batch>{minibatch, val}, std::pair<Batch, Batch>{full, full_val}}) {
    const auto report = check_minimization_oracles(p, w, lambda, ll, ul);
    EXPECT_TRUE(report.passed()) << report.summary();
    const auto report2 = check_oracles(MinimizationAdapter<DataPoisoning<double>>(p, 0.5), w, lambda, ll, ul);
    EXPECT_TRUE(report2.passed()) << report2.summary();
  }
  // Only poisoned examples have noise: a batch of clean ones has no mixed derivative.
  const std::vector<SampleId> clean{20, 50, 99};
  Vector<double> mixed(p.dim_lambda());
  p.ll_mixed_vjp(w, lambda, random_vector(p.dim_w(), 1.0, 3), clean, mixed);
  EXPECT_EQ(mixed.norm(), 0.0);
}

TEST(DataPoisoning, FeasibleSetIsTheLInfinityBallIntersectedWithValidPixels) {
  const auto p = problem(0.2);
  Vector<double> lambda = random_vector(p.dim_lambda(), 1.0, 4);
  p.constraint().project(lambda);
  EXPECT_LE(lambda.cwiseAbs().maxCoeff(), 0.2 + 1e-15);
  EXPECT_TRUE(p.constraint().contains(lambda, 1e-12));
  // x + lambda stays in [0, 1]: a noise that would push a black pixel below 0 is clipped to 0.
  const Dataset train = fixture_splits().train;
  for (Index i = 0; i < 20; ++i)
    for (Index j = 0; j < 784; ++j) {
      const double x = train.x(i, j) + lambda(i * 784 + j);
      EXPECT_GE(x, -1e-7);
      EXPECT_LE(x, 1 + 1e-7);
    }
}

TEST(DataPoisoning, LowerLevelMapIsAContractionAtAStepBelowTwoOverL) {
  const auto p = problem();
  const auto full = all_ids(p.ll_population());
  const Vector<double> w = random_vector(p.dim_w(), 0.05, 5), lambda = Vector<double>::Zero(p.dim_lambda());
  // L <= lambda_max(X^T X / n) / 2 + mu; a step of 1 / L.
  const double q = estimate_contraction(MinimizationAdapter<DataPoisoning<double>>(p, 0.05), w, lambda, full, 300);
  EXPECT_LT(q, 1.0);
  EXPECT_GT(q, 0.99);  // the mean-scaled regulariser makes mu tiny: q = 1 - gamma mu is close to 1
  // A step far above 2 / L is not a contraction, and the estimate sees it.
  EXPECT_GT(estimate_contraction(MinimizationAdapter<DataPoisoning<double>>(p, 1.0), w, lambda, full, 300), 1.0);
}

TEST(DataPoisoning, UpperLevelIsMinusTheValidationLossAndMetricsReportIt) {
  const auto p = problem();
  const Vector<double> w = random_vector(p.dim_w(), 0.05, 6), lambda = Vector<double>::Zero(p.dim_lambda());
  const auto val = all_ids(p.ul_population());
  const double e = p.outer(w, lambda, val, nullptr, nullptr);
  const auto m = p.metrics(lambda, w);
  EXPECT_EQ(m[0].first, "validation_loss");
  EXPECT_NEAR(e, -m[0].second, 1e-12);
  EXPECT_EQ(m.back().first, "noise_linf");
}

}  // namespace data_poisoning_test
}  // namespace bilevel
