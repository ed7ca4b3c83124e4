// problem.name = "equilibrium": an equilibrium (implicit) model on a real dataset (keys in docs/problems.md).
#include "bilevel/cli/data_config.hpp"
#include "bilevel/cli/execute_on_problem.hpp"
#include "bilevel/problems/equilibrium.hpp"

namespace bilevel {
namespace {

template <class S>
int execute(Config& c, const CommandRequest& request) {
  EquilibriumOptions o;
  o.hidden = read_size(c, "problem.hidden", o.hidden);
  o.radius = read_double_in(c, "problem.radius", o.radius, 0, 1, "()", "(||A||_2 <= radius is the contraction constant)");
  o.output_bound = read_double_in(c, "problem.output_bound", o.output_bound, 0, kUnbounded, "[]", "(0 = unbounded)");
  o.init_scale = read_double_in(c, "problem.init_scale", o.init_scale, 0, kUnbounded);
  o.metric_iterations = static_cast<int>(read_size(c, "problem.metric_iterations", o.metric_iterations));
  o.seed = static_cast<std::uint64_t>(c.get_int("problem.seed", 0));
  const Equilibrium<S> p = from_data_splits(c, [&](const DataSplits& data) {
    return Equilibrium<S>(data.train, data.validation, data.test, o);
  });
  return execute_on_problem(p, c, request);
}

}  // namespace

int execute_equilibrium(Config& c, Precision precision, const CommandRequest& request) {
  return precision == Precision::kFloat ? execute<float>(c, request) : execute<double>(c, request);
}

}  // namespace bilevel
