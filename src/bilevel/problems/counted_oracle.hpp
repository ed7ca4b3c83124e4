#pragma once
// The only door through which estimators reach a problem: every call is counted (core/counters.hpp).
#include "bilevel/core/counters.hpp"
#include "bilevel/core/sampler.hpp"
#include "bilevel/problems/problem.hpp"

namespace bilevel {

template <BilevelProblem P>
class CountedOracle {
 public:
  using S = typename P::Scalar;

  CountedOracle(const P& problem, OracleCounts& counts) : p_(problem), c_(counts) {}

  const P& problem() const { return p_; }
  OracleCounts& counts() { return c_; }

  void map(ConstVectorRef<S> w, ConstVectorRef<S> lambda, Batch b, VectorRef<S> out) {
    ++c_.map_evals;
    c_.example_evals += static_cast<std::int64_t>(b.size());
    p_.map(w, lambda, b, out);
  }
  void map_vjp_w(ConstVectorRef<S> w, ConstVectorRef<S> lambda, ConstVectorRef<S> u, Batch b, VectorRef<S> out) {
    ++c_.jacobian_w_products;
    c_.example_evals += static_cast<std::int64_t>(b.size());
    p_.map_vjp_w(w, lambda, u, b, out);
  }
  void map_vjp_lambda(ConstVectorRef<S> w, ConstVectorRef<S> lambda, ConstVectorRef<S> u, Batch b,
                      VectorRef<S> out) {
    ++c_.jacobian_lambda_products;
    c_.example_evals += static_cast<std::int64_t>(b.size());
    p_.map_vjp_lambda(w, lambda, u, b, out);
  }
  // Phi-hat(w) - w and (I - d_w Phi-hat^T) u (problems/problem.hpp, HasDirectResidual), counted as the
  // map and the Jacobian product they are. `out` must not alias w or u.
  void map_residual(ConstVectorRef<S> w, ConstVectorRef<S> lambda, Batch b, VectorRef<S> out) {
    ++c_.map_evals;
    c_.example_evals += static_cast<std::int64_t>(b.size());
    map_residual_of(p_, w, lambda, b, out);
  }
  void linear_system_product(ConstVectorRef<S> w, ConstVectorRef<S> lambda, ConstVectorRef<S> u, Batch b,
                             VectorRef<S> out) {
    ++c_.jacobian_w_products;
    c_.example_evals += static_cast<std::int64_t>(b.size());
    linear_system_product_of(p_, w, lambda, u, b, out);
  }
  S outer(ConstVectorRef<S> w, ConstVectorRef<S> lambda, Batch b, Vector<S>* grad_w, Vector<S>* grad_lambda) {
    ++c_.outer_evals;
    c_.example_evals += static_cast<std::int64_t>(b.size());
    return p_.outer(w, lambda, b, grad_w, grad_lambda);
  }

  // Samples are counted where they are drawn, once per example, however many oracles then use them.
  Batch draw_ll(MinibatchSampler& sampler, Rng& rng) {
    c_.samples_ll += sampler.batch_size();
    return sampler.draw(rng);
  }
  Batch draw_ul(MinibatchSampler& sampler, Rng& rng) {
    c_.samples_ul += sampler.batch_size();
    return sampler.draw(rng);
  }

 private:
  const P& p_;
  OracleCounts& c_;
};

}  // namespace bilevel
