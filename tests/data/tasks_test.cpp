// n-way k-shot task sampling on the real Fashion-MNIST fixture: shape, disjointness, labels, seeding.
#include "bilevel/data/tasks.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "bilevel/core/error.hpp"
#include "data_test_helpers.hpp"

namespace bilevel {
namespace tasks_test {

using testing::fashion200;

TEST(Tasks, EachTaskHasDistinctClassesAndDisjointSupportAndQuery) {
  const Dataset d = fashion200();
  const TaskShape shape{5, 3, 4};
  const auto tasks = sample_tasks(d, shape, 50, 1);
  ASSERT_EQ(tasks.size(), 50u);
  std::set<std::vector<std::int32_t>> distinct_class_sets;
  for (const Task& t : tasks) {
    ASSERT_EQ(t.support.size(), 15u);
    ASSERT_EQ(t.query.size(), 20u);
    EXPECT_EQ(std::set<std::int32_t>(t.classes.begin(), t.classes.end()).size(), 5u);
    std::set<Index> rows(t.support.begin(), t.support.end());
    rows.insert(t.query.begin(), t.query.end());
    EXPECT_EQ(rows.size(), 35u);  // no example twice in a task
    for (std::size_t i = 0; i < t.support.size(); ++i)
      EXPECT_EQ(d.y[static_cast<std::size_t>(t.support[i])], t.classes[static_cast<std::size_t>(t.support_labels[i])]);
    for (std::size_t i = 0; i < t.query.size(); ++i)
      EXPECT_EQ(d.y[static_cast<std::size_t>(t.query[i])], t.classes[static_cast<std::size_t>(t.query_labels[i])]);
    distinct_class_sets.insert(t.classes);
  }
  EXPECT_GT(distinct_class_sets.size(), 30u);  // classes and their order vary from task to task
}

TEST(Tasks, SeededAndPrefixStable) {
  const Dataset d = fashion200();
  const auto a = sample_tasks(d, {}, 10, 7), b = sample_tasks(d, {}, 20, 7), c = sample_tasks(d, {}, 10, 8);
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].support, b[i].support);  // task i depends only on (seed, i)
    EXPECT_EQ(a[i].query, b[i].query);
  }
  EXPECT_NE(a[0].support, c[0].support);
}

TEST(Tasks, TooFewExamplesPerClassNamesTheDataset) {
  const Dataset d = fashion200();  // about 20 images per class
  testing::expect_data_error([&] { sample_tasks(d, {5, 10, 15}, 1, 0); },
                             {d.source, "5-way", "at least 25 examples"});
  EXPECT_THROW(sample_tasks(d, {11, 1, 1}, 1, 0), DataError);  // 10 classes only
  EXPECT_THROW(sample_tasks(d, {5, 0, 1}, 1, 0), InvalidOptions);
  EXPECT_THROW(sample_tasks(d, {}, 0, 0), InvalidOptions);
}

}  // namespace tasks_test
}  // namespace bilevel
