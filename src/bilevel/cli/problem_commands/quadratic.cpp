// problem.name = "quadratic": the synthetic quadratic with a closed-form hypergradient.
#include "bilevel/cli/execute_on_problem.hpp"
#include "bilevel/problems/minimization_adapter.hpp"
#include "bilevel/problems/quadratic.hpp"

namespace bilevel {
namespace {

QuadraticOptions read_quadratic_options(Config& c) {
  const QuadraticOptions d;
  QuadraticOptions o;
  o.dim_w = read_size(c, "problem.dim_w", d.dim_w);
  o.dim_lambda = read_size(c, "problem.dim_lambda", d.dim_lambda);
  o.contraction = read_double_in(c, "problem.contraction", d.contraction, 0, 1, "[)", "for the map to be a contraction");
  o.noise_ll = read_double_in(c, "problem.noise_ll", d.noise_ll, 0, kUnbounded);
  o.noise_ul = read_double_in(c, "problem.noise_ul", d.noise_ul, 0, kUnbounded);
  o.outer_reg = read_double_in(c, "problem.outer_reg", d.outer_reg, 0, kUnbounded);
  o.seed = static_cast<std::uint64_t>(c.get_int("problem.seed", 0));
  return o;
}

template <class S>
int execute(Config& c, const CommandRequest& request) {
  const auto form = c.get_choice("problem.form", "minimization", {"minimization", "fixed_point"});
  const QuadraticOptions o = read_quadratic_options(c);
  if (form == "fixed_point") return execute_on_problem(QuadraticFixedPoint<S>(o), c, request);
  const double gamma = read_double_in(c, "problem.gamma", 1.0, 0, 2, "()", "(the eigenvalues of H lie in (0, 1])");
  const MinimizationAdapter<QuadraticMinimization<S>> p(QuadraticMinimization<S>(o), static_cast<S>(gamma));
  return execute_on_problem(p, c, request);
}

}  // namespace

int execute_quadratic(Config& c, Precision precision, const CommandRequest& request) {
  return precision == Precision::kFloat ? execute<float>(c, request) : execute<double>(c, request);
}

}  // namespace bilevel
