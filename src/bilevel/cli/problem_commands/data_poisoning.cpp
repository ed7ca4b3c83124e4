// problem.name = "data-poisoning" on a real dataset (keys in docs/problems.md).
#include <algorithm>
#include <cmath>

#include "bilevel/cli/data_config.hpp"
#include "bilevel/cli/execute_on_problem.hpp"
#include "bilevel/problems/data_poisoning.hpp"
#include "bilevel/problems/minimization_adapter.hpp"

namespace bilevel {
namespace {

// The first poisoned_fraction of the (shuffled) training split is poisoned. gamma defaults to
// 1 / (L + mu) with L bounding the smoothness for every feasible noise.
template <class S>
int execute(Config& c, const CommandRequest& request) {
  DataPoisoning<S> base = from_data_splits(c, [&](const DataSplits& data) {
    DataPoisoningOptions o;
    const double fraction = read_double_in(c, "problem.poisoned_fraction", 0.2, 0, 1, "(]");
    o.epsilon = read_double_in(c, "problem.epsilon", o.epsilon, 0, 1, "(]");
    o.regularization = read_double_in(c, "problem.regularization", o.regularization, 0, kUnbounded, "()");
    const auto poisoned = std::max<Index>(1, static_cast<Index>(std::llround(fraction * static_cast<double>(data.train.size()))));
    return DataPoisoning<S>(data.train, poisoned, data.validation, data.test, o);
  });
  const double auto_gamma = 1.0 / (base.data_smoothness() + base.strong_convexity());
  const MinimizationAdapter<DataPoisoning<S>> p(std::move(base), static_cast<S>(read_gamma(c, auto_gamma)));
  return execute_on_problem(p, c, request);
}

}  // namespace

int execute_data_poisoning(Config& c, Precision precision, const CommandRequest& request) {
  return precision == Precision::kFloat ? execute<float>(c, request) : execute<double>(c, request);
}

}  // namespace bilevel
