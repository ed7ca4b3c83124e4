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
  o.contraction = c.get_double("problem.contraction", d.contraction);
  o.noise_ll = c.get_double("problem.noise_ll", d.noise_ll);
  o.noise_ul = c.get_double("problem.noise_ul", d.noise_ul);
  o.outer_reg = c.get_double("problem.outer_reg", d.outer_reg);
  o.seed = static_cast<std::uint64_t>(c.get_int("problem.seed", 0));
  if (!(o.contraction >= 0 && o.contraction < 1))
    c.fail("problem.contraction", fmt::format("must be in [0, 1) for the map to be a contraction, got {}", o.contraction));
  if (o.noise_ll < 0) c.fail("problem.noise_ll", fmt::format("must be >= 0, got {}", o.noise_ll));
  if (o.noise_ul < 0) c.fail("problem.noise_ul", fmt::format("must be >= 0, got {}", o.noise_ul));
  if (o.outer_reg < 0) c.fail("problem.outer_reg", fmt::format("must be >= 0, got {}", o.outer_reg));
  return o;
}

template <class S>
int execute(Config& c, const CommandRequest& request) {
  const auto form = c.get_choice("problem.form", "minimization", {"minimization", "fixed_point"});
  const QuadraticOptions o = read_quadratic_options(c);
  if (form == "fixed_point") return execute_on_problem(QuadraticFixedPoint<S>(o), c, request);
  const double gamma = c.get_double("problem.gamma", 1.0);
  if (!(gamma > 0 && gamma < 2))
    c.fail("problem.gamma", fmt::format("must be in (0, 2) (the eigenvalues of H lie in (0, 1]), got {}", gamma));
  const MinimizationAdapter<QuadraticMinimization<S>> p(QuadraticMinimization<S>(o), static_cast<S>(gamma));
  return execute_on_problem(p, c, request);
}

}  // namespace

int execute_quadratic(Config& c, Precision precision, const CommandRequest& request) {
  return precision == Precision::kFloat ? execute<float>(c, request) : execute<double>(c, request);
}

}  // namespace bilevel
