#pragma once
// The one outer loop of bilevel: projected inexact gradient descent
//     lambda_{s+1} = P_Lambda(lambda_s - alpha_s h_s),   h_s from HypergradientEstimator.
// BSGM (Grazzi et al. 2023, Algorithm 2), stocBiO, AmIGO, ALSET, AID-BiO, ITD-BiO, ... are all this
// loop with different EstimatorOptions and UpperLevelOptions (see presets.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <span>

#include "bilevel/methods/callbacks.hpp"
#include "bilevel/methods/engine.hpp"
#include "bilevel/methods/upper_level.hpp"

namespace bilevel {

template <AnyBilevelProblem P>
class OuterLoop {
 public:
  using S = typename P::Scalar;
  using Engine = EngineFor<P>;

  OuterLoop(const P& problem, EstimatorOptions estimator, UpperLevelOptions ul, std::uint64_t seed,
            EvaluationOptions evaluation = {})
      : p_(problem), base_(estimator), estimator_(problem, std::move(estimator)), ul_((ul.validate(), ul)),
        seed_(seed), evaluate_at_start_(evaluation.at_start), evaluator_(problem, evaluation) {
    apply_growth(0);  // a horizon schedule changes t, k and J before the first iteration
  }

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

    if (evaluate_at_start_) checkpoint(0);
    std::int64_t s = 0;
    summary.stop_reason = "max_iterations";
    for (; s < ul_.max_iterations; ++s) {
      // With a growing schedule the next iteration costs more than the last: scale the estimate.
      const double growth = static_cast<double>(growth_factor(ul_.growth, s, ul_.max_iterations)) /
                            static_cast<double>(growth_factor(ul_.growth, std::max<std::int64_t>(s - 1, 0), ul_.max_iterations));
      apply_growth(s);
      if (const char* budget = exhausted(summary.counts, last_cost, growth)) {
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
      // The reference is the first non-zero estimate: a method can start with h = 0 exactly (ITD with
      // one step from w = 0 when d_lambda Phi vanishes at w = 0), and growth from 0 is not divergence.
      if (first_norm == 0) first_norm = last_norm;
      if (first_norm > 0 && last_norm > ul_.divergence_ratio * first_norm)
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
  // t_s, k_s, J_s and the outer minibatch of upper-level iteration s (Growth); batches are capped by a
  // finite population, and a full batch (0) stays full.
  void apply_growth(std::int64_t s) {
    if (ul_.growth == Growth::kNone) return;
    const std::int64_t f = growth_factor(ul_.growth, s, ul_.max_iterations);
    const std::int64_t max_iterations = 100'000'000;
    auto grow = [f, max_iterations](std::int64_t base, Index population) -> std::int64_t {
      if (base == 0) return 0;
      return std::min(base * f, population == kUnboundedPopulation ? max_iterations : population);
    };
    estimator_.set_sizes(static_cast<int>(grow(base_.ll.iterations, kUnboundedPopulation)),
                         static_cast<int>(grow(base_.ls.iterations, kUnboundedPopulation)),
                         grow(base_.cross_batch_size, Engine::ll_population(p_)),
                         grow(base_.outer_batch_size, Engine::ul_population(p_)));
  }

  // The budget that one more iteration, costing `next` times `growth`, would overrun, or nullptr.
  const char* exhausted(const OracleCounts& spent, const OracleCounts& next, double growth) const {
    auto over = [growth](std::int64_t budget, std::int64_t used, std::int64_t cost) {
      return budget > 0 && (used >= budget || static_cast<double>(used) + growth * static_cast<double>(cost) > static_cast<double>(budget));
    };
    if (over(ul_.max_samples, spent.samples(), next.samples())) return "samples";
    if (over(ul_.max_example_evals, spent.example_evals, next.example_evals)) return "example_evals";
    if (over(ul_.max_oracle_calls, spent.gradients() + spent.matvecs(), next.gradients() + next.matvecs()))
      return "oracle_calls";
    return nullptr;
  }

  const P& p_;
  EstimatorOptions base_;  // t, k and J before growth
  typename Engine::Estimator estimator_;
  UpperLevelOptions ul_;
  std::uint64_t seed_;
  bool evaluate_at_start_;
  typename Engine::Evaluator evaluator_;
};

}  // namespace bilevel
