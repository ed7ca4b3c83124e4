// End to end: bilevel run on data-poisoning and hyper-cleaning (real MNIST digits of the fixture) and hyper-representation (synthetic).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "run_executable.hpp"

namespace bilevel {
namespace dataset_problem_commands_test {

namespace fs = std::filesystem;

const std::string kConfig = std::string(BILEVEL_SOURCE_DIR) + "/examples/data-poisoning.toml";
// 29 fixture digits: 15 train (3 poisoned), 8 validation, 6 test.
const std::string kSmall =
    " problem.train_size=15 problem.validation_size=8 problem.test_size=6 estimator.batch_size=5"
    " estimator.ll.iterations=5 estimator.ls.iterations=5 precision=double ul.max_iterations=4 ul.eval_every=2"
    " evaluation.iterations=50";

using DataPoisoningCommand = testing::FixtureDigits;

TEST_F(DataPoisoningCommand, RunStaysFeasibleAndReportsTheAttack) {
  const auto [r, summary, last] = testing::run_and_read(kConfig + kSmall + " problem.epsilon=0.25");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto& lambda = summary["lambda"];
  EXPECT_EQ(lambda.size(), 3u * 784u);
  double largest = 0;
  for (const auto& v : lambda) largest = std::max(largest, std::abs(v.get<double>()));
  EXPECT_LE(largest, 0.25 + 1e-12);  // the projection keeps |noise| <= eps
  EXPECT_GT(largest, 0.0);           // and the attack moved
  EXPECT_NEAR(summary["final"]["validation_loss"].get<double>(), -summary["final"]["objective"].get<double>(), 1e-9);
}

TEST_F(DataPoisoningCommand, EpsilonOutOfRangeNamesTheKey) {
  const auto r = testing::run_bilevel("hypergrad " + kConfig + kSmall + " problem.epsilon=0");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("problem.epsilon"), std::string::npos) << r.out;
}

}  // namespace dataset_problem_commands_test
}  // namespace bilevel

namespace bilevel {
namespace dataset_problem_commands_test {

using HyperCleaningCommand = testing::FixtureDigits;

TEST_F(HyperCleaningCommand, RunReportsTheWeightsOfCleanAndCorruptedExamples) {
  const auto [r, summary, last] = testing::run_and_read(
      std::string(BILEVEL_SOURCE_DIR) +
      "/examples/hyper-cleaning.toml problem.train_size=15 problem.validation_size=8"
      " problem.test_size=6 estimator.batch_size=5 precision=double ul.max_iterations=5 ul.eval_every=5");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(summary["lambda"].size(), 15u);
  EXPECT_TRUE(summary["final"].contains("weight_corrupted"));
  EXPECT_NEAR(summary["initial"]["weight_clean"].get<double>(), 0.5, 1e-12);  // sigma(0)
}

}  // namespace dataset_problem_commands_test
}  // namespace bilevel

namespace bilevel {
namespace dataset_problem_commands_test {

TEST(HyperRepresentationCommand, RunFitsTheSyntheticRegression) {
  const auto [r, summary, last] = testing::run_and_read(
      std::string(BILEVEL_SOURCE_DIR) +
      "/examples/hyper-representation.toml problem.input_dim=8 problem.representation=12"
      " problem.train_size=60 problem.validation_size=60 ul.max_iterations=300 ul.eval_every=0");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_LT(summary["final"]["validation_loss"].get<double>(), 0.5 * summary["initial"]["validation_loss"].get<double>());
}

}  // namespace dataset_problem_commands_test
}  // namespace bilevel

namespace bilevel {
namespace dataset_problem_commands_test {

// A file of the user's own: 40 examples of 3 features, 2 classes separable by the first feature.
std::string write_user_csv(const fs::path& path) {
  std::ofstream out(path);
  out << "f1,f2,f3,label\n";
  for (int i = 0; i < 40; ++i) out << (i % 2 ? 1.0 : -1.0) + 0.01 * i << "," << 0.1 * (i % 7) << "," << 0.5 << "," << (i % 2 ? "yes" : "no") << "\n";
  return path.string();
}

TEST(UserDatasetCommand, LogisticHOReadsACsvFileAndLibsvmErrorsNameTheFile) {
  const fs::path csv = fs::temp_directory_path() / ("bilevel-test-user-" + std::to_string(getpid()) + ".csv");
  write_user_csv(csv);
  const std::string config = std::string(BILEVEL_SOURCE_DIR) + "/examples/logistic-ho.toml";
  const std::string sizes = " problem.train_size=20 problem.validation_size=10 problem.test_size=10 precision=double";
  const auto r = testing::run_bilevel("hypergrad " + config + sizes + " problem.dataset=csv problem.label_column=-1"
                                      " problem.data_path=" + csv.string());
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  EXPECT_EQ(j["hypergradient"].size(), 3u);  // one regularisation weight per feature

  const auto missing = testing::run_bilevel("hypergrad " + config + sizes + " problem.dataset=csv");
  EXPECT_EQ(missing.status, 2);
  EXPECT_NE(missing.out.find("problem.data_path"), std::string::npos) << missing.out;

  const auto bad = testing::run_bilevel("hypergrad " + config + sizes + " problem.dataset=libsvm problem.data_path=" +
                                        csv.string());
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.out.find(csv.string() + ":1:"), std::string::npos) << bad.out;  // "f1,f2,f3,label" is no label
  fs::remove(csv);
}

}  // namespace dataset_problem_commands_test
}  // namespace bilevel

