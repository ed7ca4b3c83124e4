// SID (Algorithm 1 of Grazzi, Pontil, Salzo 2023) on the stochastic quadratic problem: its mean squared
// error falls as t, k and J grow, and it is unbiased in the limit.
#include <gtest/gtest.h>

#include "fixtures.hpp"

namespace bilevel {
namespace sid_test {
using namespace testing;

struct Moments {
  double mse = 0;            // E ||h - grad f||^2
  double bias = 0;           // ||E h - grad f||
  double standard_error = 0; // of the mean estimate
};

template <class P>
Moments moments(const P& p, const EstimatorOptions& o, int seeds) {
  const Vector<double> l = test_lambda(p.dim_lambda());
  const Vector<double> truth = p.exact(l).hypergradient;
  HypergradientEstimator est(p, o);
  Vector<double> mean = Vector<double>::Zero(l.size());
  Moments m;
  for (int s = 0; s < seeds; ++s) {
    EstimatorState<double> state;
    EstimatorStreams streams(1000 + static_cast<std::uint64_t>(s));
    OracleCounts c;
    const Vector<double> diff = est.compute(l, state, streams, c).hypergradient - truth;
    m.mse += diff.squaredNorm() / seeds;
    mean += diff / seeds;
  }
  m.bias = mean.norm();
  m.standard_error = std::sqrt(m.mse / seeds);
  return m;
}

// Stochastic fixed-point steps need decreasing step sizes to converge: eta_i = 1 / (1 + i / 5).
EstimatorOptions sid(int t, int k, Index j, Index batch = 4, Index outer_batch = 4) {
  EstimatorOptions o;
  o.ll.iterations = t;
  o.ls.iterations = k;
  o.ll.batch_size = batch;
  o.ls.batch_size = batch;
  o.outer_batch_size = outer_batch;
  o.cross_batch_size = j;
  o.ll.step = {1.0, 1.0, 5.0};
  o.ls.step = {1.0, 1.0, 5.0};
  return o;
}

const auto kProblem = nonsymmetric(0.5, 0.5, 0.5);

TEST(Sid, MeanSquaredErrorFallsAsTheLowerLevelAndLinearSystemIterationsGrow) {
  // Large J and outer batch, so that the terms of t and k dominate.
  const Moments few = moments(kProblem, sid(5, 5, 256, 4, 256), 300);
  const Moments many = moments(kProblem, sid(80, 80, 256, 4, 256), 300);
  // O(1/t) theory predicts a 16x drop; the J and outer-batch terms are a floor, so ask for 3x.
  EXPECT_LT(many.mse, few.mse / 3) << "t=k=5: " << few.mse << ", t=k=80: " << many.mse;
}

TEST(Sid, MeanSquaredErrorAtLeastHalvesWhenJIsQuadrupledAtLargeT) {
  // Upper-level noise off and large LL/LS batches, so the cross term's variance (proportional to 1/J)
  // dominates what is left.
  const auto p = nonsymmetric(0.5, 0.5, 0.0);
  const Moments j1 = moments(p, sid(100, 100, 1, 16, 0), 300);
  const Moments j4 = moments(p, sid(100, 100, 4, 16, 0), 300);
  EXPECT_LT(j4.mse, j1.mse / 2) << "J=1: " << j1.mse << ", J=4: " << j4.mse;
}

TEST(Sid, IsUnbiasedInTheLimit) {
  const Moments m = moments(kProblem, sid(200, 200, 1), 400);
  EXPECT_GT(m.mse, 1e-3);  // the estimate is genuinely noisy
  EXPECT_LT(m.bias, 4 * m.standard_error) << "bias " << m.bias << ", standard error " << m.standard_error;
}

TEST(Sid, CountsSamplesOfEveryStep) {
  EstimatorOptions o = sid(7, 5, 3, 4);
  o.outer_batch_size = 2;
  OracleCounts c;
  estimate(kProblem, o, test_lambda(3), 1, &c);
  EXPECT_EQ(c.samples_ll, 7 * 4 + 5 * 4 + 3);
  EXPECT_EQ(c.samples_ul, 2);
  EXPECT_EQ(c.example_evals, 7 * 4 + 5 * 4 + 3 + 2);
  o.ls.resample_outer_gradient = true;
  OracleCounts r;
  estimate(kProblem, o, test_lambda(3), 1, &r);
  EXPECT_EQ(r.samples_ul, 2 + 5 * 2);
  EXPECT_EQ(r.outer_evals, 1 + 5);
}

TEST(Sid, SameSeedSameEstimateDifferentSeedDifferentEstimate) {
  const Vector<double> l = test_lambda(3);
  const Vector<double> a = estimate(kProblem, sid(20, 20, 2), l, 7);
  const Vector<double> b = estimate(kProblem, sid(20, 20, 2), l, 7);
  const Vector<double> c = estimate(kProblem, sid(20, 20, 2), l, 8);
  EXPECT_EQ(a, b);  // bit for bit
  EXPECT_NE(a, c);
}

}  // namespace sid_test
}  // namespace bilevel
