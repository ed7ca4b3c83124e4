#pragma once
// The problem concept: everything an estimator may ask of a bilevel problem (DESIGN.md section 1).
//
//   min_{lambda in Lambda} f(lambda) = E_xi[ E-hat(w(lambda), lambda, xi) ]
//   w(lambda) = Phi(w(lambda), lambda),  Phi(w, lambda) = E_zeta[ Phi-hat(w, lambda, zeta) ]
//
// Every oracle takes a minibatch of sample ids and returns the average over it. Oracles are pure
// functions of their arguments: the same (w, lambda, batch) always gives the same result, which is
// what makes finite-difference checks and reverse-mode replay through a stored trajectory exact.
//
// Problems know math, not algorithms: they never draw samples, count calls or hold solver state.
#include <concepts>
#include <string>
#include <utility>
#include <vector>

#include "bilevel/core/constraints.hpp"
#include "bilevel/core/types.hpp"

namespace bilevel {

// The five oracles and the feasible set, which every kind of problem has (below, and separable.hpp).
template <class P>
concept HasFixedPointOracles =
    std::floating_point<typename P::Scalar> &&
    requires(const P& p, ConstVectorRef<typename P::Scalar> x, VectorRef<typename P::Scalar> out, Batch b,
             Vector<typename P::Scalar>* g) {
      { p.dim_lambda() } -> std::convertible_to<Index>;
      // out = Phi-hat(w, lambda, batch)
      p.map(x, x, b, out);
      // out = d_w Phi-hat(w, lambda, batch)^T u          (size dim_w)
      p.map_vjp_w(x, x, x, b, out);
      // out = d_lambda Phi-hat(w, lambda, batch)^T u     (size dim_lambda)
      p.map_vjp_lambda(x, x, x, b, out);
      // returns E-hat(w, lambda, batch); fills grad_w / grad_lambda when not null (one backward pass)
      { p.outer(x, x, b, g, g) } -> std::convertible_to<typename P::Scalar>;
      // Lambda and its projection
      { p.constraint() } -> std::convertible_to<const ConstraintSet<typename P::Scalar>&>;
      // Whether d_w Phi is symmetric (so conjugate gradient applies to the linear system)
      { p.jacobian_w_symmetric() } -> std::convertible_to<bool>;
    };

template <class P>
concept BilevelProblem = HasFixedPointOracles<P> && requires(const P& p) {
  { p.dim_w() } -> std::convertible_to<Index>;
  // Number of examples behind zeta (lower level) and xi (upper level); 0 = unbounded stream.
  { p.ll_population() } -> std::convertible_to<Index>;
  { p.ul_population() } -> std::convertible_to<Index>;
};

// A lower level given as a minimisation, w(lambda) = argmin_w g(w, lambda), g strongly convex in w.
// MinimizationAdapter turns it into the fixed-point form Phi = w - gamma grad_w g.
template <class P>
concept MinimizationProblem =
    std::floating_point<typename P::Scalar> &&
    requires(const P& p, ConstVectorRef<typename P::Scalar> x, VectorRef<typename P::Scalar> out, Batch b,
             Vector<typename P::Scalar>* g) {
      { p.dim_w() } -> std::convertible_to<Index>;
      { p.dim_lambda() } -> std::convertible_to<Index>;
      { p.ll_population() } -> std::convertible_to<Index>;
      { p.ul_population() } -> std::convertible_to<Index>;
      { p.ll_value(x, x, b) } -> std::convertible_to<typename P::Scalar>;  // g-hat(w, lambda, batch)
      p.ll_grad(x, x, b, out);                                              // grad_w g-hat
      p.ll_hvp(x, x, x, b, out);                 // d2_ww g-hat u           (size dim_w)
      p.ll_mixed_vjp(x, x, x, b, out);           // d2_{lambda w} g-hat u   (size dim_lambda)
      { p.outer(x, x, b, g, g) } -> std::convertible_to<typename P::Scalar>;
      { p.constraint() } -> std::convertible_to<const ConstraintSet<typename P::Scalar>&>;
    };

// What a problem may offer beyond the oracles.

// Metrics of its own at (lambda, w(lambda)), e.g. loss and accuracy per split.
using NamedValues = std::vector<std::pair<std::string, double>>;
template <class P>
concept HasProblemMetrics = requires(const P& p, ConstVectorRef<typename P::Scalar> x) {
  { p.metrics(x, x) } -> std::convertible_to<NamedValues>;
};

// The residual Phi-hat(w) - w and the linear system's product (I - d_w Phi-hat^T) u, computed directly:
//   map_residual(w, lambda, batch, out)              out = Phi-hat(w, lambda, batch) - w
//   linear_system_product(w, lambda, u, batch, out)  out = u - d_w Phi-hat(w, lambda, batch)^T u
// Formed from map and map_vjp_w, each is the difference of two nearly equal vectors when the
// contraction is weak (q near 1), and in float it keeps only the digits that survive the cancellation
// (with gamma mu = 1e-6, about one in the flattest directions, where float has seven). A minimisation form
// gives them as -gamma grad g and gamma (Hessian u), exact to rounding; CountedOracle falls back to the
// differences for a problem without them.
template <class P>
concept HasDirectResidual = requires(const P& p, ConstVectorRef<typename P::Scalar> x,
                                     VectorRef<typename P::Scalar> out, Batch b) {
  p.map_residual(x, x, b, out);
  p.linear_system_product(x, x, x, b, out);
};
// The two for any problem: directly where it gives them, else as the differences (`out` must not
// alias w or u).
template <HasFixedPointOracles P>
void map_residual_of(const P& p, ConstVectorRef<typename P::Scalar> w, ConstVectorRef<typename P::Scalar> lambda,
                     Batch b, VectorRef<typename P::Scalar> out) {
  if constexpr (HasDirectResidual<P>) {
    p.map_residual(w, lambda, b, out);
  } else {
    p.map(w, lambda, b, out);
    out -= w;
  }
}
template <HasFixedPointOracles P>
void linear_system_product_of(const P& p, ConstVectorRef<typename P::Scalar> w,
                              ConstVectorRef<typename P::Scalar> lambda, ConstVectorRef<typename P::Scalar> u,
                              Batch b, VectorRef<typename P::Scalar> out) {
  if constexpr (HasDirectResidual<P>) {
    p.linear_system_product(w, lambda, u, b, out);
  } else {
    p.map_vjp_w(w, lambda, u, b, out);
    out = u - out;
  }
}

// A closed form, `exact(lambda)`: the exact quantities at one lambda. v solves
// v = d_w Phi^T v + grad_w E, so that grad f = grad_lambda E + d_lambda Phi^T v (the sign convention of
// the whole project).
template <class S>
struct ExactSolution {
  Vector<S> w;
  Vector<S> v;
  Vector<S> hypergradient;
  S value;
};
template <class P>
concept MayHaveClosedForm = requires(const P& p, ConstVectorRef<typename P::Scalar> x) {
  { p.exact(x) } -> std::convertible_to<ExactSolution<typename P::Scalar>>;
};
// Whether exact() may be called: a type-erased problem (any_problem.hpp) has the member always and
// says at run time whether the problem behind it has a closed form.
template <class P>
bool has_closed_form(const P& p) {
  if constexpr (requires { { p.has_closed_form() } -> std::convertible_to<bool>; })
    return p.has_closed_form();
  else
    return MayHaveClosedForm<P>;
}

}  // namespace bilevel
