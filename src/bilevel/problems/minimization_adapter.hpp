#pragma once
// Phi(w, lambda) = w - gamma grad_w g(w, lambda): the fixed-point form of a lower-level minimisation.
// With g mu-strongly convex and L-smooth in w and gamma <= 2 / (L + mu), Phi is a contraction with
// constant q = 1 - gamma mu (for gamma = 1/L: q = 1 - mu/L). The Jacobian d_w Phi = I - gamma Hessian
// is symmetric, so conjugate gradient applies to the linear system.
#include <fmt/format.h>

#include <utility>

#include "bilevel/core/error.hpp"
#include "bilevel/problems/problem.hpp"

namespace bilevel {

template <MinimizationProblem M>
class MinimizationAdapter {
 public:
  using Scalar = typename M::Scalar;
  using S = Scalar;

  MinimizationAdapter(M base, S gamma) : base_(std::move(base)), gamma_(gamma) {
    if (!(gamma > 0)) throw InvalidOptions(fmt::format("lower-level step gamma must be > 0, got {}", gamma));
  }

  const M& base() const { return base_; }
  S gamma() const { return gamma_; }

  Index dim_w() const { return base_.dim_w(); }
  Index dim_lambda() const { return base_.dim_lambda(); }
  Index ll_population() const { return base_.ll_population(); }
  Index ul_population() const { return base_.ul_population(); }
  bool jacobian_w_symmetric() const { return true; }
  const ConstraintSet<S>& constraint() const { return base_.constraint(); }

  void map(ConstVectorRef<S> w, ConstVectorRef<S> lambda, Batch b, VectorRef<S> out) const {
    base_.ll_grad(w, lambda, b, out);
    out = w - gamma_ * out;
  }
  void map_vjp_w(ConstVectorRef<S> w, ConstVectorRef<S> lambda, ConstVectorRef<S> u, Batch b,
                 VectorRef<S> out) const {
    base_.ll_hvp(w, lambda, u, b, out);  // the Hessian is symmetric: u^T H = (H u)^T
    out = u - gamma_ * out;
  }
  void map_vjp_lambda(ConstVectorRef<S> w, ConstVectorRef<S> lambda, ConstVectorRef<S> u, Batch b,
                      VectorRef<S> out) const {
    base_.ll_mixed_vjp(w, lambda, u, b, out);
    out *= -gamma_;
  }
  // Phi - w = -gamma grad g and (I - d_w Phi^T) u = gamma H u, without forming w - gamma grad g first
  // (problems/problem.hpp, HasDirectResidual).
  void map_residual(ConstVectorRef<S> w, ConstVectorRef<S> lambda, Batch b, VectorRef<S> out) const {
    base_.ll_grad(w, lambda, b, out);
    out *= -gamma_;
  }
  void linear_system_product(ConstVectorRef<S> w, ConstVectorRef<S> lambda, ConstVectorRef<S> u, Batch b,
                             VectorRef<S> out) const {
    base_.ll_hvp(w, lambda, u, b, out);
    out *= gamma_;
  }

  // The base problem's closed-form solution in this fixed-point form, where it has one.
  auto exact(ConstVectorRef<S> lambda) const
    requires requires(const M& m, S g) { m.exact(lambda, g); }
  {
    return base_.exact(lambda, gamma_);
  }

  // The base problem's own metrics (loss, accuracy per split), where it has them.
  auto metrics(ConstVectorRef<S> lambda, ConstVectorRef<S> w) const
    requires requires(const M& m) { m.metrics(lambda, w); }
  {
    return base_.metrics(lambda, w);
  }

  S outer(ConstVectorRef<S> w, ConstVectorRef<S> lambda, Batch b, Vector<S>* grad_w, Vector<S>* grad_lambda) const {
    return base_.outer(w, lambda, b, grad_w, grad_lambda);
  }

 private:
  M base_;
  S gamma_;
};

}  // namespace bilevel
