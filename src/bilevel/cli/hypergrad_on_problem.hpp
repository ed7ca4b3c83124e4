#pragma once
// The body of `bilevel hypergrad` for one built problem, erased (problems/any_problem.hpp): the estimate at `lambda` (mean over `repeats`
// independent seeds), compared with the exact hypergradient when the problem has one, or with the
// accurate one of the evaluator ([evaluation]) when `reference = true`; one JSON object.
#include <algorithm>
#include <chrono>
#include <optional>
#include <ostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bilevel/cli/config.hpp"
#include "bilevel/cli/json_output.hpp"
#include "bilevel/cli/options_config.hpp"
#include "bilevel/cli/problem_config.hpp"
#include "bilevel/cli/sample_trace_file.hpp"
#include "bilevel/methods/engine.hpp"

namespace bilevel {

template <class P>
int hypergrad_on_problem(const P& problem, Config& c, std::ostream& out, const std::string& trace_path = "") {
  using S = typename P::Scalar;
  const auto seed = static_cast<std::uint64_t>(c.get_int("seed", 0));
  const auto repeats = c.get_int("repeats", 1);
  if (repeats < 1 || repeats > 1'000'000) c.fail("repeats", fmt::format("must be in [1, 1000000], got {}", repeats));
  const Vector<S> lambda = read_initial_lambda(c, problem);
  const EstimatorOptions options = read_method_options(c, EngineFor<P>::ll_population(problem), EngineFor<P>::ul_population(problem)).estimator;
  const EvaluationOptions evaluation = read_evaluation_options(c);
  const bool reference = c.get_bool("reference", false);
  c.finish();  // every key has been read: anything left is unknown

  std::optional<typename EngineFor<P>::Estimator> estimator;
  try {
    estimator.emplace(problem, options);
  } catch (const InvalidOptions& e) {
    throw ConfigError(fmt::format("{}: estimator.{}", c.source(), e.what()));
  }
  auto trace = open_sample_trace(trace_path);
  if (trace) estimator->trace_samples(&*trace);

  // What the estimates are compared with: the exact hypergradient when the problem has one, else the
  // evaluator's accurate one when asked for. Known before the repeats, so that their squared errors
  // are summed as they come instead of keeping every estimate (1.6 MB each for equilibrium).
  std::optional<Vector<double>> reference_h;
  const char* reference_name = nullptr;
  std::optional<double> reference_ll_residual;
  if (has_closed_form(problem)) {
    reference_h = problem.exact(lambda).hypergradient.template cast<double>();
    reference_name = "exact_hypergradient";
  } else if (reference) {
    typename EngineFor<P>::Evaluator evaluator(problem, evaluation);
    const Evaluation<S> e = evaluator.evaluate(lambda, 1.0);
    reference_h = e.gradient.template cast<double>();
    reference_name = "reference_hypergradient";
    reference_ll_residual = e.ll_residual;
  }

  // Independent repeats (seeds seed, seed + 1, ...) each from a cold state, to measure the spread.
  // `seconds` is the time spent in the estimator alone.
  OracleCounts counts;
  Vector<double> mean = Vector<double>::Zero(problem.dim_lambda());
  double mse = 0, seconds = 0;
  for (std::int64_t r = 0; r < repeats; ++r) {
    EstimatorState<S> state;
    EstimatorStreams streams(seed + static_cast<std::uint64_t>(r));
    const auto start = std::chrono::steady_clock::now();
    const Vector<S>& h = estimator->compute(lambda, state, streams, counts).hypergradient;
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const Vector<double> estimate = h.template cast<double>();
    mean += estimate / static_cast<double>(repeats);
    if (reference_h) mse += (estimate - *reference_h).squaredNorm() / static_cast<double>(repeats);
  }

  nlohmann::ordered_json result;
  result["problem"] = c.get_string("problem.name", "quadratic");
  result["precision"] = sizeof(S) == 4 ? "float" : "double";
  result["lambda"] = to_json(lambda);
  result["hypergradient"] = to_json(mean);
  if (repeats > 1) result["repeats"] = repeats;
  if (reference_h) {
    result[reference_name] = to_json(*reference_h);
    result["error_norm"] = (mean - *reference_h).norm();
    result["relative_error"] = (mean - *reference_h).norm() / std::max(reference_h->norm(), 1e-300);
    if (repeats > 1) {
      result["mean_squared_error"] = mse;
      result["relative_mean_squared_error"] = mse / std::max(reference_h->squaredNorm(), 1e-300);
    }
  }
  if (reference_ll_residual) result["reference_ll_residual"] = *reference_ll_residual;
  result["counts"] = to_json(counts);
  result["seconds"] = seconds;
  out << result.dump(2) << '\n';
  return 0;
}

}  // namespace bilevel
