// problem.name = "logistic-ho" on a real dataset (keys in docs/problems.md).
#include <cmath>

#include "bilevel/cli/data_config.hpp"
#include "bilevel/cli/execute_on_problem.hpp"
#include "bilevel/problems/logistic_ho.hpp"
#include "bilevel/problems/minimization_adapter.hpp"

namespace bilevel {
namespace {

// gamma defaults to 1 / (L_data + exp(lambda_max)), which keeps Phi a contraction on all of Lambda.
template <class S>
int execute(Config& c, const CommandRequest& request) {
  LogisticHOOptions o;
  const auto reg = c.get_choice("problem.regularization", "per_feature", {"per_feature", "scalar"});
  o.regularization = reg == "scalar" ? Regularization::kScalar : Regularization::kPerFeature;
  o.lambda_min = c.get_double("problem.lambda_min", -10.0);
  o.lambda_max = c.get_double("problem.lambda_max", 1.0);
  if (!(o.lambda_min < o.lambda_max))
    c.fail("problem.lambda_max", fmt::format("must be > problem.lambda_min = {}, got {}", o.lambda_min, o.lambda_max));
  if (o.lambda_max > 20) c.fail("problem.lambda_max", fmt::format("must be <= 20 (exp(lambda) overflows float), got {}", o.lambda_max));
  LogisticHO<S> base = from_data_splits(c, [&](const DataSplits& data) {
    return LogisticHO<S>(data.train, data.validation, data.test, o);
  });
  const double auto_gamma = 1.0 / (base.data_smoothness() + std::exp(o.lambda_max));
  const MinimizationAdapter<LogisticHO<S>> p(std::move(base), static_cast<S>(read_gamma(c, auto_gamma)));
  return execute_on_problem(p, c, request);
}

}  // namespace

int execute_logistic_ho(Config& c, Precision precision, const CommandRequest& request) {
  return precision == Precision::kFloat ? execute<float>(c, request) : execute<double>(c, request);
}

}  // namespace bilevel
