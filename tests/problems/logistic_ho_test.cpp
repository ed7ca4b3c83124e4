// logistic-ho on real Fashion-MNIST images (the test fixture): every oracle against finite
// differences in double, the contraction at the default step, and the metrics.
#include "bilevel/problems/logistic_ho.hpp"

#include <gtest/gtest.h>

#include <Eigen/QR>
#include <cmath>

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

// The softmax problems' smoothness bound lambda_max(X^T X / n) / 2 on data whose Gram matrix is known:
// X = sqrt(n) Q diag(sqrt(d)) with orthonormal columns Q, so X^T X / n = diag(d). The top two
// eigenvalues differ by 1e-4: the 50 power iterations from the all-ones vector that computed this bound
// before stopped 2.9e-4 below the top one (0.8797 for 0.88). 3 000 rows cross the Gram matrix's blocks
// of 1 024 rows.
TEST(LogisticHO, SmoothnessIsTheTopEigenvalueOfTheGramMatrix) {
  const Index n = 3000, p = 20;
  Rng rng(4);
  Matrix<double> g(n, p);
  for (Index j = 0; j < p; ++j)
    for (Index i = 0; i < n; ++i) g(i, j) = rng.normal();
  const Matrix<double> q = Eigen::HouseholderQR<Matrix<double>>(g).householderQ() * Matrix<double>::Identity(n, p);
  Vector<double> d(p);
  for (Index j = 0; j < p; ++j) d(j) = 0.5 + 0.02 * static_cast<double>(j);
  d(p - 2) = d(p - 1) - 1e-4;
  const RowMatrix<double> x = std::sqrt(static_cast<double>(n)) * q * d.cwiseSqrt().asDiagonal();
  EXPECT_NEAR(softmax::smoothness<double>(x), d.maxCoeff() / 2, 1e-12);
  const RowMatrix<float> xf = x.cast<float>();
  EXPECT_NEAR(softmax::smoothness<float>(xf), d.maxCoeff() / 2, 1e-6);  // the float data, rounded
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
