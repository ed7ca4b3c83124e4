#include "bilevel/core/constraints.hpp"
#include "bilevel/core/linalg.hpp"

#include <gtest/gtest.h>

#include <Eigen/QR>
#include <Eigen/SVD>
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <utility>

#include "bilevel/core/rng.hpp"

namespace bilevel {
namespace constraints_test {

Vector<double> gaussian(Rng& r, Index n, double scale) {
  Vector<double> x(n);
  for (Index i = 0; i < n; ++i) x(i) = scale * r.normal();
  return x;
}

// The properties that define the Euclidean projection onto a closed convex set C, checked on random
// points: P(x) is in C, P(P(x)) = P(x), and (x - P(x))^T (y - P(x)) <= 0 for every y in C (which is
// equivalent to P(x) being the nearest point); the last is checked on many feasible y.
void check_projection(const ConstraintSet<double>& set, Index n, double scale) {
  Rng r(42);
  for (int trial = 0; trial < 50; ++trial) {
    const Vector<double> x = gaussian(r, n, scale);
    Vector<double> p = x;
    set.project(p);
    ASSERT_TRUE(set.contains(p, 1e-9)) << set.describe();
    Vector<double> pp = p;
    set.project(pp);
    ASSERT_LE((pp - p).norm(), 1e-9 * (1 + p.norm())) << "not idempotent: " << set.describe();
    for (int k = 0; k < 20; ++k) {
      Vector<double> y = gaussian(r, n, scale);
      set.project(y);  // a feasible point
      ASSERT_LE((x - p).dot(y - p), 1e-9 * (1 + x.squaredNorm())) << set.describe();
      ASSERT_LE((x - p).norm(), (x - y).norm() + 1e-9) << set.describe();
    }
  }
}

TEST(Constraints, UnconstrainedIsIdentity) {
  Unconstrained<double> set;
  Vector<double> x = Vector<double>::LinSpaced(5, -3, 3), y = x;
  set.project(y);
  EXPECT_EQ(x, y);
  check_projection(set, 5, 3.0);
}

TEST(Constraints, BoxClampsAndIsAProjection) {
  Box<double> set(-1.0, 2.0);
  Vector<double> x(3);
  x << -5, 0.5, 7;
  set.project(x);
  EXPECT_DOUBLE_EQ(x(0), -1);
  EXPECT_DOUBLE_EQ(x(1), 0.5);
  EXPECT_DOUBLE_EQ(x(2), 2);
  check_projection(set, 6, 3.0);
  Vector<double> lo = Vector<double>::Constant(4, -0.5), hi = Vector<double>::LinSpaced(4, 0.0, 3.0);
  check_projection(Box<double>(lo, hi), 4, 3.0);
  EXPECT_THROW(Box<double>(1.0, 0.0), InvalidOptions);
}

TEST(Constraints, NonNegativeOrthant) { check_projection(NonNegative<double>(), 7, 2.0); }

TEST(Constraints, LInfBallAroundACentre) {
  Vector<double> c = Vector<double>::LinSpaced(5, -1, 1);
  LInfBall<double> set(0.3, c);
  Vector<double> x = c + Vector<double>::Constant(5, 1.0);
  set.project(x);
  EXPECT_NEAR((x - c).maxCoeff(), 0.3, 1e-15);
  check_projection(set, 5, 2.0);
  check_projection(LInfBall<double>(0.5), 5, 2.0);
  EXPECT_THROW(LInfBall<double>(0.0), InvalidOptions);
}

TEST(Constraints, L2BallScalesOntoTheSphere) {
  L2Ball<double> set(2.0);
  Vector<double> x(2);
  x << 3, 4;
  set.project(x);
  EXPECT_NEAR(x(0), 1.2, 1e-15);
  EXPECT_NEAR(x(1), 1.6, 1e-15);
  check_projection(set, 6, 2.0);
  check_projection(L2Ball<double>(0.5, Vector<double>::Ones(6)), 6, 2.0);
  EXPECT_THROW(L2Ball<double>(-1.0), InvalidOptions);
}

TEST(Constraints, SpectralNormBallClipsSingularValues) {
  // diag(3, 0.5, 2) -> diag(1, 0.5, 1): the closed form for a diagonal matrix.
  SpectralNormBall<double> set(3, 3, 1.0);
  Matrix<double> a = Matrix<double>::Zero(3, 3);
  a.diagonal() << 3, 0.5, 2;
  Vector<double> x = Eigen::Map<Vector<double>>(a.data(), 9);
  set.project(x);
  Matrix<double> expected = Matrix<double>::Zero(3, 3);
  expected.diagonal() << 1, 0.5, 1;
  EXPECT_LE((Eigen::Map<Matrix<double>>(x.data(), 3, 3) - expected).norm(), 1e-12);
  check_projection(set, 9, 1.0);
  check_projection(SpectralNormBall<double>(4, 2, 0.5), 8, 1.0);  // tall: through A^T A
  check_projection(SpectralNormBall<double>(2, 4, 0.5), 8, 1.0);  // wide: through A A^T
  Vector<double> wrong_size = Vector<double>::Zero(8);
  EXPECT_THROW(set.project(wrong_size), InvalidOptions);
}

TEST(Constraints, SpectralNormOfARankOneMatrixIsTheProductOfItsFactorsNorms) {
  // u v^T with ||u|| = 3, ||v|| = 2 has the one singular value 6; clipping to 1.5 scales it by 1/4.
  Vector<double> u(3), v(4);
  u << 1, 2, 2;
  v << 1, 1, 1, 1;
  Matrix<double> a = u * v.transpose();
  EXPECT_NEAR(spectral_norm<double>(a), 6.0, 1e-14);
  EXPECT_NEAR(spectral_norm<double>(Matrix<double>(a.transpose())), 6.0, 1e-14);
  EXPECT_NEAR(spectral_norm<float>(a.cast<float>()), 6.0f, 1e-5f);
  const Matrix<double> original = a;
  EXPECT_TRUE(clip_spectral_norm<double>(a, 1.5));
  EXPECT_LE((a - original / 4).norm(), 1e-13);
  EXPECT_FALSE(clip_spectral_norm<double>(a, 2.0));  // inside already: unchanged
}

TEST(Constraints, BlockProductProjectsEachBlockAndLeavesTheRestFree) {
  BlockProduct<double> set({{0, 4, std::make_shared<SpectralNormBall<double>>(2, 2, 0.5)},
                            {6, 3, std::make_shared<Box<double>>(-1.0, 1.0)}});
  Vector<double> x = Vector<double>::Constant(10, 5.0);
  set.project(x);
  EXPECT_DOUBLE_EQ(x(4), 5.0);  // free coordinates untouched
  EXPECT_DOUBLE_EQ(x(5), 5.0);
  EXPECT_DOUBLE_EQ(x(9), 5.0);
  EXPECT_DOUBLE_EQ(x(7), 1.0);
  check_projection(set, 10, 2.0);
  EXPECT_THROW(BlockProduct<double>({{0, 4, std::make_shared<NonNegative<double>>()},
                                     {3, 2, std::make_shared<NonNegative<double>>()}}),
               InvalidOptions);
}

TEST(Constraints, FloatProjectionAgreesWithDouble) {
  SpectralNormBall<float> fset(3, 3, 0.5f);
  SpectralNormBall<double> dset(3, 3, 0.5);
  Rng r(1);
  Vector<double> x = gaussian(r, 9, 1.0);
  Vector<float> xf = x.cast<float>();
  dset.project(x);
  fset.project(xf);
  EXPECT_LE((xf.cast<double>() - x).norm(), 1e-5);
}

// A matrix with known singular values: U diag(sigma) V^T from the orthogonal factors of random ones.
Matrix<double> with_singular_values(Index rows, Index cols, const Vector<double>& sigma, std::uint64_t seed) {
  Rng rng(seed);
  auto random = [&](Index r, Index c) {
    Matrix<double> m(r, c);
    for (Index j = 0; j < c; ++j)
      for (Index i = 0; i < r; ++i) m(i, j) = rng.normal();
    return m;
  };
  const Index k = sigma.size();
  const Matrix<double> u = Eigen::HouseholderQR<Matrix<double>>(random(rows, k)).householderQ() * Matrix<double>::Identity(rows, k);
  const Matrix<double> v = Eigen::HouseholderQR<Matrix<double>>(random(cols, k)).householderQ() * Matrix<double>::Identity(cols, k);
  return u * sigma.asDiagonal() * v.transpose();
}

TEST(Constraints, SpectralClipMovesOnlyTheSingularValuesAboveTheRadius) {
  // Five of eight singular values above 1: they become 1, the others and the singular vectors stay.
  Vector<double> sigma(8), clipped(8);
  sigma << 3.0, 2.5, 2.0, 1.5, 1.0001, 0.9, 0.5, 0.1;
  clipped << 1.0, 1.0, 1.0, 1.0, 1.0, 0.9, 0.5, 0.1;
  for (auto [rows, cols] : {std::pair<Index, Index>{30, 20}, {20, 30}}) {  // through A^T A and A A^T
    Matrix<double> a = with_singular_values(rows, cols, sigma, 5);
    const Eigen::JacobiSVD<Matrix<double>> before(a, Eigen::ComputeThinU | Eigen::ComputeThinV);
    EXPECT_TRUE(clip_spectral_norm<double>(a, 1.0));
    const Matrix<double> expected = before.matrixU() * before.singularValues().cwiseMin(1.0).asDiagonal() *
                                    before.matrixV().transpose();
    EXPECT_LE((a - expected).norm(), 1e-12) << rows << "x" << cols;
    EXPECT_NEAR(spectral_norm<double>(a), 1.0, 1e-12);
    EXPECT_LE((Eigen::JacobiSVD<Matrix<double>>(a).singularValues().head(8) - clipped).norm(), 1e-12);
  }
}

TEST(Constraints, SpectralClipOfSmallMatricesIsTheSvdClip) {
  // The reduction's edge cases: Gram matrices of order 1 to 9 (no reflector, one of length 1, and the
  // column blocks of four with every remainder), tall and wide, against the clip of the SVD.
  Rng r(9);
  for (Index n = 1; n <= 9; ++n) {
    for (auto [rows, cols] : {std::pair<Index, Index>{n + 3, n}, {n, n + 3}}) {
      Matrix<double> a(rows, cols);
      for (Index i = 0; i < a.size(); ++i) a.data()[i] = r.normal();
      const Eigen::JacobiSVD<Matrix<double>> before(a, Eigen::ComputeThinU | Eigen::ComputeThinV);
      const double radius = before.singularValues()(n / 2) + 1e-3;  // about half the values clipped
      const Matrix<double> expected = before.matrixU() * before.singularValues().cwiseMin(radius).asDiagonal() *
                                      before.matrixV().transpose();
      EXPECT_EQ(clip_spectral_norm<double>(a, radius), before.singularValues()(0) > radius) << rows << "x" << cols;
      EXPECT_LE((a - expected).norm(), 1e-12 * (1 + expected.norm())) << rows << "x" << cols;
    }
  }
}

TEST(Constraints, SpectralClipDoesNotDependOnTheCallsBeforeIt) {
  // A clip keeps its workspaces between calls (per thread): its decision and result after a clip must
  // be those after an inside matrix, bit for bit.
  Vector<double> outside(4), inside(4);
  outside << 2.0, 1.2, 0.7, 0.3;
  inside << 0.9, 0.8, 0.2, 0.1;
  const Matrix<double> out = with_singular_values(12, 9, outside, 7), in = with_singular_values(12, 9, inside, 8);
  for (const Matrix<double>* probe : {&out, &in}) {
    Matrix<double> after_clip = out, after_inside = in, x = *probe, y = *probe;
    ASSERT_TRUE(clip_spectral_norm<double>(after_clip, 1.0));
    const bool changed_after_clip = clip_spectral_norm<double>(x, 1.0);
    ASSERT_FALSE(clip_spectral_norm<double>(after_inside, 1.0));
    const bool changed_after_inside = clip_spectral_norm<double>(y, 1.0);
    EXPECT_EQ(changed_after_clip, changed_after_inside);
    EXPECT_EQ(changed_after_clip, probe == &out);
    EXPECT_TRUE((x.array() == y.array()).all());
  }
}

TEST(Constraints, SpectralClipOfClusteredSingularValues) {
  // What a run's projections see (equilibrium models, h = 200; here n = 120): the values clipped at
  // the last step, all equal to the radius before it, come back as a tight cluster just above it (here
  // 4 equal values, 3 within 1e-9 and 2 within 1e-13 of each other), next to values just below it. Any
  // orthonormal basis of a cluster's eigenvectors gives the same clip; a basis that mixed in vectors of
  // values below the radius would move them.
  const Index n = 120;
  Vector<double> sigma(n);
  Rng r(3);
  for (Index i = 0; i < n; ++i) sigma(i) = std::min(0.45, 0.15 * std::abs(r.normal()));  // all below the radius
  sigma.head(12) << 0.7, 0.7, 0.7, 0.7, 0.5 + 3e-9, 0.5 + 2e-9, 0.5 + 1e-9, 0.5 + 2e-13, 0.5 + 1e-13, 0.5, 0.5 - 1e-9, 0.499;
  std::sort(sigma.data(), sigma.data() + n, std::greater<>());
  Matrix<double> a = with_singular_values(n, n, sigma, 11);
  const Eigen::JacobiSVD<Matrix<double>> before(a, Eigen::ComputeThinU | Eigen::ComputeThinV);
  ASSERT_TRUE(clip_spectral_norm<double>(a, 0.5));
  const Matrix<double> expected = before.matrixU() * before.singularValues().cwiseMin(0.5).asDiagonal() *
                                  before.matrixV().transpose();
  EXPECT_LE((a - expected).norm(), 1e-12);
  const Vector<double> after = Eigen::JacobiSVD<Matrix<double>>(a).singularValues();
  EXPECT_NEAR(after(0), 0.5, 1e-13);  // n eps: the SVD check's own error
  EXPECT_NEAR(after(8), 0.5, 1e-13);
  EXPECT_NEAR(after(10), 0.5 - 1e-9, 1e-13);  // below the radius: unchanged
  EXPECT_NEAR(after(11), 0.499, 1e-13);
  EXPECT_FALSE(clip_spectral_norm<double>(a, 0.5 + 1e-12));  // nothing is left above the radius
}

TEST(Constraints, FloatSpectralClipAtEquilibriumsSizeIsTheExactClipToFloatRounding) {
  // A float matrix is clipped in float (the Gram matrix, its reduction): the result must be the exact
  // clip of the same matrix (in double) to a few float rounding units, at equilibrium's h = 200 with
  // what a run meets: values just above the radius, a cluster at it, values just below.
  const Index n = 200;
  Vector<double> sigma(n);
  for (Index i = 0; i < n; ++i) sigma(i) = 0.49 * (1 - static_cast<double>(i) / static_cast<double>(n));
  sigma.head(6) << 0.5 + 2e-3, 0.5 + 1e-4, 0.5 + 1e-6, 0.5, 0.5, 0.4983;
  const Matrix<float> a = with_singular_values(n, n, sigma, 13).cast<float>();
  Matrix<double> exact = a.cast<double>();
  ASSERT_TRUE(clip_spectral_norm<double>(exact, 0.5));
  Matrix<float> clipped = a;
  ASSERT_TRUE(clip_spectral_norm<float>(clipped, 0.5f));
  const double error = (clipped.cast<double>() - exact).norm() / exact.norm();
  EXPECT_LE(error, 2e-7);  // measured 2.7e-8; 2.6e-8 when the clip of a float matrix ran in double
  const Vector<double> after = Eigen::JacobiSVD<Matrix<double>>(clipped.cast<double>()).singularValues();
  EXPECT_NEAR(after(0), 0.5, 2e-7);  // a few float rounding units (6e-8 at 0.5)
  EXPECT_NEAR(after(2), 0.5, 2e-7);
  EXPECT_NEAR(after(5), 0.4983, 2e-7);  // below the radius: unchanged
}

TEST(Constraints, SpectralClipLeavesANonFiniteMatrixAsItIs) {
  // LAPACK's bisection never ends on a NaN (fuzz_state found the hang); the outer loop reports the NaN.
  for (double bad : {std::nan(""), std::numeric_limits<double>::infinity(), 1e300}) {
    Matrix<double> a = Matrix<double>::Identity(6, 4) * 2.0;
    a(3, 1) = bad;
    const Matrix<double> before = a;
    EXPECT_FALSE(clip_spectral_norm<double>(a, 1.0)) << bad;
    EXPECT_TRUE(((a.array() == before.array()) || (a.array().isNaN() && before.array().isNaN())).all()) << bad;
  }
}

// A matrix whose Gram matrix is finite but whose tridiagonal reduction is not: one entry near -1e154
// puts G's largest entry near 1.1e308, and the reflectors' squared norms overflow. The reduction left
// NaN in T and LAPACK's bisection never ended (fuzz_state found the hang: equilibrium's A, 4 x 4, in a
// corrupted saved state; this is that A). Such a T now goes to Eigen's full decomposition, which scales
// G first, and the clip ends.
TEST(Constraints, SpectralClipOfAMatrixWhoseReductionOverflowsEnds) {
  Matrix<double> a(4, 4);
  a << 0.0045567955502518777, -1.0575888917117537e+154, 5.4821844144157685e+29, 2.8928307660158548e+29,
      -0.003270901125063435, 0.0043678981743198366, 2.7871439424515323e+29, -8.4619104239144823e+33,
      -0.0035304722547900218, -1400.5416749679425, 8.8003331959847699e+33, 3.0987589804167254e+29,
      -1.7964429703593439e+30, -1.7803619578825513e+29, -8.2021836495754061e+33, -6.8620158159961444e+33;
  const Matrix<double> g = a.transpose() * a;
  ASSERT_TRUE(g.allFinite());
  ASSERT_FALSE(std::isfinite(g.col(1).squaredNorm()));  // what a reflector of the reduction sums
  EXPECT_TRUE(clip_spectral_norm<double>(a, 0.5));
  EXPECT_TRUE(a.allFinite());
}

}  // namespace constraints_test
}  // namespace bilevel
