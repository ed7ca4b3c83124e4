// problem.name = "hyper-cleaning" on a real dataset (keys in docs/problems.md).
#include "bilevel/cli/data_config.hpp"
#include "bilevel/cli/execute_on_problem.hpp"
#include "bilevel/data/splits.hpp"
#include "bilevel/problems/hyper_cleaning.hpp"
#include "bilevel/problems/minimization_adapter.hpp"

namespace bilevel {
namespace {

// A seeded fraction of the training labels is corrupted once, before the run.
template <class S>
int execute(Config& c, const CommandRequest& request) {
  HyperCleaning<S> base = from_data_splits(c, [&](DataSplits& data) {
    const double corruption = read_double_in(c, "problem.corruption", 0.4, 0, 1, "[)");
    const double reg = read_double_in(c, "problem.regularization", 0.001, 0, kUnbounded, "()");
    std::vector<bool> corrupted =
        corrupt_labels(data.train, corruption, static_cast<std::uint64_t>(c.get_int("problem.seed", 0)) + 7);
    return HyperCleaning<S>(data.train, std::move(corrupted), data.validation, data.test, reg);
  });
  const double auto_gamma = 1.0 / (base.data_smoothness() + base.strong_convexity());
  const MinimizationAdapter<HyperCleaning<S>> p(std::move(base), static_cast<S>(read_gamma(c, auto_gamma)));
  return execute_on_problem(p, c, request);
}

}  // namespace

int execute_hyper_cleaning(Config& c, Precision precision, const CommandRequest& request) {
  return precision == Precision::kFloat ? execute<float>(c, request) : execute<double>(c, request);
}

}  // namespace bilevel
