// The outer loop: projected inexact gradient descent with any estimator setting.
#include "bilevel/methods/outer_loop.hpp"

#include <gtest/gtest.h>

#include <Eigen/Dense>

#include "../problems/oracles_only.hpp"
#include "quadratic_fixture.hpp"

namespace bilevel {
namespace outer_loop_test {

using namespace testing::methods;

EstimatorOptions deterministic_aid(int t = 40) {
  EstimatorOptions o;
  o.ll.iterations = t;
  o.ls.iterations = t;
  return o;
}

TEST(OuterLoop, DeterministicAidConvergesToTheMinimiser) {
  const Problem p = make();
  OuterLoop loop(p, deterministic_aid(), ul(0.05, 3000), 0);
  const auto r = loop.run(Vector<double>::Zero(4));
  EXPECT_EQ(r.stop_reason, "max_iterations");
  EXPECT_EQ(r.iterations, 3000);
  EXPECT_LT((r.lambda - minimiser(p)).norm(), 1e-6 * (1 + minimiser(p).norm()));
  EXPECT_LT(r.last->evaluation.prox_gradient_norm, 1e-6);
  EXPECT_GT((minimiser(p)).norm(), 0.1);  // the target is not the start
}

TEST(OuterLoop, ProjectedStepsFindTheConstrainedMinimiser) {
  // On an L2 ball that excludes the unconstrained minimiser, G -> 0 while grad f stays away from 0,
  // and lambda ends on the sphere.
  Problem p = make();
  const double radius = 0.5 * minimiser(p).norm();
  QuadraticMinimization<double> base(options());
  base.set_constraint(std::make_shared<L2Ball<double>>(radius));
  const Problem constrained(base, 1.0);
  OuterLoop loop(constrained, deterministic_aid(), ul(0.05, 3000), 0);
  const auto r = loop.run(Vector<double>::Zero(4));
  EXPECT_NEAR(r.lambda.norm(), radius, 1e-9);
  EXPECT_LT(r.last->evaluation.prox_gradient_norm, 1e-6);
  EXPECT_GT(r.last->evaluation.gradient_norm, 1e-2);
}

TEST(OuterLoop, StochasticBsgmReducesTheProximalGradientOnAverage) {
  const Problem p = make(0.5);
  EstimatorOptions o;
  o.ll.iterations = o.ls.iterations = 20;
  o.ll.batch_size = o.ls.batch_size = o.outer_batch_size = o.cross_batch_size = 8;
  o.ll.step = o.ls.step = {1.0, 1.0, 5.0};
  Evaluator evaluator(p);
  const double start = evaluator.evaluate(Vector<double>::Zero(4), 0.05).prox_gradient_norm;
  // A constant step stalls at a noise floor of order alpha * variance; a decreasing step goes below it.
  auto mean_final = [&](double decay_power) {
    UpperLevelOptions u = ul(0.05, 300);
    u.step.decay_power = decay_power;
    u.step.decay_offset = 20;
    double final = 0;
    const int seeds = 6;
    for (int s = 0; s < seeds; ++s)
      final += OuterLoop(p, o, u, static_cast<std::uint64_t>(s)).run(Vector<double>::Zero(4)).last->evaluation.prox_gradient_norm / seeds;
    return final;
  };
  const double constant = mean_final(0.0), decreasing = mean_final(1.0);
  EXPECT_LT(constant, start / 3) << "start " << start;
  EXPECT_LT(decreasing, constant / 2) << "constant step " << constant << ", decreasing " << decreasing;
}

TEST(OuterLoop, SampleBudgetStopsTheRunWithoutOverrun) {
  const Problem p = make(0.5);
  EstimatorOptions o;
  o.ll.iterations = o.ls.iterations = 5;
  o.ll.batch_size = o.ls.batch_size = o.outer_batch_size = o.cross_batch_size = 4;
  const std::int64_t per_iteration = 5 * 4 + 5 * 4 + 4 + 4;  // LL, LS, cross, outer
  UpperLevelOptions u = ul(0.01, 1000);
  u.max_samples = 10 * per_iteration + per_iteration / 2;
  OuterLoop loop(p, o, u, 0);
  const auto r = loop.run(Vector<double>::Zero(4));
  EXPECT_EQ(r.stop_reason, "budget:samples");
  EXPECT_EQ(r.iterations, 10);
  EXPECT_EQ(r.counts.samples(), 10 * per_iteration);
  EXPECT_LE(r.counts.samples(), u.max_samples);
}

TEST(OuterLoop, OracleCallBudgetStopsTheRun) {
  const Problem p = make();
  UpperLevelOptions u = ul(0.01, 1000);
  u.max_oracle_calls = 7 * (41 + 41) + 3;  // Gc = t + 1, MV = k + 1 per iteration
  OuterLoop loop(p, deterministic_aid(), u, 0);
  const auto r = loop.run(Vector<double>::Zero(4));
  EXPECT_EQ(r.stop_reason, "budget:oracle_calls");
  EXPECT_EQ(r.iterations, 7);
}

TEST(OuterLoop, EvaluationNeverSpendsTheRunsBudget) {
  const Problem p = make();
  UpperLevelOptions u = ul(0.01, 20);
  u.eval_every = 1;
  OuterLoop loop(p, deterministic_aid(5), u, 0);
  const auto r = loop.run(Vector<double>::Zero(4));
  EXPECT_EQ(r.counts.gradients(), 20 * 6);  // the run's own calls only
}

TEST(OuterLoop, SameSeedSameRunDifferentSeedDifferentRun) {
  const Problem p = make(0.5);
  EstimatorOptions o;
  o.ll.iterations = o.ls.iterations = 5;
  o.ll.batch_size = o.ls.batch_size = o.outer_batch_size = o.cross_batch_size = 4;
  auto final_lambda = [&](std::uint64_t seed) { return OuterLoop(p, o, ul(0.01, 30), seed).run(Vector<double>::Zero(4)).lambda; };
  EXPECT_EQ(final_lambda(3), final_lambda(3));
  EXPECT_NE(final_lambda(3), final_lambda(4));
}

TEST(OuterLoop, DivergenceStopsWithAMessageSayingWhatToChange) {
  const Problem p = make();
  OuterLoop loop(p, deterministic_aid(), ul(1e3, 100), 0);
  try {
    loop.run(Vector<double>::Zero(4));
    FAIL() << "expected divergence";
  } catch (const NumericalError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("diverged at upper-level iteration"), std::string::npos) << msg;
    EXPECT_NE(msg.find("smaller ul.step"), std::string::npos) << msg;
  }
}

struct StopAfter final : Callback<double> {
  std::int64_t at;
  std::int64_t checkpoints = 0;
  explicit StopAfter(std::int64_t n) : at(n) {}
  void on_checkpoint(const Checkpoint<double>&) override { ++checkpoints; }
  bool on_iteration(std::int64_t s, const Vector<double>&, const OracleCounts&) override { return s >= at; }
};

TEST(OuterLoop, CallbacksSeeCheckpointsAndCanStopTheRun) {
  const Problem p = make();
  UpperLevelOptions u = ul(0.01, 100);
  u.eval_every = 5;
  StopAfter stop(12);
  Callback<double>* callbacks[] = {&stop};
  const auto r = OuterLoop(p, deterministic_aid(5), u, 0).run(Vector<double>::Zero(4), callbacks);
  EXPECT_EQ(r.stop_reason, "callback");
  EXPECT_EQ(r.iterations, 12);
  EXPECT_EQ(stop.checkpoints, 1 + 2 + 1);  // start, 5, 10, final (12)
}

// A problem without a closed form (its five oracles only): the evaluator must fall back to an accurate
// solve, on its own counts.
using Opaque = testing::OraclesOnly<Problem>;

TEST(Evaluator, AccurateSolveMatchesTheClosedFormAndCountsSeparately) {
  const Problem p = make();
  const Opaque opaque(p);
  Evaluator accurate(opaque);
  Evaluator closed(p);
  const Vector<double> l = Vector<double>::LinSpaced(4, -1, 1);
  const auto a = accurate.evaluate(l, 0.1), c = closed.evaluate(l, 0.1);
  EXPECT_FALSE(a.exact);
  EXPECT_TRUE(c.exact);
  EXPECT_NEAR(a.objective, c.objective, 1e-10 * std::abs(c.objective));
  EXPECT_LT((a.gradient - c.gradient).norm(), 1e-8 * c.gradient.norm());
  EXPECT_NEAR(a.prox_gradient_norm, c.gradient_norm, 1e-8 * c.gradient_norm);  // unconstrained: G = grad f
  EXPECT_GT(accurate.counts().gradients(), 0);
}

}  // namespace outer_loop_test
}  // namespace bilevel
