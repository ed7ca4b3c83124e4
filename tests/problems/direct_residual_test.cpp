// The direct residual Phi - w and linear-system product (I - d_w Phi^T) u of a minimisation form
// (problems/problem.hpp, HasDirectResidual): the same values as the differences of map and map_vjp_w
// in double, and what lets the evaluator's accurate solve in float agree with double's on an
// ill-conditioned lower level, where the differences keep no digit of the flattest directions.
#include <gtest/gtest.h>

#include <cmath>

#include "bilevel/problems/logistic_ho.hpp"
#include "bilevel/problems/minimization_adapter.hpp"
#include "oracles_only.hpp"
#include "problem_fixtures.hpp"

namespace bilevel {
namespace direct_residual_test {

using namespace testing;

static_assert(HasDirectResidual<MinimizationAdapter<LogisticHO<float>>>);

// logistic-ho on the fixture's 100 training images, per-feature regularisation allowed down to e^-12.
template <class S>
MinimizationAdapter<LogisticHO<S>> flat_logistic_ho() {
  const FixtureSplits s = fixture_splits();
  LogisticHOOptions o;
  o.lambda_min = -12;
  o.lambda_max = 1;
  LogisticHO<S> base(s.train, s.validation, s.test, o);
  const double gamma = 1.0 / (base.data_smoothness() + std::exp(1.0));
  return MinimizationAdapter<LogisticHO<S>>(std::move(base), static_cast<S>(gamma));
}

// Through its five oracles only (oracles_only.hpp), CountedOracle forms the residual and the product as
// differences.
static_assert(BilevelProblem<OraclesOnly<MinimizationAdapter<LogisticHO<float>>>>);
static_assert(!HasDirectResidual<OraclesOnly<MinimizationAdapter<LogisticHO<float>>>>);

TEST(DirectResidual, EqualsTheDifferencesOfTheMapAndItsJacobianInDouble) {
  const auto p = flat_logistic_ho<double>();
  const Vector<double> w = random_vector(p.dim_w(), 0.5, 1), u = random_vector(p.dim_w(), 1.0, 2);
  const Vector<double> lambda = random_vector(p.dim_lambda(), 1.0, 3).array() - 4.0;
  for (const auto& batch : {std::vector<SampleId>{3, 17, 42, 99, 5}, all_ids(p.ll_population())}) {
    Vector<double> direct(p.dim_w()), difference(p.dim_w());
    p.map_residual(w, lambda, batch, direct);
    p.map(w, lambda, batch, difference);
    difference -= w;
    EXPECT_LT((direct - difference).norm(), 1e-13 * w.norm()) << "map_residual";
    EXPECT_GT(direct.norm(), 1e-3 * w.norm());  // not a residual that vanishes
    p.linear_system_product(w, lambda, u, batch, direct);
    p.map_vjp_w(w, lambda, u, batch, difference);
    difference = u - difference;
    EXPECT_LT((direct - difference).norm(), 1e-13 * u.norm()) << "linear_system_product";
    EXPECT_GT(direct.norm(), 1e-3 * u.norm());
    // The counted oracle takes the direct forms, and the differences for a problem without them.
    OracleCounts counts;
    const OraclesOnly<MinimizationAdapter<LogisticHO<double>>> differences_only(p);
    CountedOracle<OraclesOnly<MinimizationAdapter<LogisticHO<double>>>> oracle(differences_only, counts);
    oracle.linear_system_product(w, lambda, u, batch, direct);
    EXPECT_EQ(direct, difference);
    oracle.map_residual(w, lambda, batch, direct);
    p.map(w, lambda, batch, difference);
    EXPECT_EQ(direct, Vector<double>(difference - w));
    EXPECT_EQ(counts.map_evals, 1);
    EXPECT_EQ(counts.jacobian_w_products, 1);
  }
}

// The evaluator's accurate solve (Newton with CG) at a lambda where most directions of W have
// curvature about e^-10 (100 images span few of the 7 840), so gamma mu is about 8e-7 (gamma = 0.017),
// 13 times float's epsilon (6e-8): in float, Phi(w) - w and (I - d_w Phi^T) u formed as differences
// keep about one digit of those directions. The direct forms keep float's own accuracy.
TEST(DirectResidual, LetsTheAccurateSolveInFloatAgreeWithDouble) {
  const auto pd = flat_logistic_ho<double>();
  const auto pf = flat_logistic_ho<float>();
  const OraclesOnly<MinimizationAdapter<LogisticHO<float>>> differences_only(pf);
  Vector<double> lambda_d = random_vector(pd.dim_lambda(), 0.5, 4).array() - 10.0;
  pd.constraint().project(lambda_d);
  const Vector<float> lambda_f = lambda_d.cast<float>();

  const Evaluation<double> reference = Evaluator(pd).evaluate(lambda_d, 1.0);
  const Evaluation<float> direct = Evaluator(pf).evaluate(lambda_f, 1.0);
  const Evaluation<float> differences = Evaluator(differences_only).evaluate(lambda_f, 1.0);
  auto error = [&](const Evaluation<float>& e) {
    return (e.gradient.cast<double>() - reference.gradient).norm() / reference.gradient.norm();
  };
  auto objective_error = [&](const Evaluation<float>& e) {
    return std::abs(e.objective - reference.objective) / std::abs(reference.objective);
  };
  EXPECT_LT(objective_error(direct), 1e-4);  // the solve stops at a relative correction of 1e-5 in float
  EXPECT_LT(error(direct), 1e-3);
  // The differences were what the evaluator computed before: show that this lambda tells them apart.
  EXPECT_GT(error(differences), 10 * error(direct));
  std::printf("relative error against double: objective %.2e (direct), %.2e (differences); hypergradient %.2e, %.2e\n",
              objective_error(direct), objective_error(differences), error(direct), error(differences));
}

}  // namespace direct_residual_test
}  // namespace bilevel
