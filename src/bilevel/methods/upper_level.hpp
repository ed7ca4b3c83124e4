#pragma once
// Options of the outer loop: projected inexact gradient descent lambda <- P(lambda - alpha_s h_s),
// and when it stops. Every published method runs this loop; they differ in EstimatorOptions only.
#include <cstdint>
#include <string>
#include <string_view>

#include "bilevel/core/error.hpp"
#include "bilevel/estimators/step_schedule.hpp"

namespace bilevel {

// How the estimator's t (LL iterations), k (LS iterations) and J change with the upper-level iteration
// s = 0..S-1: they are the configured values times factor(s). J is the sample size of SID's final
// step, so both its minibatches grow: the cross term's (cross_batch_size) and the outer one's.
enum class Growth {
  kNone,         // factor 1: fixed t, k, J (every practical preset)
  kLinear,       // factor s + 1: BSGM's growing schedule for the stochastic case (Grazzi et al. 2023)
  kLogarithmic,  // factor ceil(log2(s + 2)): enough in the deterministic case, where errors fall as q^t
  kHorizon,      // factor S: the finite-horizon choice t = k = J proportional to the number of UL steps
};

std::string_view to_string(Growth g);

// The multiplier of t, k and J at upper-level iteration s of a run of at most S iterations.
std::int64_t growth_factor(Growth g, std::int64_t s, std::int64_t max_iterations);

struct UpperLevelOptions {
  // alpha_s, the upper-level step: alpha_s = step / (1 + s / decay_offset)^decay_power.
  StepSchedule step{0.1};
  // Schedule of the estimator's t, k and J over the run (see Growth).
  Growth growth = Growth::kNone;
  // Stop after this many upper-level iterations (S). >= 1.
  std::int64_t max_iterations = 100;
  // Budgets; 0 = none. From the second iteration on, an iteration is not started when the previous
  // one's cost would take the run past a budget (iterations of one run cost the same), so the spent
  // amount exceeds a budget only if the very first iteration alone does.
  std::int64_t max_samples = 0;        // samples_ll + samples_ul
  std::int64_t max_example_evals = 0;  // single-example oracle evaluations (the warm-start paper's budget)
  std::int64_t max_oracle_calls = 0;   // Gc + MV
  double max_seconds = 0;              // wall time of the run, evaluation excluded
  // Metrics every this many iterations (and always at the start and the end); 0 = start and end only.
  std::int64_t eval_every = 10;
  // Stop with an error when ||h_s|| exceeds this many times ||h_0||: the run is diverging.
  double divergence_ratio = 1e8;

  void validate() const {
    step.validate("ul");
    if (max_iterations < 1) throw InvalidOptions("ul.max_iterations must be >= 1, got " + std::to_string(max_iterations));
    if (max_samples < 0 || max_example_evals < 0 || max_oracle_calls < 0 || max_seconds < 0)
      throw InvalidOptions("ul budgets (max_samples, max_example_evals, max_oracle_calls, max_seconds) must be >= 0");
    if (eval_every < 0) throw InvalidOptions("ul.eval_every must be >= 0, got " + std::to_string(eval_every));
    if (!(divergence_ratio > 1)) throw InvalidOptions("ul.divergence_ratio must be > 1");
  }
};

}  // namespace bilevel
