// problem.name = "equilibrium": an equilibrium (implicit) model on a real dataset (keys in docs/problems.md).
#include "bilevel/cli/data_config.hpp"
#include "bilevel/cli/execute_on_problem.hpp"
#include "bilevel/problems/equilibrium.hpp"

namespace bilevel {
namespace {

template <class S>
int execute(Config& c, const CommandRequest& request) {
  const DataSplits data = read_data_splits(c);
  EquilibriumOptions o;
  o.hidden = read_size(c, "problem.hidden", o.hidden);
  o.radius = c.get_double("problem.radius", o.radius);
  if (!(o.radius > 0 && o.radius < 1))
    c.fail("problem.radius", fmt::format("must be in (0, 1): ||A||_2 <= radius is the contraction constant, got {}", o.radius));
  o.output_bound = c.get_double("problem.output_bound", o.output_bound);
  if (!(o.output_bound >= 0)) c.fail("problem.output_bound", fmt::format("must be >= 0 (0 = unbounded), got {}", o.output_bound));
  o.init_scale = c.get_double("problem.init_scale", o.init_scale);
  if (!(o.init_scale >= 0)) c.fail("problem.init_scale", fmt::format("must be >= 0, got {}", o.init_scale));
  o.metric_iterations = static_cast<int>(c.get_int("problem.metric_iterations", o.metric_iterations));
  if (o.metric_iterations < 1) c.fail("problem.metric_iterations", fmt::format("must be >= 1, got {}", o.metric_iterations));
  o.seed = static_cast<std::uint64_t>(c.get_int("problem.seed", 0));
  const Equilibrium<S> p(data.train, data.validation, data.test, o);
  return execute_on_problem(p, c, request);
}

}  // namespace

int execute_equilibrium(Config& c, Precision precision, const CommandRequest& request) {
  return precision == Precision::kFloat ? execute<float>(c, request) : execute<double>(c, request);
}

}  // namespace bilevel
