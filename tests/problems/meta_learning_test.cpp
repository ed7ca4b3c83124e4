// Meta-learning on real Fashion-MNIST images (the fixture): the oracles of a minibatch of tasks against
// finite differences in double, the contraction bound for any lambda, the separable estimator against
// the derivative of the accurately solved f, and a short run that improves the query accuracy.
#include "bilevel/problems/meta_learning.hpp"

#include <gtest/gtest.h>

#include "bilevel/estimators/separable_estimator.hpp"
#include "bilevel/methods/engine.hpp"
#include "bilevel/methods/outer_loop.hpp"
#include "bilevel/problems/contraction.hpp"
#include "bilevel/problems/finite_difference.hpp"
#include "problem_fixtures.hpp"

namespace bilevel {
namespace meta_learning_test {

using namespace testing;
using View = BlockBatchView<MetaLearning<double>>;

static_assert(SeparableProblem<MetaLearning<double>>);

MetaLearning<double> problem(double mu = 1.0) {
  const FixtureSplits s = fixture_splits();
  MetaLearningOptions o;
  o.layers = {16, 8};
  o.shape = {3, 1, 2};  // the fixture's test split has about 4 images per class
  o.train_tasks = 6;
  o.metric_tasks = 3;
  o.mu = mu;
  return MetaLearning<double>(s.train, s.validation, s.test, o);
}

// A point where the network is far from linear.
Vector<double> point(const MetaLearning<double>& p) {
  return random_vector(p.dim_lambda(), 0.2, 2) + p.initial_lambda() * 2.0;
}

TEST(MetaLearning, OraclesOfAMinibatchOfTasksPassFiniteDifferences) {
  const auto p = problem();
  expect_block_oracles_pass_finite_differences(p, {4, 1, 4}, point(p));
}

TEST(MetaLearning, TheMapContractsWithTheBoundOfTheDefaultStep) {
  const auto p = problem(0.5);
  View view(p);
  const auto all = all_ids(p.num_blocks());
  view.set_blocks(all);
  const std::vector<SampleId> one{0};
  const Vector<double> lambda = random_vector(p.dim_lambda(), 3.0, 5);  // saturated features: the worst case
  const double q = estimate_contraction(view, random_vector(view.dim_w(), 1.0, 3), lambda, one);
  EXPECT_LE(q, 1.0 - p.gamma() * 0.5 + 1e-9);
  EXPECT_GE(q, 1.0 - p.gamma() * 0.5 - 1e-3);  // the ridge alone: the head has more entries than the support examples constrain
}

TEST(MetaLearning, HypergradientOfAllTasksIsTheDerivativeOfTheAccuratelySolvedObjective) {
  const auto p = problem();
  EstimatorOptions o;
  o.ll.iterations = 3000;
  o.ll.tolerance = 1e-13;
  o.ls.method = LinearSystemMethod::kConjugateGradient;
  o.ls.iterations = 500;
  o.ls.tolerance = 1e-13;
  expect_hypergradient_is_the_derivative_of_the_objective(p, point(p), o);
}

TEST(MetaLearning, AShortRunImprovesTheQueryAccuracyOfTheTrainingTasks) {
  const auto p = problem();
  EstimatorOptions o;
  o.ll.iterations = 50;
  o.ls.iterations = 50;
  o.outer_batch_size = 3;
  UpperLevelOptions ul;
  ul.step.step = 1.0;
  ul.max_iterations = 150;
  ul.eval_every = 0;
  OuterLoop<MetaLearning<double>> loop(p, o, ul, 3);
  const auto r = loop.run(p.initial_lambda());
  EXPECT_LT(r.last->evaluation.objective, 0.7 * r.first->evaluation.objective);
  auto metric = [](const Evaluation<double>& e, const std::string& name) {
    for (const auto& [n, v] : e.metrics)
      if (n == name) return v;
    return -1.0;
  };
  EXPECT_GT(metric(r.last->evaluation, "train_tasks_accuracy"), metric(r.first->evaluation, "train_tasks_accuracy"));
  EXPECT_GE(metric(r.last->evaluation, "test_tasks_accuracy"), 0.0);
}

}  // namespace meta_learning_test
}  // namespace bilevel
