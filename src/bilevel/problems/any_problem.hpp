#pragma once
// Type-erased problems. AnyProblem<S> is a BilevelProblem and AnySeparableProblem<S> a SeparableProblem
// whose every oracle is one virtual call to a concrete problem of scalar type S.
//
// Why: the estimators, the outer loop and the evaluator are templates on the problem. The command line
// instantiates them on these two types only, once per scalar type, instead of once per problem. Before,
// each problem's command file compiled the whole engine again: about 500 s of sanitized compile for the
// seven problems, which kept the CLI tests out of CI's sanitized stage. An oracle call does at least
// O(dim_w) work on a minibatch, so one indirect call per oracle costs nothing measurable
// (docs/performance.md). Code that wants the concrete problem inlined uses the templates directly.
//
// An erased problem refers to the concrete one, which must outlive it. What the concept leaves optional
// is a run-time question here: has_closed_form() (then exact() applies), has_prefetch(), metrics() (empty when the
// problem has none), initial_lambda() and gamma() (empty when the problem has none). map_residual() and
// linear_system_product() are always there: the differences when the problem has no direct form
// (problems/problem.hpp, HasDirectResidual).
#include <memory>
#include <optional>
#include <stdexcept>

#include "bilevel/problems/problem.hpp"
#include "bilevel/problems/separable.hpp"

namespace bilevel {
namespace any_problem_detail {

// Every member either kind of problem may have; the front class exposes those of its kind.
template <class S>
class Oracles {
 public:
  virtual ~Oracles() = default;
  virtual Index dim_lambda() const = 0;
  virtual Index dim_w() const = 0;          // BilevelProblem
  virtual Index ll_population() const = 0;  // BilevelProblem
  virtual Index ul_population() const = 0;  // BilevelProblem
  virtual Index num_blocks() const = 0;     // SeparableProblem
  virtual Index block_dim() const = 0;      // SeparableProblem
  virtual bool jacobian_w_symmetric() const = 0;
  virtual const ConstraintSet<S>& constraint() const = 0;
  virtual void map(ConstVectorRef<S> w, ConstVectorRef<S> lambda, Batch b, VectorRef<S> out) const = 0;
  virtual void map_vjp_w(ConstVectorRef<S> w, ConstVectorRef<S> lambda, ConstVectorRef<S> u, Batch b,
                         VectorRef<S> out) const = 0;
  virtual void map_vjp_lambda(ConstVectorRef<S> w, ConstVectorRef<S> lambda, ConstVectorRef<S> u, Batch b,
                              VectorRef<S> out) const = 0;
  virtual S outer(ConstVectorRef<S> w, ConstVectorRef<S> lambda, Batch b, Vector<S>* grad_w,
                  Vector<S>* grad_lambda) const = 0;
  virtual bool has_prefetch() const = 0;                                // SeparableProblem
  virtual void prefetch(ConstVectorRef<S> lambda, Batch blocks) const = 0;  // SeparableProblem
  virtual void hold(ConstVectorRef<S> lambda) const = 0;                 // SeparableProblem
  virtual void release() const = 0;                                     // SeparableProblem
  virtual void map_residual(ConstVectorRef<S> w, ConstVectorRef<S> lambda, Batch b, VectorRef<S> out) const = 0;
  virtual void linear_system_product(ConstVectorRef<S> w, ConstVectorRef<S> lambda, ConstVectorRef<S> u, Batch b,
                                     VectorRef<S> out) const = 0;
  virtual bool has_closed_form() const = 0;
  virtual ExactSolution<S> exact(ConstVectorRef<S> lambda) const = 0;
  virtual NamedValues metrics(ConstVectorRef<S> lambda, ConstVectorRef<S> w) const = 0;
  virtual std::optional<Vector<S>> initial_lambda() const = 0;
  virtual std::optional<double> gamma() const = 0;
};

template <class P>
class Model final : public Oracles<typename P::Scalar> {
 public:
  using S = typename P::Scalar;
  explicit Model(const P& p) : p_(p) {}

