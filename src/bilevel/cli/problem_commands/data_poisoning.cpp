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
  const DataSplits data = read_data_splits(c);
  DataPoisoningOptions o;
  const double fraction = c.get_double("problem.poisoned_fraction", 0.2);
  if (!(fraction > 0 && fraction <= 1)) c.fail("problem.poisoned_fraction", fmt::format("must be in (0, 1], got {}", fraction));
  o.epsilon = c.get_double("problem.epsilon", o.epsilon);
  if (!(o.epsilon > 0 && o.epsilon <= 1)) c.fail("problem.epsilon", fmt::format("must be in (0, 1], got {}", o.epsilon));
  o.regularization = c.get_double("problem.regularization", o.regularization);
  if (!(o.regularization > 0)) c.fail("problem.regularization", fmt::format("must be > 0, got {}", o.regularization));
  const auto poisoned = std::max<Index>(1, static_cast<Index>(std::llround(fraction * static_cast<double>(data.train.size()))));
  DataPoisoning<S> base(data.train, poisoned, data.validation, data.test, o);
  const double auto_gamma = 1.0 / (base.data_smoothness() + base.strong_convexity());
  const MinimizationAdapter<DataPoisoning<S>> p(std::move(base), static_cast<S>(read_gamma(c, auto_gamma)));
  return execute_on_problem(p, c, request);
}

}  // namespace

int execute_data_poisoning(Config& c, Precision precision, const CommandRequest& request) {
  return precision == Precision::kFloat ? execute<float>(c, request) : execute<double>(c, request);
}

}  // namespace bilevel
