// ITD (reverse mode through the lower-level trajectory).
#include <gtest/gtest.h>

#include <vector>

#include "fixtures.hpp"

namespace bilevel {
namespace itd_test {
using namespace testing;

EstimatorOptions itd(int n) {
  EstimatorOptions o;
  o.ll.iterations = n;
  o.ls.method = LinearSystemMethod::kReverseMode;
  return o;
}

// The unrolled objective lambda -> E-hat(w_N(lambda), lambda, xi) with the minibatches fixed by the seed.
template <class P>
double unrolled_objective(const P& p, const EstimatorOptions& o, const Vector<double>& lambda) {
  HypergradientEstimator est(p, o);
  EstimatorState<double> state;
  EstimatorStreams streams(5);
  OracleCounts c;
  return est.compute(lambda, state, streams, c).outer_value;
}

// ITD's output must be the exact derivative of the N-step unrolled objective, stochastic minibatches
// and decaying steps included; a wrong step weight or a missing transpose breaks it.
template <class P>
void check_matches_unrolled_derivative(const P& p, EstimatorOptions o) {
  const Vector<double> l = test_lambda(p.dim_lambda());
  HypergradientEstimator est(p, o);
  EstimatorState<double> state;
  EstimatorStreams streams(5);
  OracleCounts c;
  const Vector<double> h = est.compute(l, state, streams, c).hypergradient;
  const double e = 1e-6;
  for (Index i = 0; i < l.size(); ++i) {
    Vector<double> lp = l, lm = l;
    lp(i) += e;
    lm(i) -= e;
    const double fd = (unrolled_objective(p, o, lp) - unrolled_objective(p, o, lm)) / (2 * e);
    EXPECT_NEAR(h(i), fd, 1e-7 * (1 + std::abs(fd))) << "coordinate " << i;
  }
}

TEST(Itd, EqualsTheDerivativeOfTheUnrolledObjectiveDeterministic) {
  check_matches_unrolled_derivative(nonsymmetric(0.8), itd(7));
  check_matches_unrolled_derivative(symmetric(0.8), itd(3));
}

TEST(Itd, EqualsTheDerivativeOfTheUnrolledObjectiveStochastic) {
  EstimatorOptions o = itd(6);
  o.ll.batch_size = 3;
  o.outer_batch_size = 2;
  o.ll.step = {0.9, 1.0, 2.0};  // eta_i = 0.9 * 2 / (2 + i)
  check_matches_unrolled_derivative(nonsymmetric(0.7, 0.5, 0.5), o);
}

TEST(Itd, ApproachesTheExactHypergradientAsNGrows) {
  const auto p = nonsymmetric(0.6);
  double previous = error(p, itd(5));
  EXPECT_GT(previous, 1e-4);
  for (int n = 15; n <= 45; n += 10) {
    const double e = error(p, itd(n));
    EXPECT_LT(e, previous * std::pow(0.6, 10) * 3.0) << "N = " << n;
    previous = e;
  }
  EXPECT_LT(error(p, itd(200)), 1e-10);
}

TEST(Itd, CountsOneJacobianProductPairPerStep) {
  const auto p = nonsymmetric(0.5);
  OracleCounts c;
  estimate(p, itd(9), test_lambda(3), 1, &c);
  EXPECT_EQ(c.map_evals, 9);
  EXPECT_EQ(c.jacobian_w_products, 9);
  EXPECT_EQ(c.jacobian_lambda_products, 9);
  EXPECT_EQ(c.samples_ll, 9);  // the replay reuses the stored minibatches: no new samples
}

TEST(Itd, ReportsTheMemoryOfTheStoredTrajectory) {
  const auto p = nonsymmetric(0.5);
  HypergradientEstimator est(p, itd(9));
  EXPECT_EQ(est.trajectory_bytes(), 9 * (10 * sizeof(double) + sizeof(SampleId)));
}

}  // namespace itd_test
}  // namespace bilevel