namespace bilevel {
namespace dataset_problem_commands_test {

using EquilibriumCommand = testing::FixtureDigits;

const std::string kEquilibrium = std::string(BILEVEL_SOURCE_DIR) + "/examples/equilibrium.toml" +
                                 " problem.train_size=15 problem.validation_size=8 problem.test_size=6 problem.hidden=12"
                                 " estimator.outer_batch_size=5 precision=double ul.max_iterations=6 ul.eval_every=3";

TEST_F(EquilibriumCommand, RunKeepsAContractionAndStoresOneStatePerExample) {
  const auto [r, summary, last] = testing::run_and_read(kEquilibrium);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_LE(summary["final"]["a_spectral_norm"].get<double>(), 0.5 + 1e-9);
  EXPECT_EQ(summary["counts"]["samples_ul"].get<int>(), 6 * 5);  // 5 examples per iteration
  EXPECT_EQ(last["warm_start_bytes"].get<int>(), 15 * 12 * 8);    // one z per example, double
}

TEST_F(EquilibriumCommand, HypergradOfTheSameSeedIsReproducibleAndBadRadiusNamesTheKey) {
  const auto a = testing::run_bilevel("hypergrad " + kEquilibrium);
  const auto b = testing::run_bilevel("hypergrad " + kEquilibrium);
  ASSERT_EQ(a.status, 0) << a.out;
  const auto ja = nlohmann::json::parse(a.out.substr(a.out.find('{')));
  const auto jb = nlohmann::json::parse(b.out.substr(b.out.find('{')));
  EXPECT_EQ(ja["hypergradient"], jb["hypergradient"]);
  EXPECT_EQ(ja["hypergradient"].size(), 12u * 12u + 12u * 784u + 12u + 10u * 12u + 10u);
  // All examples and long solves: the estimate agrees with the evaluator's accurate hypergradient.
  const auto ref = testing::run_bilevel("hypergrad " + kEquilibrium + " reference=true estimator.outer_batch_size=0"
                                        " estimator.ll.iterations=60 estimator.ls.iterations=60");
  ASSERT_EQ(ref.status, 0) << ref.out;
  const auto jr = nlohmann::json::parse(ref.out.substr(ref.out.find('{')));
  EXPECT_LT(jr["relative_error"].get<double>(), 1e-9);
  EXPECT_FALSE(ja.contains("reference_hypergradient"));  // only computed when asked for
  const auto bad = testing::run_bilevel("hypergrad " + kEquilibrium + " problem.radius=1");
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.out.find("problem.radius"), std::string::npos) << bad.out;
}

}  // namespace dataset_problem_commands_test
}  // namespace bilevel

namespace bilevel {
namespace dataset_problem_commands_test {

using MetaLearningCommand = testing::FixtureFashion;

const std::string kMeta = std::string(BILEVEL_SOURCE_DIR) + "/examples/meta-learning.toml" +
                          " problem.train_size=100 problem.validation_size=60 problem.test_size=100"
                          " problem.layers=[8] problem.ways=3 problem.shots=1 problem.queries=2"
                          " problem.train_tasks=5 problem.metric_tasks=2 estimator.outer_batch_size=2"
                          " precision=double ul.max_iterations=4 ul.eval_every=2";

TEST_F(MetaLearningCommand, RunReportsTaskAccuraciesAndTheHeadStoreWhenWarmStarted) {
  const auto [r, summary, last] = testing::run_and_read(kMeta + " estimator.ll.warm_start=true");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(summary["lambda"].size(), 8u * 784u + 8u);  // one layer of 8 tanh units
  for (const char* key : {"train_tasks_accuracy", "validation_tasks_accuracy", "test_tasks_accuracy"}) {
    const double a = summary["final"][key].get<double>();
    EXPECT_TRUE(a >= 0 && a <= 1) << key;
  }
  EXPECT_EQ(last["warm_start_bytes"].get<int>(), 5 * 8 * 3 * 8);  // 5 heads of 8 x 3 doubles
}

TEST_F(MetaLearningCommand, BadLayersAndImpossibleTasksAreClearErrors) {
  const auto layers = testing::run_bilevel("hypergrad " + kMeta + " problem.layers=[8,0]");
  EXPECT_EQ(layers.status, 2);
  EXPECT_NE(layers.out.find("problem.layers"), std::string::npos) << layers.out;
  const auto ways = testing::run_bilevel("hypergrad " + kMeta + " problem.ways=11");
  EXPECT_EQ(ways.status, 2);
  EXPECT_NE(ways.out.find("11-way"), std::string::npos) << ways.out;
}

}  // namespace dataset_problem_commands_test
}  // namespace bilevel