  Index dim_lambda() const override { return p_.dim_lambda(); }
  // The members of the other kind are never called: the front class of this kind does not expose them.
  Index dim_w() const override {
    if constexpr (BilevelProblem<P>) return p_.dim_w(); else return 0;
  }
  Index ll_population() const override {
    if constexpr (BilevelProblem<P>) return p_.ll_population(); else return 0;
  }
  Index ul_population() const override {
    if constexpr (BilevelProblem<P>) return p_.ul_population(); else return 0;
  }
  Index num_blocks() const override {
    if constexpr (SeparableProblem<P>) return p_.num_blocks(); else return 0;
  }
  Index block_dim() const override {
    if constexpr (SeparableProblem<P>) return p_.block_dim(); else return 0;
  }
  bool jacobian_w_symmetric() const override { return p_.jacobian_w_symmetric(); }
  const ConstraintSet<S>& constraint() const override { return p_.constraint(); }
  void map(ConstVectorRef<S> w, ConstVectorRef<S> lambda, Batch b, VectorRef<S> out) const override {
    p_.map(w, lambda, b, out);
  }
  void map_vjp_w(ConstVectorRef<S> w, ConstVectorRef<S> lambda, ConstVectorRef<S> u, Batch b,
                 VectorRef<S> out) const override {
    p_.map_vjp_w(w, lambda, u, b, out);
  }
  void map_vjp_lambda(ConstVectorRef<S> w, ConstVectorRef<S> lambda, ConstVectorRef<S> u, Batch b,
                      VectorRef<S> out) const override {
    p_.map_vjp_lambda(w, lambda, u, b, out);
  }
  S outer(ConstVectorRef<S> w, ConstVectorRef<S> lambda, Batch b, Vector<S>* grad_w,
          Vector<S>* grad_lambda) const override {
    return p_.outer(w, lambda, b, grad_w, grad_lambda);
  }
  bool has_prefetch() const override {
    if constexpr (SeparableProblem<P>) return bilevel::has_prefetch(p_); else return false;
  }
  void prefetch(ConstVectorRef<S> lambda, Batch blocks) const override {
    if constexpr (HasPrefetch<P>) p_.prefetch(lambda, blocks);
  }
  void hold(ConstVectorRef<S> lambda) const override {
    if constexpr (HoldsLambda<P>) p_.hold(lambda);
  }
  void release() const override {
    if constexpr (HoldsLambda<P>) p_.release();
  }
  // The concrete problem's direct forms, else the differences (problems/problem.hpp, HasDirectResidual).
  void map_residual(ConstVectorRef<S> w, ConstVectorRef<S> lambda, Batch b, VectorRef<S> out) const override {
    map_residual_of(p_, w, lambda, b, out);
  }
  void linear_system_product(ConstVectorRef<S> w, ConstVectorRef<S> lambda, ConstVectorRef<S> u, Batch b,
                             VectorRef<S> out) const override {
    linear_system_product_of(p_, w, lambda, u, b, out);
  }
  bool has_closed_form() const override { return bilevel::has_closed_form(p_); }
  ExactSolution<S> exact(ConstVectorRef<S> lambda) const override {
    if constexpr (MayHaveClosedForm<P>) return p_.exact(lambda);
    else throw std::logic_error("exact() called on a problem without a closed form");
  }
  NamedValues metrics(ConstVectorRef<S> lambda, ConstVectorRef<S> w) const override {
    if constexpr (HasProblemMetrics<P>) return p_.metrics(lambda, w); else return {};
  }
  std::optional<Vector<S>> initial_lambda() const override {
    if constexpr (requires { p_.initial_lambda(); }) return p_.initial_lambda(); else return std::nullopt;
  }
  std::optional<double> gamma() const override {
    if constexpr (requires { p_.gamma(); }) return static_cast<double>(p_.gamma()); else return std::nullopt;
  }

 private:
  const P& p_;
};

template <class S, bool Separable>
class ErasedProblem {
 public:
  using Scalar = S;

  template <class P>
    requires std::same_as<typename P::Scalar, S> && (Separable ? SeparableProblem<P> : BilevelProblem<P>)
  explicit ErasedProblem(const P& problem) : p_(std::make_unique<Model<P>>(problem)) {}

  Index dim_lambda() const { return p_->dim_lambda(); }
  Index dim_w() const requires(!Separable) { return p_->dim_w(); }
  Index ll_population() const requires(!Separable) { return p_->ll_population(); }
  Index ul_population() const requires(!Separable) { return p_->ul_population(); }
  Index num_blocks() const requires Separable { return p_->num_blocks(); }
  Index block_dim() const requires Separable { return p_->block_dim(); }
  bool jacobian_w_symmetric() const { return p_->jacobian_w_symmetric(); }
  const ConstraintSet<S>& constraint() const { return p_->constraint(); }

  void map(ConstVectorRef<S> w, ConstVectorRef<S> lambda, Batch b, VectorRef<S> out) const {
    p_->map(w, lambda, b, out);
  }
  void map_vjp_w(ConstVectorRef<S> w, ConstVectorRef<S> lambda, ConstVectorRef<S> u, Batch b,
                 VectorRef<S> out) const {
    p_->map_vjp_w(w, lambda, u, b, out);
  }
  void map_vjp_lambda(ConstVectorRef<S> w, ConstVectorRef<S> lambda, ConstVectorRef<S> u, Batch b,
                      VectorRef<S> out) const {
    p_->map_vjp_lambda(w, lambda, u, b, out);
  }
  S outer(ConstVectorRef<S> w, ConstVectorRef<S> lambda, Batch b, Vector<S>* grad_w, Vector<S>* grad_lambda) const {
    return p_->outer(w, lambda, b, grad_w, grad_lambda);
  }

  bool has_prefetch() const requires Separable { return p_->has_prefetch(); }
  void prefetch(ConstVectorRef<S> lambda, Batch blocks) const requires Separable { p_->prefetch(lambda, blocks); }
  void hold(ConstVectorRef<S> lambda) const requires Separable { p_->hold(lambda); }
  void release() const requires Separable { p_->release(); }
  void map_residual(ConstVectorRef<S> w, ConstVectorRef<S> lambda, Batch b, VectorRef<S> out) const {
    p_->map_residual(w, lambda, b, out);
  }
  void linear_system_product(ConstVectorRef<S> w, ConstVectorRef<S> lambda, ConstVectorRef<S> u, Batch b,
                             VectorRef<S> out) const {
    p_->linear_system_product(w, lambda, u, b, out);
  }
  bool has_closed_form() const { return p_->has_closed_form(); }
  ExactSolution<S> exact(ConstVectorRef<S> lambda) const { return p_->exact(lambda); }
  NamedValues metrics(ConstVectorRef<S> lambda, ConstVectorRef<S> w) const { return p_->metrics(lambda, w); }
  std::optional<Vector<S>> initial_lambda() const { return p_->initial_lambda(); }
  std::optional<double> gamma() const { return p_->gamma(); }

 private:
  std::unique_ptr<const Oracles<S>> p_;
};

}  // namespace any_problem_detail

template <class S>
using AnyProblem = any_problem_detail::ErasedProblem<S, false>;
template <class S>
using AnySeparableProblem = any_problem_detail::ErasedProblem<S, true>;

}  // namespace bilevel
