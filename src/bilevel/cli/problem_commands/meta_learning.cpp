// problem.name = "meta-learning": a shared representation for n-way k-shot tasks (keys in docs/problems.md).
#include "bilevel/cli/data_config.hpp"
#include "bilevel/cli/execute_on_problem.hpp"
#include "bilevel/problems/meta_learning.hpp"

namespace bilevel {
namespace {

template <class S>
int execute(Config& c, const CommandRequest& request) {
  MetaLearningOptions o;
  const std::vector<std::int64_t> layers = c.get_int_list("problem.layers", {o.layers.begin(), o.layers.end()});
  o.layers.clear();
  for (const auto size : layers) {
    if (size < 1 || size > 100000) c.fail("problem.layers", fmt::format("layer sizes must be in [1, 100000], got {}", size));
    o.layers.push_back(static_cast<Index>(size));
  }
  o.shape.ways = static_cast<int>(read_size(c, "problem.ways", o.shape.ways));
  o.shape.shots = static_cast<int>(read_size(c, "problem.shots", o.shape.shots));
  o.shape.queries = static_cast<int>(read_size(c, "problem.queries", o.shape.queries));
  o.train_tasks = read_size(c, "problem.train_tasks", o.train_tasks);
  o.metric_tasks = read_int_in(c, "problem.metric_tasks", o.metric_tasks, 0, 100000);
  o.mu = read_double_in(c, "problem.mu", o.mu, 0, kUnbounded, "()");
  o.gamma = read_gamma(c, 0.0);
  o.init_scale = read_double_in(c, "problem.init_scale", o.init_scale, 0, kUnbounded);
  o.metric_iterations = static_cast<int>(read_size(c, "problem.metric_iterations", o.metric_iterations));
  o.seed = static_cast<std::uint64_t>(c.get_int("problem.seed", 0));
  const MetaLearning<S> p = from_data_splits(c, [&](const DataSplits& data) {
    return MetaLearning<S>(data.train, data.validation, data.test, o);
  });
  return execute_on_problem(p, c, request);
}

}  // namespace

int execute_meta_learning(Config& c, Precision precision, const CommandRequest& request) {
  return precision == Precision::kFloat ? execute<float>(c, request) : execute<double>(c, request);
}

}  // namespace bilevel
