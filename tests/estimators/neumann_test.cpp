// The truncated Neumann series v = eta sum_{q=0..Q} (I - eta (I - d_w Phi^T))^q g (DESIGN.md section 4).
#include <gtest/gtest.h>

#include "fixtures.hpp"

namespace bilevel {
namespace neumann_test {
using namespace testing;

// The closed form computed densely from the matrix d_w Phi^T, built column by column from the oracle.
template <class P>
Vector<double> dense_neumann(const P& p, const Vector<double>& w, const Vector<double>& l, const Vector<double>& g,
                             double eta, int terms) {
  const Index d = p.dim_w();
  const std::vector<SampleId> one{0};
  Matrix<double> jt(d, d);
  for (Index i = 0; i < d; ++i) {
    Vector<double> col(d);
    p.map_vjp_w(w, l, Vector<double>::Unit(d, i), one, col);
    jt.col(i) = col;
  }
  const Matrix<double> b = Matrix<double>::Identity(d, d) - eta * (Matrix<double>::Identity(d, d) - jt);
  Vector<double> sum = Vector<double>::Zero(d), term = g;
  for (int q = 0; q <= terms; ++q) {
    sum += term;
    term = b * term;
  }
  return eta * sum;
}

template <class P>
void check_series(const P& p, double eta, int terms) {
  EstimatorOptions o = aid(50, terms, LinearSystemMethod::kNeumann);
  o.ls.step.step = eta;
  HypergradientEstimator est(p, o);
  EstimatorState<double> state;
  EstimatorStreams streams(1);
  OracleCounts c;
  const Vector<double> l = test_lambda(p.dim_lambda());
  const auto& r = est.compute(l, state, streams, c);
  Vector<double> g(p.dim_w());
  p.outer(r.w, l, std::vector<SampleId>{0}, &g, nullptr);
  const Vector<double> expected = dense_neumann(p, r.w, l, g, eta, terms);
  EXPECT_LE((r.v - expected).norm(), 1e-12 * expected.norm()) << "eta " << eta << ", Q " << terms;
  EXPECT_EQ(c.jacobian_w_products, terms);
}

TEST(Neumann, MatchesTheDenseClosedForm) {
  for (int q : {0, 1, 5, 20}) {
    check_series(nonsymmetric(0.7), 1.0, q);
    check_series(nonsymmetric(0.7), 0.4, q);
    check_series(symmetric(0.9), 0.3, q);
  }
}

TEST(Neumann, ConvergesToTheLinearSystemSolution) {
  const auto p = symmetric(0.6);
  EstimatorOptions o = aid(200, 200, LinearSystemMethod::kNeumann);
  o.ls.step.step = 0.8;
  EXPECT_LT(error(p, o), 1e-10);
}

TEST(Neumann, WithUnitStepEqualsFixedPointIterationFromTheOuterGradient) {
  // eta = 1: sum_{q<=k} (d_w Phi^T)^q g is exactly k fixed-point steps from v_0 = g.
  const auto p = nonsymmetric(0.7);
  EstimatorOptions fp = aid(40, 6);
  fp.ls.start = LinearSystemStart::kOuterGradient;
  const Vector<double> l = test_lambda(3);
  EXPECT_LE((estimate(p, aid(40, 6, LinearSystemMethod::kNeumann), l) - estimate(p, fp, l)).norm(), 1e-12);
}

TEST(Neumann, StochasticSeriesIsUnbiasedGivenTheLowerLevelSolution) {
  // Each power uses an independent minibatch, so E[v | w] is the deterministic series at w.
  const auto noisy = nonsymmetric(0.6, 0.4, 0.0);
  const auto exact = nonsymmetric(0.6);
  EstimatorOptions o = aid(30, 4, LinearSystemMethod::kNeumann);
  o.ll.batch_size = 8;
  o.ls.batch_size = 1;
  o.cross_batch_size = 1;
  o.ls.step.step = 0.8;
  const Vector<double> l = test_lambda(3);
  const int seeds = 2000;
  Vector<double> mean_diff = Vector<double>::Zero(10);
  double sq = 0;
  for (int s = 0; s < seeds; ++s) {
    HypergradientEstimator est(noisy, o);
    EstimatorState<double> state;
    EstimatorStreams streams(static_cast<std::uint64_t>(s));
    OracleCounts c;
    const auto& r = est.compute(l, state, streams, c);
    Vector<double> g(10);
    exact.outer(r.w, l, std::vector<SampleId>{0}, &g, nullptr);
    const Vector<double> diff = r.v - dense_neumann(exact, r.w, l, g, 0.8, 4);
    mean_diff += diff / seeds;
    sq += diff.squaredNorm() / seeds;
  }
  const double standard_error = std::sqrt(sq / seeds);
  EXPECT_GT(sq, 1e-4);  // the noise is real
  EXPECT_LT(mean_diff.norm(), 4 * standard_error);
}

}  // namespace neumann_test
}  // namespace bilevel
