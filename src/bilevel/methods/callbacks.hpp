#pragma once
// What the outer loop reports, and the interface of objects that listen (metrics writers, progress
// bars, early stops). A callback overrides only what it needs.
#include <cstdint>
#include <optional>
#include <string>

#include "bilevel/core/counters.hpp"
#include "bilevel/methods/evaluator.hpp"

namespace bilevel {

template <class S>
struct Checkpoint {
  std::int64_t iteration = 0;         // upper-level iterations done
  double seconds = 0;                 // run time so far, evaluation excluded
  OracleCounts counts;                // what the run has spent
  OracleCounts evaluation_counts;     // what evaluation has spent (never in the run's budget)
  Evaluation<S> evaluation;           // f, grad f, ||G|| at lambda
  double estimate_norm = 0;           // ||h|| of the last hypergradient estimate (0 before the first)
  double step = 0;                    // alpha used for G (the next upper-level step)
  std::size_t warm_start_bytes = 0;   // memory held by warm-start state
};

template <class S>
struct RunSummary {
  Vector<S> lambda;                   // the final point
  std::int64_t iterations = 0;
  OracleCounts counts;
  double seconds = 0;
  std::string stop_reason;            // max_iterations, budget:<name>, time, callback
  std::optional<Checkpoint<S>> first; // the first checkpoint: at the starting point unless evaluation.at_start = false
  std::optional<Checkpoint<S>> last;  // the final checkpoint
};

// A checkpoint as bytes (for resuming a run: the first and last checkpoints go into its state).
template <class S>
void save_checkpoint(ArchiveWriter& a, const Checkpoint<S>& c) {
  a.tag("checkpoint");
  a.i64(c.iteration);
  a.f64(c.seconds);
  save_counts(a, c.counts);
  save_counts(a, c.evaluation_counts);
  const Evaluation<S>& e = c.evaluation;
  a.f64(e.objective);
  a.vector(e.gradient);
  a.f64(e.gradient_norm);
  a.f64(e.prox_gradient_norm);
  a.u64(e.exact);
  a.f64(e.ll_residual);
  a.i64(e.ll_steps);
  a.u64(e.metrics.size());
  for (const auto& [name, value] : e.metrics) {
    a.string(name);
    a.f64(value);
  }
  a.f64(c.estimate_norm);
  a.f64(c.step);
  a.u64(c.warm_start_bytes);
}

template <class S>
Checkpoint<S> load_checkpoint(ArchiveReader& a, Index dim_lambda) {
  a.tag("checkpoint");
  Checkpoint<S> c;
  c.iteration = a.i64();
  c.seconds = a.f64();
  c.counts = load_counts(a);
  c.evaluation_counts = load_counts(a);
  Evaluation<S>& e = c.evaluation;
  e.objective = a.f64();
  a.vector_into(e.gradient);
  if (e.gradient.size() != 0 && e.gradient.size() != dim_lambda) a.fail("a gradient of another dimension");
  e.gradient_norm = a.f64();
  e.prox_gradient_norm = a.f64();
  e.exact = a.u64() != 0;
  e.ll_residual = a.f64();
  e.ll_steps = static_cast<int>(a.i64());
  const std::uint64_t n = a.u64();
  if (n > 1000) a.fail("an implausible number of metrics");
  for (std::uint64_t i = 0; i < n; ++i) {
    std::string name = a.string();
    e.metrics.emplace_back(std::move(name), a.f64());
  }
  c.estimate_norm = a.f64();
  c.step = a.f64();
  c.warm_start_bytes = static_cast<std::size_t>(a.u64());
  return c;
}

template <class S>
class Callback {
 public:
  virtual ~Callback() = default;
  virtual void on_checkpoint(const Checkpoint<S>&) {}
  // After every upper-level step; return true to stop the run.
  virtual bool on_iteration(std::int64_t /*iteration*/, const Vector<S>& /*lambda*/, const OracleCounts& /*counts*/) {
    return false;
  }
  virtual void on_end(const RunSummary<S>&) {}
};

}  // namespace bilevel
