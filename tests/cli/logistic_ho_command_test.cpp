// End to end: bilevel run and hypergrad on logistic-ho, with the real MNIST digits of the fixture.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "run_executable.hpp"

namespace bilevel {
namespace logistic_ho_command_test {

namespace fs = std::filesystem;

const std::string kConfig = std::string(BILEVEL_SOURCE_DIR) + "/examples/logistic-ho.toml";
// 29 fixture digits: 12 train, 10 validation, 7 test; double precision for exact comparisons.
const std::string kSmall =
    " problem.dataset=mnist-digits problem.train_size=12 problem.validation_size=10 problem.test_size=7"
    " precision=double ul.max_iterations=6 ul.eval_every=3";

using LogisticHoCommand = testing::FixtureDigits;

TEST_F(LogisticHoCommand, RunWritesTheProblemsMetricsAtEveryCheckpoint) {
  const fs::path dir = fs::temp_directory_path() / ("bilevel-test-lho-" + std::to_string(getpid()));
  fs::remove_all(dir);
  const auto r = testing::run_bilevel("run " + kConfig + kSmall + " --out " + dir.string());
  ASSERT_EQ(r.status, 0) << r.out;
  std::ifstream metrics(dir / "metrics.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(metrics, line)) {
    const auto j = nlohmann::json::parse(line);
    for (const char* key : {"train_loss", "train_accuracy", "validation_loss", "test_accuracy", "evaluation_ll_residual"})
      EXPECT_TRUE(j.contains(key)) << key << " missing in " << line;
    EXPECT_NEAR(j["validation_loss"].get<double>(), j["objective"].get<double>(), 1e-9);  // f is the validation loss
    ++lines;
  }
  EXPECT_EQ(lines, 3);  // iterations 0, 3, 6
  std::ifstream in(dir / "summary.json");
  const auto summary = nlohmann::json::parse(in);
  EXPECT_EQ(summary["method"], "aid-bio-nq-loop");
  EXPECT_GT(summary["gamma"].get<double>(), 0.0);
  fs::remove_all(dir);
}

// ITD-BiO with one step from w = 0 has h_0 = 0 exactly (d_lambda Phi = -gamma e^lambda w vanishes at w = 0);
// the divergence check must measure growth from the first non-zero estimate, not from 0.
TEST_F(LogisticHoCommand, AZeroFirstHypergradientIsNotDivergence) {
  const auto o = testing::run_and_read(kConfig + kSmall + " method=itd-bio-no-loop");
  ASSERT_EQ(o.result.status, 0) << o.result.out;
  EXPECT_EQ(o.summary["iterations"], 6);
  EXPECT_LT(o.summary["final"]["objective"].get<double>(), o.summary["initial"]["objective"].get<double>());
}

TEST_F(LogisticHoCommand, HypergradPrintsAnEstimate) {
  const auto r = testing::run_bilevel("hypergrad " + kConfig + kSmall);
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["hypergradient"].size(), 784u);
}

TEST_F(LogisticHoCommand, SplitsLargerThanTheDatasetAreAnErrorNamingTheKey) {
  const auto r = testing::run_bilevel("hypergrad " + kConfig + kSmall + " problem.train_size=25");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("problem.train_size"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("29"), std::string::npos) << r.out;
}

TEST_F(LogisticHoCommand, AMissingDatasetSaysHowToInstallIt) {
  setenv("BILEVEL_MNIST_DIGITS_DIR", "/nonexistent", 1);
  const auto r = testing::run_bilevel("hypergrad " + kConfig + kSmall);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("setup.sh --data"), std::string::npos) << r.out;
}

}  // namespace logistic_ho_command_test
}  // namespace bilevel
