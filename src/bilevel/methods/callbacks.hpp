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
