#pragma once
// Metrics of a point lambda, on counters of their own so they never spend a run's budget:
// f(lambda) with an accurate lower-level solve, an accurate hypergradient, and the norm of the
// proximal gradient mapping G(lambda) = (lambda - P(lambda - alpha grad f(lambda))) / alpha, the
// stationarity measure of the warm-start paper (G = grad f when Lambda is the whole space).
#include <fmt/format.h>

#include <optional>

#include "bilevel/core/counters.hpp"
#include "bilevel/estimators/hypergradient.hpp"

namespace bilevel {

struct EvaluationOptions {
  // Accurate solve used when the problem has no closed form: deterministic (full batches) AID with
  // this many LL and LS iterations (CG where the Jacobian is symmetric).
  int iterations = 500;
};

template <class S>
struct Evaluation {
  double objective = 0;           // f(lambda)
  Vector<S> gradient;             // grad f(lambda)
  double gradient_norm = 0;
  double prox_gradient_norm = 0;  // ||G(lambda)|| at the step alpha given
  bool exact = false;             // closed form (true) or accurate solve (false)
};

template <BilevelProblem P>
class Evaluator {
 public:
  using S = typename P::Scalar;

  Evaluator(const P& problem, EvaluationOptions options = {}) : p_(problem) {
    if constexpr (!has_exact) {
      if (problem.ll_population() == kUnboundedPopulation || problem.ul_population() == kUnboundedPopulation)
        throw InvalidOptions(
            "cannot evaluate metrics: the problem draws from an unbounded stream and has no closed form");
      EstimatorOptions o;
      o.ll.iterations = options.iterations;
      o.ls.iterations = options.iterations;
      o.ls.method = problem.jacobian_w_symmetric() ? LinearSystemMethod::kConjugateGradient
                                                   : LinearSystemMethod::kFixedPoint;
      estimator_.emplace(problem, o);
    }
  }

  Evaluation<S> evaluate(ConstVectorRef<S> lambda, double alpha) {
    Evaluation<S> e;
    if constexpr (has_exact) {
      const auto x = p_.exact(lambda);
      e.objective = static_cast<double>(x.value);
      e.gradient = x.hypergradient;
      e.exact = true;
    } else {
      EstimatorState<S> state;  // cold: evaluation is independent of the run's warm starts
      EstimatorStreams streams(0);
      const auto& r = estimator_->compute(lambda, state, streams, counts_);
      e.objective = static_cast<double>(r.outer_value);
      e.gradient = r.hypergradient;
    }
    e.gradient_norm = static_cast<double>(e.gradient.norm());
    Vector<S> stepped = lambda - static_cast<S>(alpha) * e.gradient;
    p_.constraint().project(stepped);
    e.prox_gradient_norm = static_cast<double>((lambda - stepped).norm()) / alpha;
    return e;
  }

  // What evaluation has spent (never part of a run's counts).
  const OracleCounts& counts() const { return counts_; }

 private:
  static constexpr bool has_exact = requires(const P& p, ConstVectorRef<S> l) { p.exact(l); };
  const P& p_;
  std::optional<HypergradientEstimator<P>> estimator_;
  OracleCounts counts_;
};

}  // namespace bilevel
