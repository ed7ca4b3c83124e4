// Every published method, run as its preset on the quadratic problem with a known minimiser.
#include "bilevel/methods/presets.hpp"

#include <gtest/gtest.h>

#include <set>

#include "bilevel/methods/outer_loop.hpp"
#include "quadratic_fixture.hpp"

namespace bilevel {
namespace presets_test {

using namespace testing::methods;

struct Outcome {
  double prox_gradient_norm;
  OracleCounts counts;
};

Outcome run_preset(const MethodPreset& preset, const Problem& p, Index batch, double step, std::int64_t iterations,
                   std::int64_t max_samples, std::uint64_t seed, double decay_power = 0) {
  UpperLevelOptions u = preset.ul;
  u.step.step = step;
  if (decay_power > 0 && u.step.constant()) u.step = {step, decay_power, 50.0};
  u.max_iterations = iterations;
  u.max_samples = max_samples;
  u.eval_every = 0;
  const auto r = OuterLoop(p, preset.estimator_options(batch), u, seed).run(Vector<double>::Zero(p.dim_lambda()));
  return {r.last->evaluation.prox_gradient_norm, r.counts};
}

double initial_prox_gradient_norm(const Problem& p) {
  return Evaluator(p).evaluate(Vector<double>::Zero(p.dim_lambda()), 0.05).prox_gradient_norm;
}

TEST(Presets, NamesAreUniqueAndEveryOneHasACitationAndValidOptions) {
  std::set<std::string_view> names;
  const Problem p = make(0.5);
  for (const MethodPreset& preset : method_presets()) {
    EXPECT_TRUE(names.insert(preset.name).second) << preset.name;
    EXPECT_FALSE(preset.citation.empty()) << preset.name;
    EXPECT_NO_THROW(preset.ul.validate()) << preset.name;
    if (preset.stochastic) EXPECT_NO_THROW(preset.estimator_options(8).validate(0, 0, true)) << preset.name;
    else EXPECT_NO_THROW(preset.estimator_options(8).validate(1, 1, true)) << preset.name;
  }
  EXPECT_EQ(names.size(), 17u);
  EXPECT_THROW(find_preset("stochbio"), InvalidOptions);
  EXPECT_EQ(find_preset("amigo").name, "amigo");
}

// The deterministic methods reach the minimiser to high accuracy within a bounded number of samples,
// except ITD-BiO with N = 1, whose non-vanishing error is the loops paper's point (next test).
TEST(Presets, DeterministicPresetsDriveTheProximalGradientToZero) {
  const Problem p = make();
  const double start = initial_prox_gradient_norm(p);
  for (const MethodPreset& preset : method_presets()) {
    if (preset.stochastic || preset.name == "itd-bio-no-loop") continue;
    const Outcome o = run_preset(preset, p, 1, 0.05, 100'000, 60'000, 0);
    // bsgm-det grows t = k only like log2(s): its LL error q^t_s falls polynomially, not geometrically.
    const double tolerance = preset.name == "bsgm-det" ? 1e-3 : 1e-6;
    EXPECT_LT(o.prox_gradient_norm, tolerance * start) << preset.name << " spent " << o.counts.samples() << " samples";
    EXPECT_LE(o.counts.samples(), 60'000) << preset.name;
  }
}

TEST(Presets, ItdWithOneStepStallsAtANonVanishingErrorWhileTwentyStepsConverge) {
  const Problem p = make();
  const double start = initial_prox_gradient_norm(p);
  const double n1 = run_preset(find_preset("itd-bio-no-loop"), p, 1, 0.05, 3000, 0, 0).prox_gradient_norm;
  const double n1_longer = run_preset(find_preset("itd-bio-no-loop"), p, 1, 0.05, 6000, 0, 0).prox_gradient_norm;
  const double n20 = run_preset(find_preset("itd-bio-nn-loop"), p, 1, 0.05, 3000, 0, 0).prox_gradient_norm;
  EXPECT_GT(n1, 1e-2 * start);
  EXPECT_NEAR(n1_longer, n1, 1e-3 * n1);  // converged, to the wrong point
  EXPECT_LT(n20, 1e-6 * start);
}

// The stochastic methods, on average over seeds, bring ||G|| well below its start within a bounded
// sample budget. The fixed-size presets use a decreasing UL step alpha / (1 + s / 50) (TTSA its own),
// since a constant step stalls at a noise floor; BSGM's growing schedules keep alpha constant.
TEST(Presets, StochasticPresetsReduceTheProximalGradientOnAverage) {
  const Problem p = make(0.2);
  const double start = initial_prox_gradient_norm(p);
  const int seeds = 4;
  for (const MethodPreset& preset : method_presets()) {
    if (!preset.stochastic) continue;
    const bool growing = preset.ul.growth != Growth::kNone;
    double mean = 0;
    for (int s = 0; s < seeds; ++s) {
      const Outcome o = run_preset(preset, p, 8, 0.05, growing ? 40 : 400, 120'000, static_cast<std::uint64_t>(s),
                                   growing ? 0.0 : 1.0);
      EXPECT_LE(o.counts.samples(), 120'000) << preset.name;
      mean += o.prox_gradient_norm / seeds;
    }
    RecordProperty(std::string(preset.name), std::to_string(mean / start));
    EXPECT_LT(mean, 0.1 * start) << preset.name << ": mean ||G|| " << mean << ", start " << start;
  }
}

TEST(Presets, LinearGrowthMakesIterationSCostSPlusOneSteps) {
  const Problem p = make();
  const MethodPreset& bsgm = find_preset("bsgm");
  const std::int64_t S = 12;
  const Outcome o = run_preset(bsgm, p, 1, 0.05, S, 0, 0);
  // t_s = k_s = s + 1 LL steps and LS products; J_s = s + 1 is capped by the population of 1.
  EXPECT_EQ(o.counts.map_evals, S * (S + 1) / 2);
  EXPECT_EQ(o.counts.jacobian_w_products, S * (S + 1) / 2);
  EXPECT_EQ(o.counts.jacobian_lambda_products, S);
}

TEST(Presets, HorizonGrowthUsesSStepsEveryIteration) {
  const Problem p = make(0.5);
  const MethodPreset& horizon = find_preset("bsgm-horizon");
  const std::int64_t S = 7;
  const Outcome o = run_preset(horizon, p, 2, 0.05, S, 0, 0);
  // Every iteration: t = k = S steps of B = 2 samples, J B = S B cross samples; on the upper level
  // J B samples for the final step and a fresh xi of B at each of the k LS steps.
  EXPECT_EQ(o.counts.samples_ll, S * (S * 2 + S * 2 + S * 2));
  EXPECT_EQ(o.counts.samples_ul, S * (S * 2 + S * 2));
}

TEST(Presets, GrowingScheduleStaysWithinItsSampleBudget) {
  const Problem p = make(0.5);
  for (std::int64_t budget : {1'000, 5'000, 20'000}) {
    const Outcome o = run_preset(find_preset("bsgm"), p, 4, 0.05, 100'000, budget, 0);
    EXPECT_LE(o.counts.samples(), budget);
    EXPECT_GT(o.counts.samples(), budget / 2);
  }
}

}  // namespace presets_test
}  // namespace bilevel
