#pragma once
// n-way k-shot tasks for meta-learning: each task picks `ways` distinct classes of a labelled dataset
// and, for each, `shots` support and `queries` query examples (all distinct); inside the task the
// classes are relabelled 0..ways-1 in the order drawn. Task i depends only on (seed, i), so a larger
// task set extends a smaller one.
#include <cstdint>
#include <vector>

#include "bilevel/data/dataset.hpp"

namespace bilevel {

struct TaskShape {
  int ways = 5;      // classes per task
  int shots = 5;     // support examples per class (the LL's training set)
  int queries = 15;  // query examples per class (the UL's)

  Index support_size() const { return static_cast<Index>(ways) * shots; }
  Index query_size() const { return static_cast<Index>(ways) * queries; }
};

struct Task {
  std::vector<Index> support, query;                  // rows of the dataset, class by class
  std::vector<std::int32_t> support_labels, query_labels;  // 0..ways-1
  std::vector<std::int32_t> classes;                  // the dataset's class of each task label
};

// `count` tasks of `shape` from d. Throws DataError naming d.source when d has fewer than `ways`
// classes with at least shots + queries examples each, and InvalidOptions for a shape with a count < 1.
std::vector<Task> sample_tasks(const Dataset& d, const TaskShape& shape, Index count, std::uint64_t seed);

}  // namespace bilevel
