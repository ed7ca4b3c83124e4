#include "bilevel/cli/options_config.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "bilevel/methods/presets.hpp"

namespace bilevel {
namespace {

StepSchedule read_schedule(Config& c, const std::string& prefix, StepSchedule d) {
  return {c.get_double(prefix + ".step", d.step), c.get_double(prefix + ".decay_power", d.decay_power),
          c.get_double(prefix + ".decay_offset", d.decay_offset)};
}

Sampling read_sampling(Config& c, const std::string& key, Sampling d) {
  const auto s = c.get_choice(key, to_string(d), {"without_replacement", "with_replacement"});
  return s == "with_replacement" ? Sampling::kWithReplacement : Sampling::kWithoutReplacement;
}

int read_count(Config& c, const std::string& key, int d, int min) {
  const auto v = c.get_int(key, d);
  if (v < min || v > 100'000'000) c.fail(key, "must be between " + std::to_string(min) + " and 1e8, got " + std::to_string(v));
  return static_cast<int>(v);
}

Index read_batch(Config& c, const std::string& key, Index d) {
  const auto v = c.get_int(key, d);
  if (v < 0) c.fail(key, "must be >= 0 (0 = full batch), got " + std::to_string(v));
  return static_cast<Index>(v);
}

}  // namespace

EstimatorOptions read_estimator_options(Config& c, const EstimatorOptions& d, const std::string& p) {
  EstimatorOptions o;
  o.ll.iterations = read_count(c, p + ".ll.iterations", d.ll.iterations, 1);
  o.ll.step = read_schedule(c, p + ".ll", d.ll.step);
  o.ll.batch_size = read_batch(c, p + ".ll.batch_size", d.ll.batch_size);
  o.ll.sampling = read_sampling(c, p + ".ll.sampling", d.ll.sampling);
  o.ll.warm_start = c.get_bool(p + ".ll.warm_start", d.ll.warm_start);
  o.ll.warm_start_schedule = c.get_bool(p + ".ll.warm_start_schedule", d.ll.warm_start_schedule);
  o.ll.tolerance = c.get_double(p + ".ll.tolerance", d.ll.tolerance);

  const auto method = c.get_choice(p + ".ls.method", to_string(d.ls.method), {"fixed_point", "cg", "neumann", "reverse"});
  o.ls.method = method == "cg"        ? LinearSystemMethod::kConjugateGradient
                : method == "neumann" ? LinearSystemMethod::kNeumann
                : method == "reverse" ? LinearSystemMethod::kReverseMode
                                      : LinearSystemMethod::kFixedPoint;
  o.ls.iterations = read_count(c, p + ".ls.iterations", d.ls.iterations, 0);
  o.ls.step = read_schedule(c, p + ".ls", d.ls.step);
  o.ls.batch_size = read_batch(c, p + ".ls.batch_size", d.ls.batch_size);
  o.ls.sampling = read_sampling(c, p + ".ls.sampling", d.ls.sampling);
  const auto start = c.get_choice(p + ".ls.start", to_string(d.ls.start), {"zero", "outer_gradient"});
  o.ls.start = start == "zero" ? LinearSystemStart::kZero : LinearSystemStart::kOuterGradient;
  o.ls.warm_start = c.get_bool(p + ".ls.warm_start", d.ls.warm_start);
  o.ls.resample_outer_gradient = c.get_bool(p + ".ls.resample_outer_gradient", d.ls.resample_outer_gradient);
  o.ls.tolerance = c.get_double(p + ".ls.tolerance", d.ls.tolerance);

  o.outer_batch_size = read_batch(c, p + ".outer_batch_size", d.outer_batch_size);
  o.outer_sampling = read_sampling(c, p + ".outer_sampling", d.outer_sampling);
  o.cross_batch_size = read_batch(c, p + ".cross_batch_size", d.cross_batch_size);
  o.cross_sampling = read_sampling(c, p + ".cross_sampling", d.cross_sampling);
  return o;
}

UpperLevelOptions read_upper_level_options(Config& c, const UpperLevelOptions& d) {
  UpperLevelOptions o;
  o.step = read_schedule(c, "ul", d.step);
  const auto growth = c.get_choice("ul.growth", to_string(d.growth), {"none", "linear", "logarithmic", "horizon"});
  o.growth = growth == "linear"        ? Growth::kLinear
             : growth == "logarithmic" ? Growth::kLogarithmic
             : growth == "horizon"     ? Growth::kHorizon
                                       : Growth::kNone;
  o.max_iterations = c.get_int("ul.max_iterations", d.max_iterations);
  o.max_samples = c.get_int("ul.max_samples", d.max_samples);
  o.max_example_evals = c.get_int("ul.max_example_evals", d.max_example_evals);
  o.max_oracle_calls = c.get_int("ul.max_oracle_calls", d.max_oracle_calls);
  o.max_seconds = c.get_double("ul.max_seconds", d.max_seconds);
  o.eval_every = c.get_int("ul.eval_every", d.eval_every);
  o.divergence_ratio = c.get_double("ul.divergence_ratio", d.divergence_ratio);
  try {
    o.validate();
  } catch (const InvalidOptions& e) {
    throw ConfigError(c.source() + ": " + e.what());
  }
  return o;
}

MethodOptions read_method_options(Config& c, Index ll_population, Index ul_population) {
  std::vector<std::string> names{"custom"};
  for (const MethodPreset& p : method_presets()) names.emplace_back(p.name);
  MethodOptions m;
  m.method = c.get_choice("method", "custom", names);
  if (m.method == "custom") {
    m.estimator = read_estimator_options(c);
    m.ul = read_upper_level_options(c);
    return m;
  }
  const MethodPreset& preset = find_preset(m.method);
  EstimatorOptions defaults = preset.estimator;
  // 0 (full batches) is what a deterministic preset does anyway: accepted, so that one config can serve
  // stochastic and deterministic presets (a search or an experiment over methods).
  if (!preset.stochastic && c.has("estimator.batch_size") && c.get_int("estimator.batch_size", 0) != 0)
    c.fail("estimator.batch_size",
           fmt::format("method {} is deterministic (full batches); set the individual estimator.*batch_size keys "
                       "to make it stochastic, pick a stochastic preset, or set 0 (full batches)",
                       m.method));
  if (preset.stochastic) {
    // The default B fits any population; an explicit B larger than the population is an error below.
    auto smallest_finite = [](Index a, Index b) {
      if (a == kUnboundedPopulation) return b;
      if (b == kUnboundedPopulation) return a;
      return std::min(a, b);
    };
    const Index population = smallest_finite(ll_population, ul_population);
    const Index fallback = population == kUnboundedPopulation ? 64 : std::min<Index>(64, population);
    const Index batch = read_batch(c, "estimator.batch_size", fallback);
    if (batch == 0) c.fail("estimator.batch_size", fmt::format("method {} is stochastic: it needs a minibatch size > 0", m.method));
    defaults = preset.estimator_options(batch);
    // J B, at most the population (J B >= population is the full batch).
    if (ll_population != kUnboundedPopulation) defaults.cross_batch_size = std::min(defaults.cross_batch_size, ll_population);
    if (ul_population != kUnboundedPopulation) defaults.outer_batch_size = std::min(defaults.outer_batch_size, ul_population);
  }
  m.estimator = read_estimator_options(c, defaults);
  m.ul = read_upper_level_options(c, preset.ul);
  return m;
}

EvaluationOptions read_evaluation_options(Config& c) {
  EvaluationOptions e;
  e.iterations = static_cast<int>(c.get_int("evaluation.iterations", e.iterations));
  if (e.iterations < 1) c.fail("evaluation.iterations", fmt::format("must be >= 1, got {}", e.iterations));
  e.tolerance = c.get_double("evaluation.tolerance", e.tolerance);
  if (!(e.tolerance >= 0)) c.fail("evaluation.tolerance", fmt::format("must be >= 0 (0 = automatic), got {}", e.tolerance));
  e.hypergradient = c.get_bool("evaluation.hypergradient", e.hypergradient);
  e.at_start = c.get_bool("evaluation.at_start", e.at_start);
  return e;
}

}  // namespace bilevel
