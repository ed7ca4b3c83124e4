#pragma once
// Conjugate gradient on A x = b for a symmetric positive definite A given as a product x -> A x: the
// one CG of the project, for the estimator's linear system (A = I - d_w Phi^T on one minibatch) and
// the evaluator's Newton steps.
#include <cmath>

#include "bilevel/core/types.hpp"

namespace bilevel {

// The vectors CG works in, sized once by the caller so that a solve allocates nothing.
template <class S>
struct ConjugateGradientWork {
  Vector<S> residual, direction, product;

  void resize(Index n) {
    residual.resize(n);
    direction.resize(n);
    product.resize(n);
  }
};

// Improves x towards A x = b until ||b - A x|| <= stop or `max_iterations` steps, or until a direction
// of non-positive curvature (A x = b reached at rounding level, or A not positive definite on this
// batch). `x_is_zero` skips the start's product A x.
template <class S, class ApplyA>
void conjugate_gradient(ApplyA&& apply_a, const Vector<S>& b, Vector<S>& x, bool x_is_zero, S stop,
                        int max_iterations, ConjugateGradientWork<S>& work) {
  Vector<S>& r = work.residual;
  Vector<S>& d = work.direction;
  Vector<S>& ad = work.product;
  if (x_is_zero) {
    r = b;
  } else {
    apply_a(x, ad);
    r = b - ad;
  }
  d = r;
  S rr = r.squaredNorm();
  for (int j = 0; j < max_iterations && std::sqrt(rr) > stop; ++j) {
    apply_a(d, ad);
    const S curvature = d.dot(ad);
    if (!(curvature > 0)) break;
    const S alpha = rr / curvature;
    x += alpha * d;
    r -= alpha * ad;
    const S rr_next = r.squaredNorm();
    d = r + (rr_next / rr) * d;
    rr = rr_next;
  }
}

}  // namespace bilevel
