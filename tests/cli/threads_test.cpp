// Determinism across thread counts: the same config and seed give bit-identical metrics and final
// lambda with --threads 1 and --threads 2, on batches large enough to be cut into several chunks
// (core/parallel.hpp), in float, the default precision.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <fmt/format.h>

#include "run_executable.hpp"

namespace bilevel {
namespace threads_test {

namespace fs = std::filesystem;

// 400 examples of 24 features in [0, 1] and 3 classes (the class follows a noisy linear score), as
// CSV with the label first; values from the integer stream of mt19937, the same on every platform.
fs::path write_dataset() {
  const fs::path path = fs::temp_directory_path() / fmt::format("bilevel-threads-{}.csv", getpid());
  std::ofstream out(path);
  std::mt19937 random(7);
  for (int i = 0; i < 400; ++i) {
    std::string row;
    double score = 0;
    for (int j = 0; j < 24; ++j) {
      const double v = static_cast<double>(random() % 1000) / 999.0;
      score += (j % 3 == 0 ? 1.0 : -0.5) * v;
      row += fmt::format(",{:.3f}", v);
    }
    score += static_cast<double>(random() % 1000) / 999.0 - 0.5;
    out << (score < -1.5 ? 0 : score < 0 ? 1 : 2) << row << '\n';
  }
  return path;
}

// The run at one and at two threads: the outcomes must be equal, bit for bit.
void expect_same_at_one_and_two_threads(const std::string& args, const std::string& name) {
  const fs::path data = write_dataset();
  const std::string full = fmt::format("{} problem.dataset=csv problem.data_path={}", args, data.string());
  testing::RunOutcome outcomes[2];
  for (int threads : {1, 2}) {
    const fs::path dir = fs::temp_directory_path() / fmt::format("bilevel-threads-{}-{}-{}", getpid(), name, threads);
    fs::remove_all(dir);
    const auto r = testing::run_bilevel(fmt::format("run {} --threads {} --out {}", full, threads, dir.string()));
    ASSERT_EQ(r.status, 0) << r.out;
    outcomes[threads - 1] = testing::read_outcome(dir);
    fs::remove_all(dir);
  }
  ASSERT_GE(outcomes[0].checkpoints.size(), 3u);
  EXPECT_EQ(outcomes[0].checkpoints, outcomes[1].checkpoints);
  EXPECT_EQ(outcomes[0].lambda, outcomes[1].lambda);
  fs::remove(data);
}

const std::string kExamples = std::string(BILEVEL_SOURCE_DIR) + "/examples/";

TEST(Threads, LogisticHoIsTheSameAtOneAndTwoThreads) {
  // stocBiO: gathered minibatches of 200 (2 chunks); the evaluation's full batches of 250 (2 chunks).
  expect_same_at_one_and_two_threads(
      kExamples + "logistic-ho.toml problem.train_size=250 problem.validation_size=100 problem.test_size=50 "
                  "method=stocbio estimator.batch_size=200 ul.max_iterations=20 ul.eval_every=5",
      "logistic-ho");
}

TEST(Threads, EquilibriumWithItsWarmStartStoreIsTheSameAtOneAndTwoThreads) {
  // Minibatches of 256 examples (4 chunks: two per thread at two threads), the evaluation's 260 (4
  // chunks) and its fixed points of the validation and test examples.
  expect_same_at_one_and_two_threads(
      kExamples + "equilibrium.toml problem.train_size=260 problem.validation_size=90 problem.test_size=50 "
                  "problem.hidden=16 estimator.outer_batch_size=256 ul.max_iterations=30 ul.eval_every=10",
      "equilibrium");
}

TEST(Threads, EquilibriumWithVectorsOfSeveralSegmentsIsTheSameAtOneAndTwoThreads) {
  // h = 256: lambda (over 65 536 values) and w (38 400) span several of core/segments.hpp's segments,
  // so the estimator's updates, norms and checks and the problem's cache keys run on both threads.
  expect_same_at_one_and_two_threads(
      kExamples + "equilibrium.toml problem.train_size=250 problem.validation_size=100 problem.test_size=50 "
                  "problem.hidden=256 estimator.outer_batch_size=150 ul.max_iterations=12 ul.eval_every=4",
      "equilibrium-segments");
}

TEST(Threads, AThreadCountThatIsNotANumberIsAUsageError) {
  const auto r = testing::run_bilevel("run " + kExamples + "quadratic-run.toml --threads many");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("--threads"), std::string::npos) << r.out;
}

}  // namespace threads_test
}  // namespace bilevel
