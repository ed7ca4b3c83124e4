#pragma once
// Metrics of a point lambda, on counters of their own so they never spend a run's budget:
// f(lambda) with an accurate lower-level solve, an accurate hypergradient, and the norm of the
// proximal gradient mapping G(lambda) = (lambda - P(lambda - alpha grad f(lambda))) / alpha, the
// stationarity measure of the warm-start paper (G = grad f when Lambda is the whole space).
#include <fmt/format.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bilevel/core/counters.hpp"
#include "bilevel/estimators/hypergradient.hpp"

namespace bilevel {

struct EvaluationOptions {
  // Accurate solve used when the problem has no closed form: deterministic (full batches) AID, CG on
  // the LS where the Jacobian is symmetric. The LL starts from the previous evaluation's solution
  // and stops once ||Phi(w) - w|| <= tolerance (1 + ||w||); both solvers stop after `iterations`.
  int iterations = 2000;
  // 0 = automatic: 1e-10 in double, 1e-5 in float (about what the precision can resolve).
  double tolerance = 0;
};

// A problem may report metrics of its own at (lambda, w(lambda)), e.g. loss and accuracy per split.
using NamedValues = std::vector<std::pair<std::string, double>>;
template <class P>
concept HasProblemMetrics = requires(const P& p, ConstVectorRef<typename P::Scalar> x) {
  { p.metrics(x, x) } -> std::convertible_to<NamedValues>;
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

  Evaluator(const P& problem, EvaluationOptions options = {}) : p_(problem) {
    if constexpr (!has_exact) {
      if (problem.ll_population() == kUnboundedPopulation || problem.ul_population() == kUnboundedPopulation)
        throw InvalidOptions(
            "cannot evaluate metrics: the problem draws from an unbounded stream and has no closed form");
      EstimatorOptions o;
      o.ll.iterations = options.iterations;
      const double tolerance = options.tolerance > 0 ? options.tolerance : (sizeof(S) >= 8 ? 1e-10 : 1e-5);
      o.ll.tolerance = tolerance;
      o.ll.warm_start = true;
      o.ls.iterations = options.iterations;
      o.ls.method = problem.jacobian_w_symmetric() ? LinearSystemMethod::kConjugateGradient
                                                   : LinearSystemMethod::kFixedPoint;
      if (o.ls.method == LinearSystemMethod::kConjugateGradient) o.ls.tolerance = tolerance;
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
      if constexpr (HasProblemMetrics<P>) e.metrics = p_.metrics(lambda, x.w);
    } else {
      // Warm-started from the previous evaluation only (never from the run's state), full batches.
      EstimatorStreams streams(0);
      const auto& r = estimator_->compute(lambda, state_, streams, counts_);
      e.objective = static_cast<double>(r.outer_value);
      e.gradient = r.hypergradient;
      e.ll_residual = r.ll_residual;
      e.ll_steps = r.ll_steps;
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

 private:
  static constexpr bool has_exact = requires(const P& p, ConstVectorRef<S> l) { p.exact(l); };
  const P& p_;
  std::optional<HypergradientEstimator<P>> estimator_;
  EstimatorState<S> state_;
  OracleCounts counts_;
};

}  // namespace bilevel
