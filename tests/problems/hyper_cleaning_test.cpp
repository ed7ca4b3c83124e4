// hyper-cleaning on real Fashion-MNIST images (the test fixture): every oracle against finite
// differences in double, label corruption, the contraction, the metrics.
#include "bilevel/problems/hyper_cleaning.hpp"

#include <gtest/gtest.h>

#include "bilevel/data/idx.hpp"
#include "bilevel/data/splits.hpp"
#include "bilevel/problems/contraction.hpp"
#include "bilevel/problems/finite_difference.hpp"
#include "bilevel/problems/minimization_adapter.hpp"
#include "problem_fixtures.hpp"

namespace bilevel {
namespace hyper_cleaning_test {

using namespace testing;

struct Splits : FixtureSplits {
  std::vector<bool> corrupted;
};

// The fixture splits with 40 % of the training labels corrupted.
Splits splits() {
  Splits s{fixture_splits(), {}};
  s.corrupted = corrupt_labels(s.train, 0.4, 3);
  return s;
}

HyperCleaning<double> problem() {
  Splits s = splits();
  return HyperCleaning<double>(s.train, s.corrupted, s.validation, s.test);
}

static_assert(MinimizationProblem<HyperCleaning<double>>);

TEST(HyperCleaning, CorruptionChangesExactlyTheFlaggedLabelsToOtherClasses) {
  const Dataset all = fashion200();
  Dataset d = all;
  const auto changed = corrupt_labels(d, 0.4, 3);
  EXPECT_EQ(std::count(changed.begin(), changed.end(), true), 80);
  for (std::size_t i = 0; i < changed.size(); ++i) EXPECT_EQ(d.y[i] != all.y[i], changed[i]) << i;
  Dataset again = all;
  EXPECT_EQ(corrupt_labels(again, 0.4, 3), changed);  // seeded
  EXPECT_EQ(again.y, d.y);
}

TEST(HyperCleaning, OraclesPassFiniteDifferences) {
  const auto p = problem();
  const Vector<double> w = random_vector(p.dim_w(), 0.05, 1), lambda = random_vector(p.dim_lambda(), 1.0, 2);
  const std::vector<SampleId> minibatch{3, 17, 42, 99, 17}, val{0, 7, 50};
  const auto full = all_ids(p.ll_population()), full_val = all_ids(p.ul_population());
  for (auto [ll, ul] : {std::pair<Batch, Batch>{minibatch, val}, std::pair<Batch, Batch>{full, full_val}}) {
    const auto report = check_minimization_oracles(p, w, lambda, ll, ul);
    EXPECT_TRUE(report.passed()) << report.summary();
    const auto report2 = check_oracles(MinimizationAdapter<HyperCleaning<double>>(p, 0.05), w, lambda, ll, ul);
    EXPECT_TRUE(report2.passed()) << report2.summary();
  }
}

TEST(HyperCleaning, LowerLevelMapIsAContractionAtTheDefaultStep) {
  const auto p = problem();
  const auto full = all_ids(p.ll_population());
  const double gamma = 1.0 / (p.data_smoothness() + p.strong_convexity());
  const Vector<double> w = random_vector(p.dim_w(), 0.05, 5), lambda = random_vector(p.dim_lambda(), 1.0, 6);
  EXPECT_LT(estimate_contraction(MinimizationAdapter<HyperCleaning<double>>(p, gamma), w, lambda, full), 1.0);
  EXPECT_GT(estimate_contraction(MinimizationAdapter<HyperCleaning<double>>(p, 100 * gamma), w, lambda, full), 1.0);  // the bound on L is loose
}

TEST(HyperCleaning, MetricsSeparateTheWeightsOfCleanAndCorruptedExamples) {
  const Splits s = splits();
  const HyperCleaning<double> p(s.train, s.corrupted, s.validation, s.test);
  Vector<double> lambda(p.dim_lambda());
  for (Index i = 0; i < lambda.size(); ++i) lambda(i) = s.corrupted[static_cast<std::size_t>(i)] ? -3.0 : 3.0;
  const auto m = p.metrics(lambda, Vector<double>::Zero(p.dim_w()));
  EXPECT_EQ(m[m.size() - 2].first, "weight_clean");
  EXPECT_NEAR(m[m.size() - 2].second, 1 / (1 + std::exp(-3.0)), 1e-12);
  EXPECT_NEAR(m.back().second, 1 / (1 + std::exp(3.0)), 1e-12);
}

}  // namespace hyper_cleaning_test
}  // namespace bilevel
