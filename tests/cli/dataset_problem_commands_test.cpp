// End to end: bilevel run on data-poisoning and hyper-cleaning (real MNIST digits of the fixture) and hyper-representation (synthetic).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "run_executable.hpp"

namespace bilevel {
namespace {

namespace fs = std::filesystem;

const std::string kConfig = std::string(BILEVEL_SOURCE_DIR) + "/examples/data-poisoning.toml";
// 29 fixture digits: 15 train (3 poisoned), 8 validation, 6 test.
const std::string kSmall =
    " problem.train_size=15 problem.validation_size=8 problem.test_size=6 estimator.batch_size=5"
    " estimator.ll.iterations=5 estimator.ls.iterations=5 precision=double ul.max_iterations=4 ul.eval_every=2"
    " evaluation.iterations=50";

using DataPoisoningCommand = testing::FixtureDigits;

TEST_F(DataPoisoningCommand, RunStaysFeasibleAndReportsTheAttack) {
  const fs::path dir = fs::temp_directory_path() / ("bilevel-test-dp-" + std::to_string(getpid()));
  fs::remove_all(dir);
  const auto r = testing::run_bilevel("run " + kConfig + kSmall + " problem.epsilon=0.25 --out " + dir.string());
  ASSERT_EQ(r.status, 0) << r.out;
  std::ifstream in(dir / "summary.json");
  const auto summary = nlohmann::json::parse(in);
  const auto& lambda = summary["lambda"];
  EXPECT_EQ(lambda.size(), 3u * 784u);
  double largest = 0;
  for (const auto& v : lambda) largest = std::max(largest, std::abs(v.get<double>()));
  EXPECT_LE(largest, 0.25 + 1e-12);  // the projection keeps |noise| <= eps
  EXPECT_GT(largest, 0.0);           // and the attack moved
  EXPECT_NEAR(summary["final"]["validation_loss"].get<double>(), -summary["final"]["objective"].get<double>(), 1e-9);
  fs::remove_all(dir);
}

TEST_F(DataPoisoningCommand, EpsilonOutOfRangeNamesTheKey) {
  const auto r = testing::run_bilevel("hypergrad " + kConfig + kSmall + " problem.epsilon=0");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("problem.epsilon"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace bilevel

namespace bilevel {
namespace {

using HyperCleaningCommand = testing::FixtureDigits;

TEST_F(HyperCleaningCommand, RunReportsTheWeightsOfCleanAndCorruptedExamples) {
  const fs::path dir = fs::temp_directory_path() / ("bilevel-test-hc-" + std::to_string(getpid()));
  fs::remove_all(dir);
  const auto r = testing::run_bilevel("run " + std::string(BILEVEL_SOURCE_DIR) +
                                      "/examples/hyper-cleaning.toml problem.train_size=15 problem.validation_size=8"
                                      " problem.test_size=6 estimator.batch_size=5 precision=double ul.max_iterations=5"
                                      " ul.eval_every=5 --out " + dir.string());
  ASSERT_EQ(r.status, 0) << r.out;
  std::ifstream in(dir / "summary.json");
  const auto summary = nlohmann::json::parse(in);
  EXPECT_EQ(summary["lambda"].size(), 15u);
  EXPECT_TRUE(summary["final"].contains("weight_corrupted"));
  EXPECT_NEAR(summary["initial"]["weight_clean"].get<double>(), 0.5, 1e-12);  // sigma(0)
  fs::remove_all(dir);
}

}  // namespace
}  // namespace bilevel

namespace bilevel {
namespace {

TEST(HyperRepresentationCommand, RunFitsTheSyntheticRegression) {
  const fs::path dir = fs::temp_directory_path() / ("bilevel-test-hr-" + std::to_string(getpid()));
  fs::remove_all(dir);
  const auto r = testing::run_bilevel("run " + std::string(BILEVEL_SOURCE_DIR) +
                                      "/examples/hyper-representation.toml problem.input_dim=8 problem.representation=12"
                                      " problem.train_size=60 problem.validation_size=60 ul.max_iterations=300"
                                      " ul.eval_every=0 --out " + dir.string());
  ASSERT_EQ(r.status, 0) << r.out;
  std::ifstream in(dir / "summary.json");
  const auto summary = nlohmann::json::parse(in);
  EXPECT_LT(summary["final"]["validation_loss"].get<double>(), 0.5 * summary["initial"]["validation_loss"].get<double>());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace bilevel
