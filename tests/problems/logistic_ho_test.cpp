// logistic-ho on real Fashion-MNIST images (the test fixture): every oracle against finite
// differences in double, the contraction at the default step, and the metrics.
#include "bilevel/problems/logistic_ho.hpp"

#include <gtest/gtest.h>

#include "bilevel/data/idx.hpp"
#include "bilevel/data/splits.hpp"
#include "bilevel/problems/contraction.hpp"
#include "bilevel/problems/finite_difference.hpp"
#include "bilevel/problems/minimization_adapter.hpp"
#include "problem_fixtures.hpp"

namespace bilevel {
namespace logistic_ho_test {

using namespace testing;

LogisticHO<double> problem(Regularization r) {
  const FixtureSplits s = fixture_splits();
  LogisticHOOptions o;
  o.regularization = r;
  return LogisticHO<double>(s.train, s.validation, s.test, o);
}

static_assert(MinimizationProblem<LogisticHO<double>>);
static_assert(BilevelProblem<MinimizationAdapter<LogisticHO<float>>>);

std::vector<SampleId> ids(std::initializer_list<SampleId> l) { return l; }

TEST(LogisticHO, OraclesPassFiniteDifferencesOnMinibatchesAndFullBatches) {
  for (Regularization r : {Regularization::kPerFeature, Regularization::kScalar}) {
    const auto p = problem(r);
    const Vector<double> w = random_vector(p.dim_w(), 0.05, 1);
    const Vector<double> lambda = random_vector(p.dim_lambda(), 0.5, 2);
    const auto full_ll = all_ids(p.ll_population()), full_ul = all_ids(p.ul_population());
    const auto minibatch = ids({3, 17, 42, 99, 5}), val_batch = ids({0, 7, 50});
    for (auto [ll, ul] : {std::pair<Batch, Batch>{minibatch, val_batch}, std::pair<Batch, Batch>{full_ll, full_ul}}) {
      const auto report = check_minimization_oracles(p, w, lambda, ll, ul);
      EXPECT_TRUE(report.passed()) << report.summary();
      const MinimizationAdapter<LogisticHO<double>> fixed_point(p, 0.1);
      const auto report2 = check_oracles(fixed_point, w, lambda, ll, ul);
      EXPECT_TRUE(report2.passed()) << report2.summary();
    }
  }
}

TEST(LogisticHO, GatheredMinibatchEqualsTheSameRowsAsAFullBatchOfASmallerSet) {
  // The minibatch path (gather) and the full-batch path (no copy) compute the same function.
  const FixtureSplits s = fixture_splits();
  const std::vector<Index> rows{4, 9, 33};
  const Dataset three = subset(s.train, rows);
  const LogisticHO<double> big(s.train, s.validation, s.test), small(three, s.validation, s.test);
  const Vector<double> w = random_vector(big.dim_w(), 0.05, 3), lambda = random_vector(big.dim_lambda(), 0.3, 4);
  const auto gathered = ids({4, 9, 33}), full = ids({0, 1, 2});
  Vector<double> a(big.dim_w()), b(big.dim_w());
  big.ll_grad(w, lambda, gathered, a);
  small.ll_grad(w, lambda, full, b);
  EXPECT_LT((a - b).norm(), 1e-12 * a.norm());
}

TEST(LogisticHO, LowerLevelMapIsAContractionAtTheSuggestedStep) {
  const auto p = problem(Regularization::kPerFeature);
  const Vector<double> lambda = Vector<double>::Constant(p.dim_lambda(), -2.0);
  const double gamma = 1.0 / (p.data_smoothness() + std::exp(-2.0));
  const MinimizationAdapter<LogisticHO<double>> fixed_point(p, gamma);
  const auto full = all_ids(p.ll_population());
  for (std::uint64_t seed : {1, 2}) {
    const Vector<double> w = random_vector(p.dim_w(), 0.1, seed);
    const double q = estimate_contraction(fixed_point, w, lambda, full);
    EXPECT_LT(q, 1.0);
    EXPECT_GT(q, 0.9);  // exp(-2) / (L_data + exp(-2)) is small: q = 1 - gamma mu is close to 1
  }
  // A step twice too large is not a contraction: the estimate sees it.
  const MinimizationAdapter<LogisticHO<double>> too_far(p, 4.5 * gamma);
  EXPECT_GT(estimate_contraction(too_far, random_vector(p.dim_w(), 0.1, 1), lambda, full), 1.0);
}

TEST(LogisticHO, MetricsReportLossAndAccuracyPerSplit) {
  const auto p = problem(Regularization::kScalar);
  const Vector<double> zero = Vector<double>::Zero(p.dim_w());
  const auto m = p.metrics(Vector<double>::Zero(1), zero);
  ASSERT_EQ(m.size(), 6u);
  EXPECT_EQ(m[0].first, "train_loss");
  EXPECT_NEAR(m[0].second, std::log(10.0), 1e-12);  // W = 0: uniform predictions
  EXPECT_EQ(m[5].first, "test_accuracy");
}

}  // namespace logistic_ho_test
}  // namespace bilevel
