#pragma once
// A problem seen through its five oracles, its feasible set and its metrics only: what a problem
// without the optional members (a closed form, the direct residual of problems/problem.hpp) looks like
// to the estimators and the evaluator. Tests wrap a problem in it to take those members away.
#include "bilevel/problems/problem.hpp"

namespace bilevel::testing {

template <BilevelProblem P>
class OraclesOnly {
 public:
  using Scalar = typename P::Scalar;
  using S = Scalar;
  explicit OraclesOnly(const P& p) : p_(p) {}
  Index dim_w() const { return p_.dim_w(); }
  Index dim_lambda() const { return p_.dim_lambda(); }
  Index ll_population() const { return p_.ll_population(); }
  Index ul_population() const { return p_.ul_population(); }
  bool jacobian_w_symmetric() const { return p_.jacobian_w_symmetric(); }
  const ConstraintSet<S>& constraint() const { return p_.constraint(); }
  void map(ConstVectorRef<S> w, ConstVectorRef<S> l, Batch b, VectorRef<S> o) const { p_.map(w, l, b, o); }
  void map_vjp_w(ConstVectorRef<S> w, ConstVectorRef<S> l, ConstVectorRef<S> u, Batch b, VectorRef<S> o) const {
    p_.map_vjp_w(w, l, u, b, o);
  }
  void map_vjp_lambda(ConstVectorRef<S> w, ConstVectorRef<S> l, ConstVectorRef<S> u, Batch b, VectorRef<S> o) const {
    p_.map_vjp_lambda(w, l, u, b, o);
  }
  S outer(ConstVectorRef<S> w, ConstVectorRef<S> l, Batch b, Vector<S>* gw, Vector<S>* gl) const {
    return p_.outer(w, l, b, gw, gl);
  }
  NamedValues metrics(ConstVectorRef<S> l, ConstVectorRef<S> w) const
    requires HasProblemMetrics<P>
  {
    return p_.metrics(l, w);
  }

 private:
  const P& p_;
};

}  // namespace bilevel::testing
