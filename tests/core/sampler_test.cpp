#include "bilevel/core/sampler.hpp"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace bilevel {
namespace sampler_test {

TEST(Sampler, FullBatchIsAllIdsInOrderAndConsumesNoRandomness) {
  MinibatchSampler s(5, 5);
  Rng r(1), untouched(1);
  const Batch b = s.draw(r);
  ASSERT_EQ(b.size(), 5u);
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(b[i], i);
  EXPECT_EQ(r, untouched);
}

TEST(Sampler, WithoutReplacementGivesDistinctIdsUniformly) {
  const Index n = 10;
  MinibatchSampler s(n, 4, Sampling::kWithoutReplacement);
  Rng r(2);
  std::vector<int> count(n, 0);
  const int draws = 20000;
  for (int i = 0; i < draws; ++i) {
    const Batch b = s.draw(r);
    std::set<SampleId> distinct(b.begin(), b.end());
    ASSERT_EQ(distinct.size(), 4u);
    for (auto id : b) {
      ASSERT_LT(id, static_cast<SampleId>(n));
      ++count[id];
    }
  }
  const double expected = draws * 4.0 / n;
  double chi2 = 0;
  for (int c : count) chi2 += (c - expected) * (c - expected) / expected;
  EXPECT_LT(chi2, 27.9);  // 99.9% quantile of chi^2 with 9 degrees of freedom
}

TEST(Sampler, WithReplacementStaysInRange) {
  MinibatchSampler s(3, 50, Sampling::kWithReplacement);
  Rng r(3);
  const Batch b = s.draw(r);
  std::set<SampleId> distinct(b.begin(), b.end());
  EXPECT_EQ(distinct.size(), 3u);  // 50 draws from 3 ids hit every id (and repeat)
  for (auto id : b) EXPECT_LT(id, 3u);
}

TEST(Sampler, UnboundedPopulationDrawsFreshIds) {
  MinibatchSampler s(kUnboundedPopulation, 100);
  Rng r(4);
  std::set<SampleId> seen;
  for (int i = 0; i < 10; ++i)
    for (auto id : s.draw(r)) seen.insert(id);
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(Sampler, SameSeedSameBatches) {
  MinibatchSampler a(100, 7), b(100, 7);
  Rng ra(5), rb(5);
  for (int i = 0; i < 20; ++i) {
    const Batch x = a.draw(ra);
    const std::vector<SampleId> copy(x.begin(), x.end());
    const Batch y = b.draw(rb);
    ASSERT_EQ(copy, std::vector<SampleId>(y.begin(), y.end()));
  }
}

TEST(Sampler, RejectsBatchLargerThanPopulation) {
  EXPECT_THROW(MinibatchSampler(10, 11), InvalidOptions);
  EXPECT_THROW(MinibatchSampler(10, 0), InvalidOptions);
  EXPECT_NO_THROW(MinibatchSampler(10, 11, Sampling::kWithReplacement));
}

}  // namespace sampler_test
}  // namespace bilevel
