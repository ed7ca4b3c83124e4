// hyper-representation (synthetic, the loops paper's Table 3): oracles against finite differences in
// double, the contraction on Lambda, the generator's determinism.
#include "bilevel/problems/hyper_representation.hpp"

#include <gtest/gtest.h>

#include "bilevel/problems/contraction.hpp"
#include "bilevel/problems/finite_difference.hpp"
#include "bilevel/problems/minimization_adapter.hpp"
#include "problem_fixtures.hpp"

namespace bilevel {
namespace hyper_representation_test {

using namespace testing;

HyperRepresentationOptions small() {
  HyperRepresentationOptions o;
  o.input_dim = 5;
  o.representation = 6;  // r > p, as at the defaults (64, 128): H^T X^T X H is singular
  o.train_size = 40;
  o.validation_size = 30;
  o.seed = 3;
  return o;
}

static_assert(MinimizationProblem<HyperRepresentation<double>>);

TEST(HyperRepresentation, OraclesPassFiniteDifferences) {
  const HyperRepresentation<double> p(small());
  const Vector<double> w = random_vector(p.dim_w(), 0.5, 1), lambda = random_vector(p.dim_lambda(), 0.4, 2);
  const std::vector<SampleId> minibatch{3, 17, 39, 17}, val{0, 7, 29};
  const auto full = all_ids(40), full_val = all_ids(30);
  for (auto [ll, ul] : {std::pair<Batch, Batch>{minibatch, val}, std::pair<Batch, Batch>{full, full_val}}) {
    const auto report = check_minimization_oracles(p, w, lambda, ll, ul);
    EXPECT_TRUE(report.passed()) << report.summary();
    const auto report2 = check_oracles(MinimizationAdapter<HyperRepresentation<double>>(p, 0.1), w, lambda, ll, ul);
    EXPECT_TRUE(report2.passed()) << report2.summary();
  }
}

TEST(HyperRepresentation, LowerLevelMapContractsEverywhereOnLambda) {
  const HyperRepresentation<double> p(small());
  const auto full = all_ids(40);
  const MinimizationAdapter<HyperRepresentation<double>> fixed_point(p, 1.0 / p.smoothness());
  for (std::uint64_t seed : {1, 2, 3}) {
    Vector<double> lambda = random_vector(p.dim_lambda(), 10.0, seed);  // far outside, then projected onto ||H|| = R
    p.constraint().project(lambda);
    const double q = estimate_contraction(fixed_point, Vector<double>::Zero(p.dim_w()), lambda, full);
    EXPECT_LT(q, 1.0);
    // r > p makes the data term's Hessian singular, so q = 1 - gamma mu exactly.
    EXPECT_NEAR(q, 1.0 - 0.1 / p.smoothness(), 1e-6);
  }
}

TEST(HyperRepresentation, TheGeneratorIsSeeded) {
  const HyperRepresentation<double> a(small()), b(small());
  HyperRepresentationOptions other = small();
  other.seed = 4;
  const HyperRepresentation<double> c(other);
  const Vector<double> w = random_vector(6, 1.0, 1), l = random_vector(30, 1.0, 2);
  const std::vector<SampleId> batch{0, 1, 2};
  EXPECT_EQ(a.ll_value(w, l, batch), b.ll_value(w, l, batch));
  EXPECT_NE(a.ll_value(w, l, batch), c.ll_value(w, l, batch));
}

}  // namespace hyper_representation_test
}  // namespace bilevel
