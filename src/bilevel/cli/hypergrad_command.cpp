// bilevel hypergrad: the hypergradient of a problem at a given lambda with a given estimator.
#include <chrono>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bilevel/cli/commands.hpp"
#include "bilevel/cli/config.hpp"
#include "bilevel/cli/options_config.hpp"
#include "bilevel/cli/json_output.hpp"
#include "bilevel/cli/problem_factory.hpp"
#include "bilevel/estimators/hypergradient.hpp"

namespace bilevel {
namespace {

template <class S>
nlohmann::ordered_json compute(Config& c) {
  const auto seed = static_cast<std::uint64_t>(c.get_int("seed", 0));
  const auto repeats = c.get_int("repeats", 1);
  if (repeats < 1 || repeats > 1'000'000) c.fail("repeats", fmt::format("must be in [1, 1000000], got {}", repeats));
  return with_problem<S>(c, [&](const auto& problem) {
    using P = std::decay_t<decltype(problem)>;
    const Vector<S> lambda = read_lambda<S>(c, problem.dim_lambda());
    const EstimatorOptions options = read_method_options(c, problem.ll_population(), problem.ul_population()).estimator;
    c.finish();  // every key has been read: anything left is unknown

    std::optional<HypergradientEstimator<P>> estimator;
    try {
      estimator.emplace(problem, options);
    } catch (const InvalidOptions& e) {
      throw ConfigError(fmt::format("{}: estimator.{}", c.source(), e.what()));
    }

    // Independent repeats (seeds seed, seed + 1, ...) each from a cold state, to measure the spread.
    OracleCounts counts;
    Vector<double> mean = Vector<double>::Zero(problem.dim_lambda());
    std::vector<Vector<double>> estimates;
    const auto start = std::chrono::steady_clock::now();
    for (std::int64_t r = 0; r < repeats; ++r) {
      EstimatorState<S> state;
      EstimatorStreams streams(seed + static_cast<std::uint64_t>(r));
      estimates.push_back(estimator->compute(lambda, state, streams, counts).hypergradient.template cast<double>());
      mean += estimates.back() / static_cast<double>(repeats);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    nlohmann::ordered_json out;
    out["problem"] = c.get_string("problem.name", "quadratic");
    out["precision"] = sizeof(S) == 4 ? "float" : "double";
    out["lambda"] = to_json(lambda);
    out["hypergradient"] = to_json(mean);
    if (repeats > 1) out["repeats"] = repeats;
    if constexpr (requires { problem.exact(lambda); }) {
      const Vector<double> exact = problem.exact(lambda).hypergradient.template cast<double>();
      out["exact_hypergradient"] = to_json(exact);
      out["error_norm"] = (mean - exact).norm();
      out["relative_error"] = (mean - exact).norm() / std::max(exact.norm(), 1e-300);
      if (repeats > 1) {
        double mse = 0;
        for (const auto& h : estimates) mse += (h - exact).squaredNorm() / static_cast<double>(repeats);
        out["mean_squared_error"] = mse;
        out["relative_mean_squared_error"] = mse / std::max(exact.squaredNorm(), 1e-300);
      }
    }
    out["counts"] = to_json(counts);
    out["seconds"] = seconds;
    return out;
  });
}

}  // namespace

int hypergrad_command(const std::string& config_path, const std::vector<std::string>& overrides, std::ostream& out) {
  Config c = Config::load(config_path, overrides);
  const auto precision = c.get_choice("precision", "double", {"double", "float"});
  const nlohmann::ordered_json result = precision == "float" ? compute<float>(c) : compute<double>(c);
  out << result.dump(2) << '\n';
  return 0;
}

}  // namespace bilevel
