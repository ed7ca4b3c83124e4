#pragma once
// An estimate of the contraction constant q of a problem's lower-level map at (w, lambda): the
// spectral radius of d_w Phi by power iteration on u -> d_w Phi^T u (the only product the concept
// offers). For a symmetric Jacobian (an LL minimisation) this is its norm, the q of the theory.
#include <cmath>

#include "bilevel/core/rng.hpp"
#include "bilevel/problems/problem.hpp"

namespace bilevel {

template <BilevelProblem P>
double estimate_contraction(const P& p, ConstVectorRef<typename P::Scalar> w, ConstVectorRef<typename P::Scalar> lambda,
                            Batch batch, int iterations = 200, std::uint64_t seed = 7) {
  using S = typename P::Scalar;
  Rng rng(seed);
  Vector<S> u(p.dim_w()), next(p.dim_w());
  for (Index i = 0; i < u.size(); ++i) u(i) = static_cast<S>(rng.normal());
  u.normalize();
  double q = 0;
  for (int k = 0; k < iterations; ++k) {
    p.map_vjp_w(w, lambda, u, batch, next);
    q = static_cast<double>(next.norm());
    if (q == 0) break;
    u = next / static_cast<S>(q);
  }
  return q;
}

}  // namespace bilevel
