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

// Whether writes indexed by a minibatch's ids can collide (the separable estimator scatters in
// parallel only when they cannot).
TEST(Sampler, DrawsDistinctIdsOnlyWithoutReplacementFromAFinitePopulation) {
  EXPECT_TRUE(MinibatchSampler(10, 4, Sampling::kWithoutReplacement).draws_distinct());
  EXPECT_TRUE(MinibatchSampler(10, 10, Sampling::kWithReplacement).draws_distinct());  // the full batch
  EXPECT_FALSE(MinibatchSampler(10, 4, Sampling::kWithReplacement).draws_distinct());
  EXPECT_FALSE(MinibatchSampler(kUnboundedPopulation, 4).draws_distinct());  // fresh 64-bit ids may repeat
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

// BSGM changes the batch size between draws: set_batch_size must give exactly the draws (and the saved
// state) of a sampler constructed with the new size, from whatever state the old draws left.
TEST(Sampler, ResizedSamplerDrawsAsANewOne) {
  struct Case {
    Index population;
    Sampling sampling;
    std::vector<Index> sizes;
  };
  const Case cases[] = {{30, Sampling::kWithoutReplacement, {4, 9, 30, 5, 30, 2}},
                        {30, Sampling::kWithReplacement, {4, 40, 3}},
                        {kUnboundedPopulation, Sampling::kWithoutReplacement, {4, 8, 16, 3}}};
  for (const Case& c : cases) {
    MinibatchSampler resized(c.population, c.sizes.front(), c.sampling);
    Rng rng(11);
    for (Index size : c.sizes) {
      resized.set_batch_size(size);
      MinibatchSampler fresh(c.population, size, c.sampling);
      ArchiveWriter a, b;
      resized.save(a);
      fresh.save(b);
      EXPECT_EQ(a.bytes(), b.bytes()) << "population " << c.population << ", batch " << size;
      for (int draw = 0; draw < 3; ++draw) {
        Rng copy = rng;
        const Batch x = resized.draw(rng);
        const std::vector<SampleId> ids(x.begin(), x.end());
        const Batch y = fresh.draw(copy);
        EXPECT_EQ(ids, std::vector<SampleId>(y.begin(), y.end())) << "population " << c.population << ", batch " << size;
        EXPECT_EQ(rng, copy);
      }
    }
  }
  MinibatchSampler s(10, 3);
  EXPECT_THROW(s.set_batch_size(11), InvalidOptions);
  EXPECT_THROW(s.set_batch_size(0), InvalidOptions);
}

// peek gives the batch the next draw gives, and leaves the sampler (its saved state and later draws)
// and the generator as they were.
TEST(Sampler, PeekIsTheNextDrawAndChangesNothing) {
  struct Case {
    Index population, batch;
    Sampling sampling;
  };
  const Case cases[] = {{50, 7, Sampling::kWithoutReplacement},
                        {50, 50, Sampling::kWithoutReplacement},
                        {50, 9, Sampling::kWithReplacement},
                        {kUnboundedPopulation, 5, Sampling::kWithoutReplacement}};
  for (const Case& c : cases) {
    MinibatchSampler peeked(c.population, c.batch, c.sampling), plain(c.population, c.batch, c.sampling);
    Rng rng(3), plain_rng(3);
    std::vector<SampleId> next;
    for (int draw = 0; draw < 6; ++draw) {
      peeked.peek(rng, next);
      peeked.peek(rng, next);  // twice: the second sees what the first left
      ArchiveWriter a, b;
      peeked.save(a);
      plain.save(b);
      EXPECT_EQ(a.bytes(), b.bytes()) << "population " << c.population << ", draw " << draw;
      EXPECT_EQ(rng, plain_rng);
      const Batch x = peeked.draw(rng);
      EXPECT_EQ(next, std::vector<SampleId>(x.begin(), x.end())) << "population " << c.population << ", draw " << draw;
      const Batch y = plain.draw(plain_rng);
      EXPECT_EQ(next, std::vector<SampleId>(y.begin(), y.end()));
    }
  }
}

TEST(Sampler, RejectsBatchLargerThanPopulation) {
  EXPECT_THROW(MinibatchSampler(10, 11), InvalidOptions);
  EXPECT_THROW(MinibatchSampler(10, 0), InvalidOptions);
  EXPECT_NO_THROW(MinibatchSampler(10, 11, Sampling::kWithReplacement));
}

}  // namespace sampler_test
}  // namespace bilevel
