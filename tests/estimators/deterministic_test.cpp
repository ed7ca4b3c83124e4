// Deterministic AID: the error against the exact hypergradient falls geometrically with t and k.
#include <gtest/gtest.h>

#include "fixtures.hpp"

namespace bilevel {
namespace deterministic_test {
using namespace testing;

// With t = k, fixed-point AID's error is O(t q^t) (Grazzi et al. 2020): check that ten more
// iterations divide the error by at least q^10 / 2 (with margin for the polynomial factor), and that
// it reaches machine precision.
template <class P>
void check_geometric(const P& p, double q, LinearSystemMethod method) {
  double previous = error(p, aid(5, 5, method));
  EXPECT_GT(previous, 1e-4);  // five iterations are far from exact: the test can fail
  for (int t = 15; t <= 45; t += 10) {
    const double e = error(p, aid(t, t, method));
    EXPECT_LT(e, previous * std::pow(q, 10) * 3.0) << "t = k = " << t;
    previous = e;
  }
  EXPECT_LT(error(p, aid(200, 200, method)), 1e-10);
}

TEST(DeterministicAid, FixedPointConvergesGeometricallySymmetric) {
  check_geometric(symmetric(0.6), 0.6, LinearSystemMethod::kFixedPoint);
}

TEST(DeterministicAid, FixedPointConvergesGeometricallyNonSymmetric) {
  check_geometric(nonsymmetric(0.6), 0.6, LinearSystemMethod::kFixedPoint);
}

TEST(DeterministicAid, ConjugateGradientIsExactAfterDimIterations) {
  const auto p = symmetric(0.9);
  // CG on a 10-dimensional SPD system is exact (up to rounding) after 10 steps; fixed point is not.
  const double cg = error(p, aid(400, 10, LinearSystemMethod::kConjugateGradient));
  const double fp = error(p, aid(400, 10, LinearSystemMethod::kFixedPoint));
  EXPECT_LT(cg, 1e-9);
  EXPECT_GT(fp, 1e3 * cg);
}

TEST(DeterministicAid, ConjugateGradientRefusesANonSymmetricJacobian) {
  const auto p = nonsymmetric(0.5);
  EXPECT_THROW(HypergradientEstimator(p, aid(10, 10, LinearSystemMethod::kConjugateGradient)), InvalidOptions);
}

TEST(DeterministicAid, DampedStepsConvergeToTheSameLimit) {
  const auto p = nonsymmetric(0.5);
  EstimatorOptions o = aid(300, 300);
  o.ll.step.step = 0.5;
  o.ls.step.step = 0.7;
  EXPECT_LT(error(p, o), 1e-10);
}

TEST(DeterministicAid, LinearSystemErrorContractsByQPerStep) {
  // With w exact, v_k - v* = (d_w Phi^T)^k (v_0 - v*) and ||d_w Phi|| = q: the bound is exact theory.
  const auto p = nonsymmetric(0.5);
  const Vector<double> l = test_lambda(3);
  const Vector<double> v_star = p.exact(l).v;
  auto ls_error = [&](int k) {
    HypergradientEstimator est(p, aid(200, k));
    EstimatorState<double> state;
    EstimatorStreams streams(1);
    OracleCounts c;
    return (est.compute(l, state, streams, c).v - v_star).norm();
  };
  const double e0 = ls_error(0);  // v_0 = 0: the error is ||v*||
  EXPECT_NEAR(e0, v_star.norm(), 1e-12);
  for (int k : {2, 4, 8}) {
    const double ek = ls_error(k);
    EXPECT_LE(ek, e0 * std::pow(0.5, k) * (1 + 1e-9)) << "k = " << k;
    EXPECT_GT(ek, 1e-12) << "k = " << k;
  }
}

TEST(DeterministicAid, CountsOracleCallsAndSamplesExactly) {
  const auto p = nonsymmetric(0.5);
  OracleCounts c;
  estimate(p, aid(7, 5), test_lambda(3), 1, &c);
  EXPECT_EQ(c.map_evals, 7);
  EXPECT_EQ(c.jacobian_w_products, 5);
  EXPECT_EQ(c.jacobian_lambda_products, 1);
  EXPECT_EQ(c.outer_evals, 1);
  EXPECT_EQ(c.gradients(), 8);
  EXPECT_EQ(c.matvecs(), 6);
  EXPECT_EQ(c.samples_ll, 7 + 5 + 1);  // population of one example
  EXPECT_EQ(c.samples_ul, 1);
}

TEST(DeterministicAid, ValidatesOptions) {
  const auto p = nonsymmetric(0.5);
  EstimatorOptions o = aid(0, 5);
  EXPECT_THROW(HypergradientEstimator(p, o), InvalidOptions);
  o = aid(5, 5);
  o.ll.batch_size = 2;  // the deterministic problem has one example
  EXPECT_THROW(HypergradientEstimator(p, o), InvalidOptions);
  o = aid(5, 5);
  o.ls.step.step = -1;
  EXPECT_THROW(HypergradientEstimator(p, o), InvalidOptions);
  const auto noisy = nonsymmetric(0.5, 1.0, 1.0);
  EXPECT_THROW(HypergradientEstimator(noisy, aid(5, 5)), InvalidOptions);  // no full batch of a stream
}

TEST(DeterministicAid, NonFiniteIteratesStopWithAClearMessage) {
  const auto p = nonsymmetric(0.9);
  EstimatorOptions o = aid(2000, 5);
  o.ll.step.step = 50.0;  // (1 - eta) I + eta M is far from a contraction: the iterates blow up
  try {
    estimate(p, o, test_lambda(3));
    FAIL() << "expected a NumericalError";
  } catch (const NumericalError& e) {
    EXPECT_NE(std::string(e.what()).find("lower-level iterate"), std::string::npos) << e.what();
  }
}

TEST(DeterministicAid, AGrowingLowerLevelResidualStopsBeforeOverflow) {
  const auto p = nonsymmetric(0.9);
  EstimatorOptions o = aid(20, 5);
  o.ll.step.step = 3.0;  // (1 - eta) I + eta M has eigenvalues beyond 1 in modulus: finite but expanding
  try {
    estimate(p, o, test_lambda(3));
    FAIL() << "expected a NumericalError";
  } catch (const NumericalError& e) {
    EXPECT_NE(std::string(e.what()).find("not a contraction"), std::string::npos) << e.what();
  }
  o.ll.step.step = 1.0;  // the same problem at a contracting step passes
  EXPECT_NO_THROW(estimate(p, o, test_lambda(3)));
}

TEST(DeterministicAid, FloatAgreesWithDoubleToFloatPrecision) {
  const auto o = quadratic(0.6);
  MinimizationAdapter pd(QuadraticMinimization<double>(o), 1.0);
  MinimizationAdapter pf(QuadraticMinimization<float>(o), 1.0f);
  const Vector<double> l = test_lambda(3);
  const Vector<double> hd = estimate(pd, aid(60, 60), l);
  HypergradientEstimator ef(pf, aid(60, 60));
  EstimatorState<float> state;
  EstimatorStreams streams(1);
  OracleCounts c;
  const Vector<float> lf = l.cast<float>();
  const Vector<float> hf = ef.compute(lf, state, streams, c).hypergradient;
  EXPECT_LE((hf.cast<double>() - hd).norm(), 1e-5 * hd.norm());
}

}  // namespace deterministic_test
}  // namespace bilevel

namespace bilevel {
namespace deterministic_test {
using namespace testing;

TEST(DeterministicAid, LowerLevelToleranceStopsEarlyAtTheRequestedResidual) {
  const auto p = nonsymmetric(0.6);
  EstimatorOptions o = aid(1000, 200);
  o.ll.tolerance = 1e-9;
  HypergradientEstimator est(p, o);
  EstimatorState<double> state;
  EstimatorStreams streams(1);
  OracleCounts counts;
  const Vector<double> l = test_lambda(p.dim_lambda());
  const auto& r = est.compute(l, state, streams, counts);
  EXPECT_LT(r.ll_steps, 100);  // q = 0.6: about 45 steps, not 1000
  EXPECT_GT(r.ll_steps, 20);
  EXPECT_EQ(counts.map_evals, r.ll_steps);
  EXPECT_LE(r.ll_residual, 1e-9 * (1 + r.w.norm()));
  // The residual bounds the error: ||w - w*|| <= residual / (1 - q).
  EXPECT_LE((r.w - p.exact(l).w).norm(), r.ll_residual / 0.4 + 1e-14);
  EXPECT_LT((r.hypergradient - p.exact(l).hypergradient).norm(), 1e-7);
}

}  // namespace deterministic_test
}  // namespace bilevel
