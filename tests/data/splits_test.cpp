// Seeded splits: deterministic, disjoint, stratified.
#include "bilevel/data/splits.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "bilevel/core/error.hpp"

namespace bilevel {
namespace splits_test {

// 300 examples, 3 classes of 100, 2 features; feature 0 is the example's index, so rows can be traced.
Dataset toy() {
  Dataset d;
  d.x.resize(300, 2);
  d.y.resize(300);
  for (Index i = 0; i < 300; ++i) {
    d.x(i, 0) = static_cast<float>(i);
    d.x(i, 1) = static_cast<float>(i % 7);
    d.y[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(i % 3);
  }
  d.num_classes = 3;
  d.source = "toy";
  return d;
}

std::set<float> ids(const Dataset& d) {
  std::set<float> s;
  for (Index i = 0; i < d.size(); ++i) s.insert(d.x(i, 0));
  return s;
}

TEST(Splits, ShuffleIsASeededPermutation) {
  const auto a = shuffled_indices(1000, 1), b = shuffled_indices(1000, 1), c = shuffled_indices(1000, 2);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  auto sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (Index i = 0; i < 1000; ++i) EXPECT_EQ(sorted[static_cast<std::size_t>(i)], i);
}

TEST(Splits, StratifiedSplitIsDisjointCompleteAndKeepsClassProportions) {
  const auto [first, second] = stratified_split(toy(), 0.25, 7);
  EXPECT_EQ(first.size(), 75);
  EXPECT_EQ(second.size(), 225);
  for (int c = 0; c < 3; ++c) EXPECT_EQ(std::count(first.y.begin(), first.y.end(), c), 25);
  const auto a = ids(first), b = ids(second);
  std::vector<float> both;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(both));
  EXPECT_TRUE(both.empty());
  EXPECT_EQ(a.size() + b.size(), 300u);
  // Labels travel with their rows.
  for (Index i = 0; i < first.size(); ++i)
    EXPECT_EQ(first.y[static_cast<std::size_t>(i)], static_cast<int>(first.x(i, 0)) % 3);
  // Same seed, same split; another seed, another split.
  EXPECT_EQ(ids(stratified_split(toy(), 0.25, 7).first), a);
  EXPECT_NE(ids(stratified_split(toy(), 0.25, 8).first), a);
  EXPECT_THROW(stratified_split(toy(), 1.0, 0), InvalidOptions);
}

TEST(Splits, SelectClassesRelabelsInTheGivenOrder) {
  const Dataset d = select_classes(toy(), {2, 0});
  EXPECT_EQ(d.size(), 200);
  EXPECT_EQ(d.num_classes, 2);
  for (Index i = 0; i < d.size(); ++i)
    EXPECT_EQ(d.y[static_cast<std::size_t>(i)], static_cast<int>(d.x(i, 0)) % 3 == 2 ? 0 : 1);
  EXPECT_THROW(select_classes(toy(), {3}), InvalidOptions);
}

TEST(Splits, StandardizeUsesTheReferenceStatistics) {
  Dataset d = toy();
  const Dataset reference = d;
  standardize(d, reference);
  EXPECT_NEAR(d.x.col(0).cast<double>().mean(), 0.0, 1e-5);
  EXPECT_NEAR((d.x.col(0).cast<double>().array().square().mean()), 1.0, 1e-4);
  EXPECT_EQ(random_subset(toy(), 10, 3).size(), 10);
  EXPECT_EQ(ids(random_subset(toy(), 10, 3)), ids(random_subset(toy(), 10, 3)));
}

}  // namespace splits_test
}  // namespace bilevel
