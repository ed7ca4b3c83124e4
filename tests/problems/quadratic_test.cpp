#include "bilevel/problems/quadratic.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "bilevel/problems/finite_difference.hpp"
#include "bilevel/problems/minimization_adapter.hpp"

namespace bilevel {
namespace quadratic_test {

QuadraticOptions small(double noise_ll = 0, double noise_ul = 0) {
  QuadraticOptions o;
  o.dim_w = 8;
  o.dim_lambda = 3;
  o.contraction = 0.7;
  o.noise_ll = noise_ll;
  o.noise_ul = noise_ul;
  o.seed = 3;
  return o;
}

Vector<double> point(Index n, double shift) { return Vector<double>::LinSpaced(n, -1.0 + shift, 1.0 + shift); }

const std::vector<SampleId> kOne{0};
const std::vector<SampleId> kNoisyBatch{11, 12, 13};

static_assert(BilevelProblem<QuadraticFixedPoint<double>>);
static_assert(BilevelProblem<MinimizationAdapter<QuadraticMinimization<float>>>);
static_assert(MinimizationProblem<QuadraticMinimization<double>>);

TEST(Quadratic, FixedPointOraclesPassFiniteDifferences) {
  for (double noise : {0.0, 0.5}) {
    QuadraticFixedPoint<double> p(small(noise, noise));
    const Batch b = noise > 0 ? Batch(kNoisyBatch) : Batch(kOne);
    const auto report = check_oracles(p, point(8, 0.1), point(3, -0.2), b, b);
    EXPECT_TRUE(report.passed()) << report.summary();
  }
}

TEST(Quadratic, MinimizationOraclesAndAdapterPassFiniteDifferences) {
  for (double noise : {0.0, 0.5}) {
    QuadraticMinimization<double> base(small(noise, noise));
    const Batch b = noise > 0 ? Batch(kNoisyBatch) : Batch(kOne);
    const auto ll = check_minimization_oracles(base, point(8, 0.3), point(3, 0.1), b, b);
    EXPECT_TRUE(ll.passed()) << ll.summary();
    MinimizationAdapter adapter(base, 0.8);
    const auto fp = check_oracles(adapter, point(8, 0.3), point(3, 0.1), b, b);
    EXPECT_TRUE(fp.passed()) << fp.summary();
  }
}

TEST(Quadratic, AdapterIsTheGradientStepMap) {
  QuadraticMinimization<double> base(small());
  const double gamma = 0.6;
  MinimizationAdapter adapter(base, gamma);
  const Vector<double> w = point(8, 0.2), l = point(3, 0.0);
  Vector<double> phi(8), g(8);
  adapter.map(w, l, kOne, phi);
  base.ll_grad(w, l, kOne, g);
  EXPECT_LE((phi - (w - gamma * g)).norm(), 1e-14);
}

// The closed form is right: w* is a fixed point, v solves the linear system, and grad f matches a
// finite difference of f(lambda) = E(w*(lambda), lambda).
template <class P>
void check_exact(const P& p) {
  const Vector<double> l = point(p.dim_lambda(), 0.4);
  const auto x = p.exact(l);
  Vector<double> phi(p.dim_w()), jv(p.dim_w()), gw(p.dim_w());
  p.map(x.w, l, kOne, phi);
  EXPECT_LE((phi - x.w).norm(), 1e-12 * (1 + x.w.norm()));
  p.map_vjp_w(x.w, l, x.v, kOne, jv);
  p.outer(x.w, l, kOne, &gw, nullptr);
  EXPECT_LE((x.v - jv - gw).norm(), 1e-12 * (1 + x.v.norm()));
  const double e = 1e-5;
  for (Index i = 0; i < p.dim_lambda(); ++i) {
    Vector<double> lp = l, lm = l;
    lp(i) += e;
    lm(i) -= e;
    const double fd = (p.exact(lp).value - p.exact(lm).value) / (2 * e);
    EXPECT_NEAR(x.hypergradient(i), fd, 1e-7 * (1 + std::abs(fd)));
  }
}

TEST(Quadratic, ExactSolutionOfBothForms) {
  check_exact(QuadraticFixedPoint<double>(small()));
  check_exact(MinimizationAdapter(QuadraticMinimization<double>(small()), 1.0));
  check_exact(MinimizationAdapter(QuadraticMinimization<double>(small()), 0.5));
}

TEST(Quadratic, HypergradientDoesNotDependOnGamma) {
  QuadraticMinimization<double> base(small());
  const Vector<double> l = point(3, 0.0);
  EXPECT_LE((base.exact(l, 1.0).hypergradient - base.exact(l, 0.3).hypergradient).norm(), 1e-10);
}

// Power iteration on d_w Phi^T d_w Phi: the map is a contraction with the constant it was built with.
template <class P>
double estimate_contraction(const P& p) {
  Vector<double> u = Vector<double>::Ones(p.dim_w()), a(p.dim_w()), jt(p.dim_w());
  const Vector<double> w = Vector<double>::Zero(p.dim_w()), l = Vector<double>::Zero(p.dim_lambda());
  double q = 0;
  for (int it = 0; it < 500; ++it) {
    u.normalize();
    // J u by finite differences of the (affine) map, then J^T (J u) by the oracle.
    Vector<double> p1(p.dim_w()), p0(p.dim_w());
    p.map(w + u, l, kOne, p1);
    p.map(w, l, kOne, p0);
    a = p1 - p0;
    p.map_vjp_w(w, l, a, kOne, jt);
    q = std::sqrt(jt.norm());
    u = jt;
  }
  return q;
}

TEST(Quadratic, LowerLevelMapIsAContractionWithTheRequestedConstant) {
  EXPECT_NEAR(estimate_contraction(QuadraticFixedPoint<double>(small())), 0.7, 1e-6);
  EXPECT_NEAR(estimate_contraction(MinimizationAdapter(QuadraticMinimization<double>(small()), 1.0)), 0.7, 1e-6);
}

TEST(Quadratic, NoiseIsUnbiasedAndShrinksWithTheBatch) {
  QuadraticFixedPoint<double> exact(small());
  QuadraticFixedPoint<double> noisy(small(1.0, 1.0));
  const Vector<double> w = point(8, 0.0), l = point(3, 0.0);
  Vector<double> truth(8), out(8);
  exact.map(w, l, kOne, truth);
  auto mean_sq_error = [&](std::size_t batch, int reps, Vector<double>* mean) {
    double mse = 0;
    mean->setZero(8);
    for (int r = 0; r < reps; ++r) {
      std::vector<SampleId> ids(batch);
      for (std::size_t i = 0; i < batch; ++i) ids[i] = 1000003ULL * static_cast<SampleId>(r) + i;
      noisy.map(w, l, ids, out);
      mse += (out - truth).squaredNorm() / reps;
      *mean += out / reps;
    }
    return mse;
  };
  Vector<double> mean1, mean4;
  const double mse1 = mean_sq_error(1, 4000, &mean1);
  const double mse4 = mean_sq_error(4, 4000, &mean4);
  EXPECT_NEAR(mse1 / mse4, 4.0, 0.4);                          // variance ~ 1 / batch
  EXPECT_LE((mean1 - truth).norm(), 4 * std::sqrt(mse1 / 4000));  // unbiased within 4 standard errors
}

TEST(Quadratic, FloatAndDoubleDescribeTheSameProblem) {
  QuadraticFixedPoint<double> pd(small(0.3, 0.3));
  QuadraticFixedPoint<float> pf(small(0.3, 0.3));
  const Vector<double> w = point(8, 0.0), l = point(3, 0.0);
  Vector<double> od(8);
  Vector<float> of(8);
  pd.map(w, l, kNoisyBatch, od);
  pf.map(w.cast<float>(), l.cast<float>(), kNoisyBatch, of);
  EXPECT_LE((of.cast<double>() - od).norm(), 1e-5 * od.norm());
}

TEST(Quadratic, RejectsBadOptions) {
  QuadraticOptions o = small();
  o.contraction = 1.0;
  EXPECT_THROW(QuadraticFixedPoint<double>{o}, InvalidOptions);
  o = small();
  o.dim_w = 0;
  EXPECT_THROW(QuadraticFixedPoint<double>{o}, InvalidOptions);
}

}  // namespace quadratic_test
}  // namespace bilevel
