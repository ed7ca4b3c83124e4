// Warm start: four separate switches (LL iterate, LS vector, LL schedule position, per-task state).
#include <gtest/gtest.h>

#include "fixtures.hpp"

namespace bilevel {
namespace warm_start_test {
using namespace testing;

TEST(WarmStart, LowerLevelWarmStartKeepsImprovingAcrossCalls) {
  const auto p = nonsymmetric(0.5);
  const Vector<double> l = test_lambda(3);
  const Vector<double> w_star = p.exact(l).w;
  EstimatorOptions cold = aid(3, 3), warm = aid(3, 3);
  warm.ll.warm_start = true;
  HypergradientEstimator ec(p, cold), ew(p, warm);
  EstimatorState<double> sc, sw;
  EstimatorStreams streams(1);
  OracleCounts c;
  double cold_error = 0, warm_error = 0;
  for (int call = 0; call < 10; ++call) {
    cold_error = (ec.compute(l, sc, streams, c).w - w_star).norm();
    warm_error = (ew.compute(l, sw, streams, c).w - w_star).norm();
  }
  EXPECT_GT(cold_error, 1e-3);           // three steps from zero stay far
  EXPECT_LT(warm_error, 0.5e-6 * cold_error);  // thirty accumulated steps
}

TEST(WarmStart, LinearSystemWarmStartKeepsImprovingAcrossCalls) {
  const auto p = nonsymmetric(0.5);
  const Vector<double> l = test_lambda(3);
  EstimatorOptions warm = aid(100, 2);
  warm.ls.warm_start = true;
  HypergradientEstimator ew(p, warm);
  EstimatorState<double> sw;
  EstimatorStreams streams(1);
  OracleCounts c;
  for (int call = 0; call < 15; ++call) ew.compute(l, sw, streams, c);
  EXPECT_LT((sw.v - p.exact(l).v).norm(), 1e-8);
  EXPECT_GT(error(p, aid(100, 2)), 1e-3);
}

TEST(WarmStart, ScheduleWarmStartContinuesTheStepSizesAcrossCalls) {
  // Two warm calls of t steps at the same lambda are exactly one cold call of 2t steps, but only
  // when the step schedule continues where it stopped.
  const auto p = nonsymmetric(0.5);
  const Vector<double> l = test_lambda(3);
  EstimatorOptions o = aid(6, 1);
  o.ll.step = {0.9, 1.0, 1.0};
  o.ll.warm_start = true;
  EstimatorOptions once = o;
  once.ll.iterations = 12;
  HypergradientEstimator e_once(p, once);
  EstimatorState<double> s_once;
  EstimatorStreams streams(1);
  OracleCounts c;
  const Vector<double> w12 = e_once.compute(l, s_once, streams, c).w;

  for (bool continue_schedule : {true, false}) {
    EstimatorOptions twice = o;
    twice.ll.warm_start_schedule = continue_schedule;
    HypergradientEstimator e(p, twice);
    EstimatorState<double> s;
    e.compute(l, s, streams, c);
    const Vector<double> w = e.compute(l, s, streams, c).w;
    EXPECT_EQ(s.ll_steps, 12);
    if (continue_schedule) {
      EXPECT_LE((w - w12).norm(), 1e-14 * w12.norm());
    } else {
      EXPECT_GT((w - w12).norm(), 1e-6);
    }
  }
}

TEST(WarmStart, PerTaskStoreKeepsOneStateEachAndReportsItsMemory) {
  const auto p = nonsymmetric(0.5);
  EstimatorOptions o = aid(3, 3);
  o.ll.warm_start = true;
  o.ls.warm_start = true;
  HypergradientEstimator est(p, o);
  WarmStartStore<double> store;
  EstimatorStreams streams(1);
  OracleCounts c;
  for (std::uint64_t task = 0; task < 5; ++task) {
    const Vector<double> l = test_lambda(3) * static_cast<double>(task);
    est.compute(l, store.state(task), streams, c);
  }
  EXPECT_EQ(store.size(), 5u);
  EXPECT_EQ(store.memory_bytes(), 5u * 2u * 10u * sizeof(double));
  // Each task's state is its own lambda's solution, not the last task's.
  EXPECT_GT((store.state(1).w - store.state(4).w).norm(), 1e-3);
}

TEST(WarmStart, ColdStartFromAGivenPoint) {
  const auto p = nonsymmetric(0.5);
  const Vector<double> l = test_lambda(3);
  HypergradientEstimator est(p, aid(1, 1));
  est.set_ll_initial_point(p.exact(l).w);
  EstimatorState<double> s;
  EstimatorStreams streams(1);
  OracleCounts c;
  EXPECT_LE((est.compute(l, s, streams, c).w - p.exact(l).w).norm(), 1e-12);
  EXPECT_THROW(est.set_ll_initial_point(Vector<double>::Zero(3)), InvalidOptions);
}

}  // namespace warm_start_test
}  // namespace bilevel
