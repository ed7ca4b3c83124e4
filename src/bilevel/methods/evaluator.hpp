#pragma once
// Metrics of a point lambda, on counters of their own so they never spend a run's budget:
// f(lambda) with an accurate lower-level solve, an accurate hypergradient, and the norm of the
// proximal gradient mapping G(lambda) = (lambda - P(lambda - alpha grad f(lambda))) / alpha, the
// stationarity measure of the warm-start paper (G = grad f when Lambda is the whole space).
#include <fmt/format.h>

#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bilevel/core/counters.hpp"
#include "bilevel/estimators/conjugate_gradient.hpp"
#include "bilevel/estimators/hypergradient.hpp"
#include "bilevel/problems/counted_oracle.hpp"

namespace bilevel {

struct EvaluationOptions {
  // Accurate solve used when the problem has no closed form, on full batches: the LL by Newton's
  // method on Phi(w) - w = 0 with CG inner solves where d_w Phi is symmetric (fixed-point iterations
  // otherwise), warm-started from the previous evaluation's solution, until the Newton correction
  // (fixed point: the residual ||Phi(w) - w||) is <= tolerance (1 + ||w||); the LS by CG (fixed
  // point iterations) to ||r|| <= tolerance ||g||. `iterations`
  // bounds the map evaluations of the LL and the steps of each linear solve.
  int iterations = 2000;
  // 0 = automatic: 1e-10 in double, 1e-5 in float (about what the precision can resolve).
  double tolerance = 0;
  // false: only w(lambda), f and the problem's metrics; the hypergradient's linear system is not
  // solved and gradient_norm, prox_gradient_norm are NaN. For runs that only need the metrics (a
  // random search): on an ill-conditioned LL the linear system costs most of an evaluation.
  bool hypergradient = true;
  // false: no checkpoint at the starting point (the run's first is then its first eval_every or its
  // end). Runs that differ only in their options start from the same point, so a random search
  // evaluates it once (or not at all) rather than once per draw.
  bool at_start = true;
};

template <class S>
struct Evaluation {
  double objective = 0;           // f(lambda)
  Vector<S> gradient;             // grad f(lambda)
  double gradient_norm = 0;
  double prox_gradient_norm = 0;  // ||G(lambda)|| at the step alpha given
  bool exact = false;             // closed form (true) or accurate solve (false)
  double ll_residual = 0;         // ||Phi(w) - w|| of the accurate solve (0 for a closed form)
  int ll_steps = 0;               // LL steps of the accurate solve
  NamedValues metrics;            // the problem's own metrics at (lambda, w(lambda))
};

template <BilevelProblem P>
class Evaluator {
 public:
  using S = typename P::Scalar;

  Evaluator(const P& problem, EvaluationOptions options = {})
      : p_(problem), o_(options),
        tolerance_(options.tolerance > 0 ? options.tolerance : (sizeof(S) >= 8 ? 1e-10 : 1e-5)),
        exact_(has_closed_form(problem)) {
    if (!exact_) {
      if (problem.ll_population() == kUnboundedPopulation || problem.ul_population() == kUnboundedPopulation)
        throw InvalidOptions(
            "cannot evaluate metrics: the problem draws from an unbounded stream and has no closed form");
      full_ = MinibatchSampler(problem.ll_population(), problem.ll_population());
      full_ul_ = MinibatchSampler(problem.ul_population(), problem.ul_population());
      if (!options.hypergradient) return;  // no linear system to solve: no estimator and its vectors
      // The LS and the final assembly: full batches, one LL step from the accurate solution (which
      // measures its residual), CG where the Jacobian is symmetric.
      EstimatorOptions o;
      o.ll.iterations = 1;
      o.ll.warm_start = true;
      o.ls.iterations = options.iterations;
      o.ls.method = problem.jacobian_w_symmetric() ? LinearSystemMethod::kConjugateGradient
                                                   : LinearSystemMethod::kFixedPoint;
      o.ls.tolerance = tolerance_;
      estimator_.emplace(problem, o);
    }
  }

  Evaluation<S> evaluate(ConstVectorRef<S> lambda, double alpha) {
    Evaluation<S> e;
    if (exact_) {
      if constexpr (MayHaveClosedForm<P>) {
        const auto x = p_.exact(lambda);
        e.objective = static_cast<double>(x.value);
        e.gradient = x.hypergradient;
        e.exact = true;
        if constexpr (HasProblemMetrics<P>) e.metrics = p_.metrics(lambda, x.w);
      }
    } else {
      // Warm-started from the previous evaluation only (never from the run's state), full batches.
      e.ll_steps = solve_lower_level(lambda);
      if (!o_.hypergradient) {
        CountedOracle<P> oracle(p_, counts_);
        Rng unused(0);
        const Batch all = oracle.draw_ul(full_ul_, unused);
        e.objective = static_cast<double>(oracle.outer(state_.w, lambda, all, nullptr, nullptr));
        e.ll_residual = last_residual_;
        if constexpr (HasProblemMetrics<P>) e.metrics = p_.metrics(lambda, state_.w);
        e.gradient_norm = e.prox_gradient_norm = std::numeric_limits<double>::quiet_NaN();
        return e;
      }
      EstimatorStreams streams(0);
      const auto& r = estimator_->compute(lambda, state_, streams, counts_);
      e.objective = static_cast<double>(r.outer_value);
      e.gradient = r.hypergradient;
      e.ll_residual = r.ll_residual;
      e.ll_steps += r.ll_steps;
      if constexpr (HasProblemMetrics<P>) e.metrics = p_.metrics(lambda, r.w);
    }
    e.gradient_norm = static_cast<double>(e.gradient.norm());
    Vector<S> stepped = lambda - static_cast<S>(alpha) * e.gradient;
    p_.constraint().project(stepped);
    e.prox_gradient_norm = static_cast<double>((lambda - stepped).norm()) / alpha;
    return e;
  }

