#pragma once
// The small quadratic problem on which the outer loop and the presets are tested: f is a strongly
// convex quadratic with a closed form, so the minimiser and G are known exactly.
#include <Eigen/Dense>

#include "bilevel/methods/upper_level.hpp"
#include "bilevel/problems/minimization_adapter.hpp"
#include "bilevel/problems/quadratic.hpp"

namespace bilevel::testing::methods {

using Problem = MinimizationAdapter<QuadraticMinimization<double>>;

inline QuadraticOptions options(double noise = 0) {
  QuadraticOptions o;
  o.dim_w = 10;
  o.dim_lambda = 4;
  o.contraction = 0.5;
  o.noise_ll = noise;
  o.noise_ul = noise;
  o.seed = 4;
  return o;
}

inline Problem make(double noise = 0) { return Problem(QuadraticMinimization<double>(options(noise)), 1.0); }

// f is a strongly convex quadratic: its minimiser solves grad f(lambda) = 0, with the Hessian read off
// the exact gradient at unit vectors.
inline Vector<double> minimiser(const Problem& p) {
  const Index m = p.dim_lambda();
  const Vector<double> g0 = p.exact(Vector<double>::Zero(m)).hypergradient;
  Matrix<double> h(m, m);
  for (Index i = 0; i < m; ++i) h.col(i) = p.exact(Vector<double>::Unit(m, i)).hypergradient - g0;
  return h.ldlt().solve(-g0);
}

inline UpperLevelOptions ul(double step, std::int64_t iterations) {
  UpperLevelOptions o;
  o.step.step = step;
  o.max_iterations = iterations;
  o.eval_every = 0;
  return o;
}

}  // namespace bilevel::testing::methods
