// The sample trace (HypergradientEstimator::trace_samples): every minibatch the estimator draws reaches
// the trace, in the order drawn, under its sampler's name, with the ids it really used; the ids add up
// to the counts the estimator reports.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fixtures.hpp"

namespace bilevel {
namespace sample_trace_test {
using namespace testing;

class Recorder final : public SampleTrace {
 public:
  struct Draw {
    std::string sampler;
    std::vector<SampleId> ids;
    bool full_batch;
    bool operator==(const Draw&) const = default;
  };
  void drawn(const char* sampler, Batch ids, bool full_batch) override {
    draws.push_back({sampler, {ids.begin(), ids.end()}, full_batch});
  }
  // The ids drawn by samplers of these names.
  std::int64_t ids_of(std::initializer_list<const char*> samplers) const {
    std::int64_t n = 0;
    for (const Draw& d : draws)
      for (const char* s : samplers) n += d.sampler == s ? static_cast<std::int64_t>(d.ids.size()) : 0;
    return n;
  }
  std::vector<Draw> draws;
};

// SID with a fresh xi at every LS step: t LL draws, the outer draw, k pairs of LS and LS-outer draws,
// then the cross term's draw.
EstimatorOptions sid(int t, int k) {
  EstimatorOptions o;
  o.ll.iterations = t;
  o.ls.iterations = k;
  o.ll.batch_size = 4;
  o.ls.batch_size = 5;
  o.outer_batch_size = 6;
  o.cross_batch_size = 3;
  o.ls.resample_outer_gradient = true;
  return o;
}

TEST(SampleTrace, ReportsEveryMinibatchInTheOrderDrawnAndAddsUpToTheCounts) {
  const auto p = nonsymmetric(0.5, 0.5, 0.5);
  HypergradientEstimator est(p, sid(3, 2));
  Recorder trace;
  est.trace_samples(&trace);
  EstimatorState<double> state;
  EstimatorStreams streams(7);
  OracleCounts counts;
  est.compute(test_lambda(p.dim_lambda()), state, streams, counts);

  std::vector<std::string> order;
  for (const auto& d : trace.draws) order.push_back(d.sampler);
  EXPECT_EQ(order, (std::vector<std::string>{"ll", "ll", "ll", "outer", "ls", "ls_outer", "ls", "ls_outer", "cross"}));
  const std::vector<std::size_t> sizes{4, 4, 4, 6, 5, 6, 5, 6, 3};
  for (std::size_t i = 0; i < sizes.size(); ++i) EXPECT_EQ(trace.draws[i].ids.size(), sizes[i]) << i;
  EXPECT_EQ(trace.ids_of({"ll", "ls", "cross"}), counts.samples_ll);
  EXPECT_EQ(trace.ids_of({"outer", "ls_outer"}), counts.samples_ul);

  // The ids are the ones drawn: an LL sampler on the estimator's own stream draws the same first batch.
  MinibatchSampler ll(kUnboundedPopulation, 4);
  Rng rng = EstimatorStreams(7).ll;
  const Batch first = ll.draw(rng);
  EXPECT_EQ(trace.draws[0].ids, std::vector<SampleId>(first.begin(), first.end()));
}

TEST(SampleTrace, FollowsResizedSamplersAndStopsWhenDetached) {
  const auto p = nonsymmetric(0.5, 0.5, 0.5);
  HypergradientEstimator est(p, sid(1, 1));
  Recorder trace;
  est.trace_samples(&trace);
  EstimatorState<double> state;
  EstimatorStreams streams(1);
  OracleCounts counts;
  est.set_sizes(1, 1, 8, 9);  // new cross and outer samplers: still traced
  est.compute(test_lambda(p.dim_lambda()), state, streams, counts);
  EXPECT_EQ(trace.ids_of({"cross"}), 8);
  EXPECT_EQ(trace.ids_of({"outer"}), 9);
  const std::size_t before = trace.draws.size();
  est.trace_samples(nullptr);
  est.compute(test_lambda(p.dim_lambda()), state, streams, counts);
  EXPECT_EQ(trace.draws.size(), before);
}

TEST(SampleTrace, AFullBatchIsReportedAsSuch) {
  const auto p = nonsymmetric(0.5);  // deterministic: every sampler draws its whole (one-sample) population
  HypergradientEstimator est(p, aid(2, 2));
  Recorder trace;
  est.trace_samples(&trace);
  EstimatorState<double> state;
  EstimatorStreams streams(1);
  OracleCounts counts;
  est.compute(test_lambda(p.dim_lambda()), state, streams, counts);
  ASSERT_EQ(trace.draws.size(), 6u);  // 2 LL, the outer, 2 LS, the cross term
  for (const auto& d : trace.draws) EXPECT_TRUE(d.full_batch) << d.sampler;
  EXPECT_EQ(trace.ids_of({"ll", "ls", "cross"}), counts.samples_ll);
}

}  // namespace sample_trace_test
}  // namespace bilevel
