// problem.name = "hyper-representation": the loops paper's synthetic problem (keys in docs/problems.md).
#include "bilevel/cli/execute_on_problem.hpp"
#include "bilevel/problems/hyper_representation.hpp"
#include "bilevel/problems/minimization_adapter.hpp"

namespace bilevel {
namespace {

// gamma defaults to 1 / L with L the LL smoothness bound on all of Lambda.
template <class S>
int execute(Config& c, const CommandRequest& request) {
  HyperRepresentationOptions o;
  o.input_dim = read_size(c, "problem.input_dim", o.input_dim);
  o.representation = read_size(c, "problem.representation", o.representation);
  o.train_size = read_size(c, "problem.train_size", o.train_size);
  o.validation_size = read_size(c, "problem.validation_size", o.validation_size);
  o.noise = read_double_in(c, "problem.noise", o.noise, 0, kUnbounded);
  o.mu = read_double_in(c, "problem.mu", o.mu, 0, kUnbounded, "()");
  o.radius = read_double_in(c, "problem.radius", o.radius, 0, kUnbounded, "[]", "(0 = 2 ||H_true||)");
  o.seed = static_cast<std::uint64_t>(c.get_int("problem.seed", 0));
  HyperRepresentation<S> base(o);
  const double auto_gamma = 1.0 / base.smoothness();
  const MinimizationAdapter<HyperRepresentation<S>> p(std::move(base), static_cast<S>(read_gamma(c, auto_gamma)));
  return execute_on_problem(p, c, request);
}

}  // namespace

int execute_hyper_representation(Config& c, Precision precision, const CommandRequest& request) {
  return precision == Precision::kFloat ? execute<float>(c, request) : execute<double>(c, request);
}

}  // namespace bilevel
