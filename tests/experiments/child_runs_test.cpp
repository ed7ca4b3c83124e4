// Child runs: each child's environment gives it its share of this process's threads.
#include "bilevel/experiments/child_runs.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "bilevel/core/parallel.hpp"

namespace bilevel {
namespace child_runs_test {

namespace fs = std::filesystem;

// /usr/bin/env prints the environment it was started with.
std::string child_environment(int parallel) {
  const fs::path log = fs::temp_directory_path() / ("bilevel-child-env-" + std::to_string(getpid()));
  const auto outcomes = run_children("/usr/bin/env", {ChildRun{{}, log}}, ChildRunOptions{parallel, {}, {}});
  EXPECT_EQ(outcomes.at(0).exit_code, 0);
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  fs::remove(log);
  return text;
}

TEST(ChildRuns, EachChildGetsItsShareOfTheThreads) {
  const ScopedThreadCount four(4);
  EXPECT_NE(child_environment(1).find("OMP_NUM_THREADS=4\n"), std::string::npos);
  EXPECT_NE(child_environment(2).find("OMP_NUM_THREADS=2\n"), std::string::npos);
  const std::string many = child_environment(8);  // never fewer than one
  EXPECT_NE(many.find("OMP_NUM_THREADS=1\n"), std::string::npos) << many;
  EXPECT_EQ(many.find("OMP_NUM_THREADS=", many.find("OMP_NUM_THREADS=") + 1), std::string::npos);  // set once
}

}  // namespace child_runs_test
}  // namespace bilevel
