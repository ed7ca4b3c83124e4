#pragma once
// The one outer loop of bilevel: projected inexact gradient descent
//     lambda_{s+1} = P_Lambda(lambda_s - alpha_s h_s),   h_s from HypergradientEstimator.
// BSGM (Grazzi et al. 2023, Algorithm 2), stocBiO, AmIGO, ALSET, AID-BiO, ITD-BiO, ... are all this
// loop with different EstimatorOptions and UpperLevelOptions (see presets.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <span>
#include <string>

#include "bilevel/core/archive.hpp"
#include "bilevel/core/finite.hpp"
#include "bilevel/core/parallel.hpp"
#include "bilevel/core/segments.hpp"
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

  // Reports every minibatch the estimator draws to `trace` (the evaluator's full batches are not the
  // run's samples and are not reported); see HypergradientEstimator::trace_samples for the names.
  void trace_samples(SampleTrace* trace) { estimator_.trace_samples(trace); }

  RunSummary<S> run(Vector<S> lambda, std::span<Callback<S>* const> callbacks = {}) {
    if (lambda.size() != p_.dim_lambda())
      throw InvalidOptions(fmt::format("initial lambda has size {}, the problem expects {}", lambda.size(), p_.dim_lambda()));
    p_.constraint().project(lambda);  // start feasible
    Run r(seed_);
    r.lambda = std::move(lambda);
    if (evaluate_at_start_) checkpoint(r, 0, callbacks);
    snapshot(r);
    return loop(r, callbacks);
  }

  // Resuming: `sink` receives the run's whole state (an archive whose large values are borrowed from
  // the run: write its pieces() or copy its bytes() before returning) after every checkpoint that the
  // run would write uninterrupted, and, when a callback stops the run early, before its extra final
  // checkpoint; with it, the iteration of the last checkpoint the state accounts for (-1: none yet),
  // which a resumed run continues after. resume(its bytes) continues the run as if it had never stopped:
  // the same lambda, counts and checkpoints, bit for bit (at the same thread count).
  using StateSink = std::function<void(const ArchiveWriter& state, std::int64_t last_checkpoint)>;
  void on_state(StateSink sink) { sink_ = std::move(sink); }

  RunSummary<S> resume(const std::string& bytes, const std::string& source, std::span<Callback<S>* const> callbacks = {}) {
    ArchiveReader a(bytes, source);
    a.tag("bilevel-run-state-1");
    if (a.u64() != sizeof(S)) a.fail("a run of another precision");
    Run r(seed_);
    r.s = a.i64();
    if (r.s < 0 || r.s > ul_.max_iterations) a.fail(fmt::format("iteration {} is outside this run's 0..{}", r.s, ul_.max_iterations));
    a.vector_into(r.lambda, p_.dim_lambda());
    r.summary.counts = load_counts(a);
    r.last_cost = load_counts(a);
    r.run_seconds = a.f64();
    r.first_norm = a.f64();
    r.last_norm = a.f64();
    r.streams.load(a);
    load_state(a, r.state);
    if (r.s > 0) apply_growth(r.s - 1);  // the samplers as the last iteration left them
    estimator_.load(a);
    evaluator_.load(a);
    if (a.u64()) r.summary.first = load_checkpoint<S>(a, p_.dim_lambda());
    if (a.u64()) r.summary.last = load_checkpoint<S>(a, p_.dim_lambda());
    if (!a.done()) a.fail("trailing bytes");
    return loop(r, callbacks);
  }

 private:
  // Everything that changes during a run.
  struct Run {
    explicit Run(std::uint64_t seed) : streams(seed) {}
    std::int64_t s = 0;  // upper-level iterations done
    Vector<S> lambda;
    EstimatorState<S> state;
    EstimatorStreams streams;
    RunSummary<S> summary;
    double run_seconds = 0, first_norm = 0, last_norm = 0;
    OracleCounts last_cost;
  };

  void checkpoint(Run& r, std::int64_t s, std::span<Callback<S>* const> callbacks) {
    Checkpoint<S> c;
    c.iteration = s;
    c.seconds = r.run_seconds;
    c.counts = r.summary.counts;
    c.step = ul_.step.at(s);
    c.evaluation = evaluator_.evaluate(r.lambda, c.step);
    c.evaluation_counts = evaluator_.counts();
    c.estimate_norm = r.last_norm;
    c.warm_start_bytes = r.state.memory_bytes();
    for (auto* cb : callbacks) cb->on_checkpoint(c);
    if (!r.summary.first) r.summary.first = c;
    r.summary.last = std::move(c);
  }

  void snapshot(const Run& r) const {
    if (!sink_) return;
    ArchiveWriter a;  // borrows the large vectors of r and the estimator: used before they change
    save_run(a, r);
    sink_(a, r.summary.last ? r.summary.last->iteration : -1);
  }

  void save_run(ArchiveWriter& a, const Run& r) const {
    a.tag("bilevel-run-state-1");
    a.u64(sizeof(S));
    a.i64(r.s);
    a.vector(r.lambda);
    save_counts(a, r.summary.counts);
    save_counts(a, r.last_cost);
    a.f64(r.run_seconds);
    a.f64(r.first_norm);
    a.f64(r.last_norm);
    r.streams.save(a);
    save_state(a, r.state);
    estimator_.save(a);
    evaluator_.save(a);
    for (const auto* c : {&r.summary.first, &r.summary.last}) {
      a.u64(c->has_value());
      if (*c) save_checkpoint(a, **c);
    }
  }

  RunSummary<S> loop(Run& r, std::span<Callback<S>* const> callbacks) {
    using Clock = std::chrono::steady_clock;
    RunSummary<S>& summary = r.summary;
    summary.stop_reason = "max_iterations";
    bool stopped_by_callback = false;
    // A separable problem's warm-start store, sized before the clock (SeparableHypergradientEstimator).
    if constexpr (requires { estimator_.prepare(r.state); }) estimator_.prepare(r.state);
    while (r.s < ul_.max_iterations) {
      const std::int64_t s = r.s;
      // With a growing schedule the next iteration costs more than the last: scale the estimate.
      const double growth = static_cast<double>(growth_factor(ul_.growth, s, ul_.max_iterations)) /
                            static_cast<double>(growth_factor(ul_.growth, std::max<std::int64_t>(s - 1, 0), ul_.max_iterations));
      apply_growth(s);
      if (const char* budget = exhausted(summary.counts, r.last_cost, growth)) {
        summary.stop_reason = fmt::format("budget:{}", budget);
        break;
      }
      if (ul_.max_seconds > 0 && r.run_seconds >= ul_.max_seconds) {
        summary.stop_reason = "time";
        break;
      }
      const auto start = Clock::now();
      const OracleCounts before = summary.counts;
      // One team of threads for the iteration's many short parallel loops (core/parallel.hpp).
      run_in_team([&] { iterate(r, s, summary.counts); });
      r.run_seconds += std::chrono::duration<double>(Clock::now() - start).count();
      r.last_cost = summary.counts - before;
      ++r.s;  // iteration s is done

      bool stop = false;
      for (auto* cb : callbacks) stop = cb->on_iteration(r.s, r.lambda, summary.counts) || stop;
      if (ul_.eval_every > 0 && r.s % ul_.eval_every == 0 && r.s < ul_.max_iterations) {
        checkpoint(r, r.s, callbacks);
        snapshot(r);
      }
      if (stop) {
        summary.stop_reason = "callback";
        stopped_by_callback = true;
        break;
      }
    }
    // An early stop's final checkpoint is one an uninterrupted run would not have: the state is saved
    // before it, so that a resumed run's evaluations (warm-started from the previous one) match.
    if (stopped_by_callback) snapshot(r);
    if (!summary.last || summary.last->iteration != r.s) checkpoint(r, r.s, callbacks);
    if (!stopped_by_callback) snapshot(r);
    summary.iterations = r.s;
    summary.seconds = r.run_seconds;
    summary.lambda = r.lambda;
    for (auto* cb : callbacks) cb->on_end(summary);
    return summary;
  }

  // Upper-level iteration s: the hypergradient, its check, the step and the projection.
  void iterate(Run& r, std::int64_t s, OracleCounts& counts) {
    const HypergradientResult<S>* h = nullptr;
    try {
      h = &estimator_.compute(r.lambda, r.state, r.streams, counts);
    } catch (const NumericalError& e) {
      throw NumericalError(fmt::format("at upper-level iteration {}: {}", s, e.what()));
    }
    r.last_norm = static_cast<double>(h->norm);
    // The reference is the first non-zero estimate: a method can start with h = 0 exactly (ITD with
    // one step from w = 0 when d_lambda Phi vanishes at w = 0), and growth from 0 is not divergence.
    if (r.first_norm == 0) r.first_norm = r.last_norm;
    if (r.first_norm > 0 && r.last_norm > ul_.divergence_ratio * r.first_norm)
      throw NumericalError(fmt::format(
          "the run diverged at upper-level iteration {}: ||h|| grew from {:.3g} to {:.3g}; "
          "try a smaller ul.step (now {}) or more lower-level iterations",
          s, r.first_norm, r.last_norm, ul_.step.step));
    step(r.lambda, static_cast<S>(ul_.step.at(s)), h->hypergradient);
    project(r);
    if (!segmented_all_finite(r.lambda))
      throw NumericalError(fmt::format("lambda became NaN or Inf at upper-level iteration {}", s));
  }

  // lambda <- lambda - eta h, cut into chunks over the threads (elementwise: the same bits at any thread
  // count). At two threads, half of h was just written by the other core, and lambda is read by both in
  // the hypergradient's products: one thread moving all of it between the cores took 0.2-0.37 ms per
  // iteration for equilibrium's 199 010 values, against 0.04 ms at one thread (2026-12-03).
  static void step(Vector<S>& lambda, S eta, const Vector<S>& h) {
    for_each_segment(lambda.size(), [&](Index begin, Index length) {
      lambda.segment(begin, length) -= eta * h.segment(begin, length);
    });
  }

  // lambda <- P_Lambda(lambda). When the next iteration follows at once (no checkpoint between, whose
  // evaluation would replace the problem's caches) and the problem takes prefetch hints, the next
  // minibatch's prefetch runs beside the projection, which is serial (equilibrium's spectral-norm
  // clip): the second thread starts the next hypergradient's products instead of waiting
  // (core/parallel.hpp, run_beside; docs/performance.md).
  void project(Run& r) {
    if constexpr (requires { estimator_.prefetch(r.lambda, r.streams); }) {
      const std::int64_t next = r.s + 1;  // iteration r.s is being finished
      const bool follows = next < ul_.max_iterations && !(ul_.eval_every > 0 && next % ul_.eval_every == 0);
      if (follows && thread_count() >= 2 && estimator_.can_prefetch()) {
        run_beside([&] { p_.constraint().project(r.lambda); }, [&] { estimator_.prefetch(r.lambda, r.streams); });
        return;
      }
    }
    p_.constraint().project(r.lambda);
  }

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
  StateSink sink_;
  bool evaluate_at_start_;
  typename Engine::Evaluator evaluator_;
};

}  // namespace bilevel
