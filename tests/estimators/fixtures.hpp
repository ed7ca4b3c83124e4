#pragma once
// Shared helpers of the estimator tests: small quadratic problems with known solutions.
#include <cmath>

#include "bilevel/estimators/hypergradient.hpp"
#include "bilevel/problems/minimization_adapter.hpp"
#include "bilevel/problems/quadratic.hpp"

namespace bilevel::testing {

inline QuadraticOptions quadratic(double q, double noise_ll = 0, double noise_ul = 0, Index d = 10, Index m = 3) {
  QuadraticOptions o;
  o.dim_w = d;
  o.dim_lambda = m;
  o.contraction = q;
  o.noise_ll = noise_ll;
  o.noise_ul = noise_ul;
  o.seed = 17;
  return o;
}

using SymmetricQuadratic = MinimizationAdapter<QuadraticMinimization<double>>;
inline SymmetricQuadratic symmetric(double q, double noise_ll = 0, double noise_ul = 0) {
  return SymmetricQuadratic(QuadraticMinimization<double>(quadratic(q, noise_ll, noise_ul)), 1.0);
}
inline QuadraticFixedPoint<double> nonsymmetric(double q, double noise_ll = 0, double noise_ul = 0) {
  return QuadraticFixedPoint<double>(quadratic(q, noise_ll, noise_ul));
}

inline Vector<double> test_lambda(Index m) { return Vector<double>::LinSpaced(m, -0.5, 0.8); }

inline EstimatorOptions aid(int t, int k, LinearSystemMethod method = LinearSystemMethod::kFixedPoint) {
  EstimatorOptions o;
  o.ll.iterations = t;
  o.ls.iterations = k;
  o.ls.method = method;
  return o;
}

// One hypergradient estimate with a fresh (cold) state.
template <class P>
Vector<double> estimate(const P& p, const EstimatorOptions& o, ConstVectorRef<double> lambda, std::uint64_t seed = 1,
                        OracleCounts* counts = nullptr) {
  HypergradientEstimator<P> est(p, o);
  EstimatorState<double> state;
  EstimatorStreams streams(seed);
  OracleCounts local;
  const Vector<double> h = est.compute(lambda, state, streams, counts ? *counts : local).hypergradient;
  return h;
}

template <class P>
double error(const P& p, const EstimatorOptions& o, std::uint64_t seed = 1) {
  const Vector<double> l = test_lambda(p.dim_lambda());
  return (estimate(p, o, l, seed) - p.exact(l).hypergradient).norm();
}

}  // namespace bilevel::testing
