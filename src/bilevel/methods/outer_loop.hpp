#pragma once
// The one outer loop of bilevel: projected inexact gradient descent
//     lambda_{s+1} = P_Lambda(lambda_s - alpha_s h_s),   h_s from HypergradientEstimator.
// BSGM (Grazzi et al. 2023, Algorithm 2), stocBiO, AmIGO, ALSET, AID-BiO, ITD-BiO, ... are all this
// loop with different EstimatorOptions (see presets.hpp).
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <span>

#include "bilevel/estimators/hypergradient.hpp"
#include "bilevel/methods/callbacks.hpp"
#include "bilevel/methods/evaluator.hpp"
#include "bilevel/methods/upper_level.hpp"

namespace bilevel {

template <BilevelProblem P>
class OuterLoop {
 public:
  using S = typename P::Scalar;

  OuterLoop(const P& problem, EstimatorOptions estimator, UpperLevelOptions ul, std::uint64_t seed,
            EvaluationOptions evaluation = {})
      : p_(problem), estimator_(problem, std::move(estimator)), ul_((ul.validate(), ul)), seed_(seed),
        evaluator_(problem, evaluation) {}

  const UpperLevelOptions& options() const { return ul_; }

  RunSummary<S> run(Vector<S> lambda, std::span<Callback<S>* const> callbacks = {}) {
    using Clock = std::chrono::steady_clock;
    if (lambda.size() != p_.dim_lambda())
      throw InvalidOptions(fmt::format("initial lambda has size {}, the problem expects {}", lambda.size(), p_.dim_lambda()));
    p_.constraint().project(lambda);  // start feasible
    EstimatorState<S> state;
    EstimatorStreams streams(seed_);
    RunSummary<S> summary;
    double run_seconds = 0, first_norm = 0, last_norm = 0;
    OracleCounts last_cost;

    auto checkpoint = [&](std::int64_t s) {
      Checkpoint<S> c;
      c.iteration = s;
      c.seconds = run_seconds;
      c.counts = summary.counts;
      c.step = ul_.step.at(s);
      c.evaluation = evaluator_.evaluate(lambda, c.step);
      c.evaluation_counts = evaluator_.counts();
      c.estimate_norm = last_norm;
      c.warm_start_bytes = state.memory_bytes();
      for (auto* cb : callbacks) cb->on_checkpoint(c);
      if (!summary.first) summary.first = c;
      summary.last = std::move(c);
    };

    checkpoint(0);
    std::int64_t s = 0;
    summary.stop_reason = "max_iterations";
    for (; s < ul_.max_iterations; ++s) {
      if (const char* budget = exhausted(summary.counts, last_cost)) {
        summary.stop_reason = fmt::format("budget:{}", budget);
        break;
      }
      if (ul_.max_seconds > 0 && run_seconds >= ul_.max_seconds) {
        summary.stop_reason = "time";
        break;
      }
      const auto start = Clock::now();
      const OracleCounts before = summary.counts;
      const HypergradientResult<S>* h = nullptr;
      try {
        h = &estimator_.compute(lambda, state, streams, summary.counts);
      } catch (const NumericalError& e) {
        throw NumericalError(fmt::format("at upper-level iteration {}: {}", s, e.what()));
      }
      last_norm = static_cast<double>(h->hypergradient.norm());
      if (s == 0) first_norm = std::max(last_norm, 1e-30);
      if (last_norm > ul_.divergence_ratio * first_norm)
        throw NumericalError(fmt::format(
            "the run diverged at upper-level iteration {}: ||h|| grew from {:.3g} to {:.3g}; "
            "try a smaller ul.step (now {}) or more lower-level iterations",
            s, first_norm, last_norm, ul_.step.step));
      lambda -= static_cast<S>(ul_.step.at(s)) * h->hypergradient;
      p_.constraint().project(lambda);
      if (!lambda.allFinite())
        throw NumericalError(fmt::format("lambda became NaN or Inf at upper-level iteration {}", s));
      run_seconds += std::chrono::duration<double>(Clock::now() - start).count();
      last_cost = summary.counts - before;

      bool stop = false;
      for (auto* cb : callbacks) stop = cb->on_iteration(s + 1, lambda, summary.counts) || stop;
      if (ul_.eval_every > 0 && (s + 1) % ul_.eval_every == 0 && s + 1 < ul_.max_iterations) checkpoint(s + 1);
      if (stop) {
        ++s;
        summary.stop_reason = "callback";
        break;
      }
    }
    summary.iterations = s;
    summary.seconds = run_seconds;
    if (!summary.last || summary.last->iteration != s) checkpoint(s);
    summary.lambda = lambda;
    for (auto* cb : callbacks) cb->on_end(summary);
    return summary;
  }

 private:
  // The budget that one more iteration costing `next` would overrun, or nullptr.
  const char* exhausted(const OracleCounts& spent, const OracleCounts& next) const {
    auto over = [](std::int64_t budget, std::int64_t used, std::int64_t cost) {
      return budget > 0 && (used >= budget || used + cost > budget);
    };
    if (over(ul_.max_samples, spent.samples(), next.samples())) return "samples";
    if (over(ul_.max_example_evals, spent.example_evals, next.example_evals)) return "example_evals";
    if (over(ul_.max_oracle_calls, spent.gradients() + spent.matvecs(), next.gradients() + next.matvecs()))
      return "oracle_calls";
    return nullptr;
  }

  const P& p_;
  HypergradientEstimator<P> estimator_;
  UpperLevelOptions ul_;
  std::uint64_t seed_;
  Evaluator<P> evaluator_;
};

}  // namespace bilevel
