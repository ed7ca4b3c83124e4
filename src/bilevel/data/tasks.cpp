#include "bilevel/data/tasks.hpp"

#include <fmt/format.h>

#include <utility>

#include "bilevel/core/error.hpp"
#include "bilevel/core/rng.hpp"

namespace bilevel {
namespace {

// The first k entries of v become a uniform random k-subset (partial Fisher-Yates).
template <class T>
void partial_shuffle(std::vector<T>& v, std::size_t k, Rng& rng) {
  for (std::size_t i = 0; i < k; ++i) std::swap(v[i], v[i + static_cast<std::size_t>(rng.below(v.size() - i))]);
}

}  // namespace

std::vector<Task> sample_tasks(const Dataset& d, const TaskShape& shape, Index count, std::uint64_t seed) {
  if (shape.ways < 1 || shape.shots < 1 || shape.queries < 1)
    throw InvalidOptions(fmt::format("tasks need ways, shots and queries >= 1, got {}, {}, {}", shape.ways,
                                     shape.shots, shape.queries));
  if (count < 1) throw InvalidOptions(fmt::format("the number of tasks must be >= 1, got {}", count));
  d.validate();
  const auto per_class = static_cast<std::size_t>(shape.shots + shape.queries);
  std::vector<std::vector<Index>> by_class(static_cast<std::size_t>(d.num_classes));
  for (Index i = 0; i < d.size(); ++i) by_class[static_cast<std::size_t>(d.y[static_cast<std::size_t>(i)])].push_back(i);
  std::vector<std::int32_t> usable;
  for (std::size_t c = 0; c < by_class.size(); ++c)
    if (by_class[c].size() >= per_class) usable.push_back(static_cast<std::int32_t>(c));
  if (usable.size() < static_cast<std::size_t>(shape.ways))
    throw DataError(fmt::format("{}: {}-way tasks with {} + {} examples per class need {} classes with at least {} "
                                "examples each; only {} have that many",
                                d.source, shape.ways, shape.shots, shape.queries, shape.ways, per_class, usable.size()));

  const RandomStreams streams(seed);
  std::vector<Task> tasks(static_cast<std::size_t>(count));
  for (std::size_t t = 0; t < tasks.size(); ++t) {
    Rng rng = sample_rng(streams.key("tasks"), t);
    Task& task = tasks[t];
    std::vector<std::int32_t> classes = usable;
    partial_shuffle(classes, static_cast<std::size_t>(shape.ways), rng);
    task.classes.assign(classes.begin(), classes.begin() + shape.ways);
    for (std::int32_t label = 0; label < shape.ways; ++label) {
      std::vector<Index> pool = by_class[static_cast<std::size_t>(task.classes[static_cast<std::size_t>(label)])];
      partial_shuffle(pool, per_class, rng);
      for (int s = 0; s < shape.shots; ++s) {
        task.support.push_back(pool[static_cast<std::size_t>(s)]);
        task.support_labels.push_back(label);
      }
      for (int q = 0; q < shape.queries; ++q) {
        task.query.push_back(pool[static_cast<std::size_t>(shape.shots + q)]);
        task.query_labels.push_back(label);
      }
    }
  }
  return tasks;
}

}  // namespace bilevel