  // What evaluation has spent (never part of a run's counts).
  const OracleCounts& counts() const { return counts_; }

  // The warm start of the accurate solve and the counts: for resuming a run with the same metrics.
  void save(ArchiveWriter& a) const {
    a.tag("evaluator");
    save_state(a, state_);
    save_counts(a, counts_);
    a.f64(last_residual_);
  }
  void load(ArchiveReader& a) {
    a.tag("evaluator");
    load_state(a, state_);
    counts_ = load_counts(a);
    last_residual_ = a.f64();
  }

 private:
  // w(lambda) to the tolerance, into state_.w; returns the map evaluations spent. With a symmetric
  // Jacobian (an LL minimisation): Newton's method on the residual r(w) = Phi(w) - w, each step
  // solving (I - d_w Phi) d = r by CG to 1/10 of ||r|| and halving d until ||r|| decreases, until
  // ||d|| <= tolerance (1 + ||w||); this
  // needs O(sqrt(kappa)) products per step where fixed-point iterations need O(kappa) (kappa = 1/(1 - q)).
  // Otherwise plain fixed-point iterations.
  int solve_lower_level(ConstVectorRef<S> lambda) {
    CountedOracle<P> oracle(p_, counts_);
    Rng unused(0);
    const Batch all = oracle.draw_ll(full_, unused);
    const Index d = p_.dim_w();
    Vector<S>& w = state_.w;
    if (w.size() != d) w = Vector<S>::Zero(d);
    Vector<S> r(d), trial(d);
    auto residual = [&](const Vector<S>& x, Vector<S>& out) {  // Phi(x) - x, directly where it can be
      oracle.map_residual(x, lambda, all, out);
      return static_cast<double>(out.norm());
    };
    double norm = residual(w, r);
    int steps = 1;
    auto done = [&] { return norm <= tolerance_ * (1.0 + static_cast<double>(w.norm())); };
    if (!p_.jacobian_w_symmetric()) {
      for (; steps < o_.iterations && !done(); ++steps) {
        w += r;  // w <- Phi(w)
        norm = residual(w, r);
      }
      last_residual_ = norm;
      return steps;
    }
    Vector<S> delta(d), res(d);
    ConjugateGradientWork<S> work;
    work.resize(d);
    auto apply_a = [&](const Vector<S>& x, Vector<S>& out) { oracle.linear_system_product(w, lambda, x, all, out); };
    // Stop on the Newton correction, which estimates ||w - w*|| (the residual alone understates the
    // error by 1/(1 - q), large when the LL is ill-conditioned).
    for (int newton = 0; newton < 50 && steps < o_.iterations; ++newton) {
      delta.setZero();
      conjugate_gradient<S>(apply_a, r, delta, true, static_cast<S>(0.1 * norm), o_.iterations, work);
      if (static_cast<double>(delta.norm()) <= tolerance_ * (1.0 + static_cast<double>(w.norm()))) {
        w += delta;
        norm = residual(w, r);
        ++steps;
        break;
      }
      // Backtracking: accept the largest of d, d/2, ... that decreases the residual.
      S scale = 1;
      double trial_norm = norm;
      for (int halving = 0; halving < 20; ++halving, scale /= 2) {
        trial = w + scale * delta;
        trial_norm = residual(trial, res);
        ++steps;
        if (trial_norm < norm) break;
      }
      if (!(trial_norm < norm)) break;  // no progress at rounding level: as accurate as it gets
      w = trial;
      r = res;
      norm = trial_norm;
    }
    last_residual_ = norm;
    return steps;
  }

  const P& p_;
  EvaluationOptions o_;
  double tolerance_;
  bool exact_;  // closed form (problems/problem.hpp: has_closed_form), else the accurate solve below
  std::optional<HypergradientEstimator<P>> estimator_;
  MinibatchSampler full_, full_ul_;
  double last_residual_ = 0;  // ||Phi(w) - w|| at the end of the last accurate LL solve
  EstimatorState<S> state_;
  OracleCounts counts_;
};

}  // namespace bilevel
