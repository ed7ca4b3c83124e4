// Type-erased problems (problems/any_problem.hpp), which the command line runs every problem through:
// each oracle and optional member gives the concrete problem's bits, each kind satisfies its own
// concept only, and the evaluator treats an erased closed form as a closed form.
#include "bilevel/problems/any_problem.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "bilevel/methods/engine.hpp"
#include "bilevel/problems/equilibrium.hpp"
#include "bilevel/problems/logistic_ho.hpp"
#include "bilevel/problems/minimization_adapter.hpp"
#include "bilevel/problems/quadratic.hpp"
#include "problem_fixtures.hpp"

namespace bilevel {
namespace any_problem_test {

using namespace testing;

static_assert(BilevelProblem<AnyProblem<double>> && !SeparableProblem<AnyProblem<double>>);
static_assert(BilevelProblem<AnyProblem<float>> && !SeparableProblem<AnyProblem<float>>);
static_assert(SeparableProblem<AnySeparableProblem<double>> && !BilevelProblem<AnySeparableProblem<double>>);
// The erased problem is built from a problem of its own kind and scalar type only.
static_assert(!std::constructible_from<AnyProblem<float>, const MinimizationAdapter<QuadraticMinimization<double>>&>);
static_assert(!std::constructible_from<AnyProblem<double>, const Equilibrium<double>&>);
static_assert(!std::constructible_from<AnySeparableProblem<double>, const QuadraticFixedPoint<double>&>);

// The five oracles (and the direct residual and product, problems/problem.hpp) of the erased and the
// concrete problem at one point, with w, lambda and u all
// different (so an argument passed in the wrong place shows): identical bits. `metrics`: compare the
// problem's metrics too (a separable problem's take the states of all its blocks).
template <class P, class E>
void expect_same_oracles(const P& p, const E& e, Index dim_w, Batch batch, bool metrics = true) {
  EXPECT_EQ(e.dim_lambda(), p.dim_lambda());
  EXPECT_EQ(e.jacobian_w_symmetric(), p.jacobian_w_symmetric());
  EXPECT_EQ(&e.constraint(), &p.constraint());
  const Vector<double> w = random_vector(dim_w, 0.5, 1), u = random_vector(dim_w, 1.0, 2);
  Vector<double> lambda = random_vector(p.dim_lambda(), 0.3, 3);
  p.constraint().project(lambda);
  Vector<double> a(dim_w), b(dim_w), la(p.dim_lambda()), lb(p.dim_lambda());
  p.map(w, lambda, batch, a);
  e.map(w, lambda, batch, b);
  EXPECT_EQ(a, b) << "map";
  p.map_vjp_w(w, lambda, u, batch, a);
  e.map_vjp_w(w, lambda, u, batch, b);
  EXPECT_EQ(a, b) << "map_vjp_w";
  p.map_vjp_lambda(w, lambda, u, batch, la);
  e.map_vjp_lambda(w, lambda, u, batch, lb);
  EXPECT_EQ(la, lb) << "map_vjp_lambda";
  if constexpr (HasDirectResidual<E>) {  // every AnyProblem (a separable problem's block view has none)
    map_residual_of(p, w, lambda, batch, a);  // the concrete problem's direct form, or the difference
    e.map_residual(w, lambda, batch, b);
    EXPECT_EQ(a, b) << "map_residual";
    linear_system_product_of(p, w, lambda, u, batch, a);
    e.linear_system_product(w, lambda, u, batch, b);
    EXPECT_EQ(a, b) << "linear_system_product";
  }
  Vector<double> gw_p, gl_p, gw_e, gl_e;
  EXPECT_EQ(p.outer(w, lambda, batch, &gw_p, &gl_p), e.outer(w, lambda, batch, &gw_e, &gl_e));
  EXPECT_EQ(gw_p, gw_e) << "outer grad_w";
  EXPECT_EQ(gl_p, gl_e) << "outer grad_lambda";
  EXPECT_EQ(p.outer(w, lambda, batch, nullptr, nullptr), e.outer(w, lambda, batch, nullptr, nullptr));
  if (!metrics) return;
  if constexpr (HasProblemMetrics<P>) EXPECT_EQ(e.metrics(lambda, w), p.metrics(lambda, w));
  else EXPECT_TRUE(e.metrics(lambda, w).empty());
}

QuadraticOptions noisy_quadratic() {
  QuadraticOptions o;
  o.dim_w = 8;
  o.dim_lambda = 3;
  o.noise_ll = o.noise_ul = 0.1;
  o.seed = 4;
  return o;
}

TEST(AnyProblem, ForwardsTheQuadraticsAndTheirClosedForm) {
  const std::vector<SampleId> batch{3, 9, 9, 20};
  const MinimizationAdapter<QuadraticMinimization<double>> minimization(QuadraticMinimization<double>(noisy_quadratic()), 0.8);
  const QuadraticFixedPoint<double> fixed_point(noisy_quadratic());
  const AnyProblem<double> erased_minimization(minimization), erased_fixed_point(fixed_point);
  for (auto* e : {&erased_minimization, &erased_fixed_point}) {
    EXPECT_EQ(e->dim_w(), 8);
    EXPECT_EQ(e->ll_population(), minimization.ll_population());
    EXPECT_EQ(e->ul_population(), minimization.ul_population());
    EXPECT_TRUE(has_closed_form(*e));
    EXPECT_FALSE(e->initial_lambda());
  }
  expect_same_oracles(minimization, erased_minimization, 8, batch);
  expect_same_oracles(fixed_point, erased_fixed_point, 8, batch);
  EXPECT_EQ(erased_minimization.gamma(), 0.8);
  EXPECT_FALSE(erased_fixed_point.gamma());

  const Vector<double> lambda = Vector<double>::LinSpaced(3, -0.5, 0.5);
  const ExactSolution<double> a = minimization.exact(lambda), b = erased_minimization.exact(lambda);
  EXPECT_EQ(a.w, b.w);
  EXPECT_EQ(a.hypergradient, b.hypergradient);
  EXPECT_EQ(a.value, b.value);
  // The evaluator takes the erased closed form, as it does the concrete one.
  const Evaluation<double> concrete = Evaluator(minimization).evaluate(lambda, 1.0);
  const Evaluation<double> erased = Evaluator(erased_minimization).evaluate(lambda, 1.0);
  EXPECT_TRUE(erased.exact);
  EXPECT_EQ(erased.objective, concrete.objective);
  EXPECT_EQ(erased.gradient, concrete.gradient);
}

TEST(AnyProblem, ForwardsAProblemWithoutAClosedFormAndItsMetrics) {
  const FixtureSplits s = fixture_splits();
  LogisticHOOptions o;
  o.regularization = Regularization::kScalar;
  const MinimizationAdapter<LogisticHO<double>> p(LogisticHO<double>(s.train, s.validation, s.test, o), 0.5);
  const AnyProblem<double> e(p);
  ASSERT_EQ(e.dim_w(), p.dim_w());
  EXPECT_FALSE(has_closed_form(e));
  EXPECT_THROW(e.exact(Vector<double>::Zero(p.dim_lambda())), std::logic_error);
  EXPECT_EQ(e.gamma(), 0.5);
  expect_same_oracles(p, e, p.dim_w(), std::vector<SampleId>{0, 5, 17, 5});
  // One batch serves the LL map and the UL objective: as many ids as the smaller population.
  expect_same_oracles(p, e, p.dim_w(), all_ids(std::min(p.ll_population(), p.ul_population())));
  // An accurate evaluation through the erased problem: the same bits, metrics included.
  const Vector<double> lambda = Vector<double>::Constant(p.dim_lambda(), -2.0);
  const Evaluation<double> concrete = Evaluator(p).evaluate(lambda, 1.0);
  const Evaluation<double> erased = Evaluator(e).evaluate(lambda, 1.0);
  EXPECT_FALSE(erased.exact);
  EXPECT_EQ(erased.objective, concrete.objective);
  EXPECT_EQ(erased.gradient, concrete.gradient);
  ASSERT_FALSE(erased.metrics.empty());
  EXPECT_EQ(erased.metrics, concrete.metrics);
}

TEST(AnySeparableProblem, ForwardsTheBlocksOfAnEquilibriumModel) {
  const FixtureSplits s = fixture_splits();
  EquilibriumOptions o;
  o.hidden = 6;
  o.seed = 7;
  const Equilibrium<double> p(s.train, s.validation, s.test, o);
  const AnySeparableProblem<double> e(p);
  EXPECT_EQ(e.num_blocks(), p.num_blocks());
  EXPECT_EQ(e.block_dim(), p.block_dim());
  ASSERT_TRUE(e.initial_lambda());
  EXPECT_EQ(*e.initial_lambda(), p.initial_lambda());
  EXPECT_FALSE(has_closed_form(e));
  const std::vector<SampleId> blocks{4, 1, 1, 60};
  expect_same_oracles(p, e, static_cast<Index>(blocks.size()) * p.block_dim(), blocks, /*metrics=*/false);
  // Through the views the separable estimator and evaluator use.
  BlockBatchView<Equilibrium<double>> concrete_view(p);
  BlockBatchView<AnySeparableProblem<double>> erased_view(e);
  concrete_view.set_all_blocks();
  erased_view.set_all_blocks();
  ASSERT_EQ(erased_view.dim_w(), concrete_view.dim_w());
  expect_same_oracles(concrete_view, erased_view, concrete_view.dim_w(), all_ids(1));
}

}  // namespace any_problem_test
}  // namespace bilevel
