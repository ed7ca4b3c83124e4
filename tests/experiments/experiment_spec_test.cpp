// Experiment files: every shipped one loads (arms, plots, search spaces checked before any run), and a
// broken file is an error that names the file and the key.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "bilevel/core/error.hpp"
#include "bilevel/experiments/experiment_spec.hpp"

namespace bilevel {
namespace experiment_spec_test {

namespace fs = std::filesystem;
const fs::path kExperiments = fs::path(BILEVEL_SOURCE_DIR) / "experiments";

TEST(ExperimentSpec, EveryShippedExperimentLoads) {
  const auto names = list_experiments(kExperiments);
  EXPECT_EQ(names, (std::vector<std::string>{"data-poisoning", "equilibrium", "loops-ho", "loops-hyperrep", "meta-learning"}));
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    const ExperimentSpec s = ExperimentSpec::load(find_experiment(kExperiments, name));
    EXPECT_FALSE(s.arms.empty());
    EXPECT_TRUE(fs::exists(s.config));
    EXPECT_FALSE(s.published.empty()) << "the report must show the paper's numbers";
    EXPECT_FALSE(s.differences.empty()) << "the report must say how the setting differs";
    EXPECT_TRUE(s.search.has_value() || !s.plots.empty());
  }
}

TEST(ExperimentSpec, AnUnknownExperimentListsTheKnownOnes) {
  try {
    find_experiment(kExperiments, "loops-hx");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("no experiment 'loops-hx'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("loops-ho, loops-hyperrep"), std::string::npos) << e.what();
  }
}

void expect_spec_error(const std::string& body, const std::string& expected) {
  const fs::path path = fs::temp_directory_path() / ("bilevel-spec-" + std::to_string(getpid()) + ".toml");
  const std::string config = (fs::path(BILEVEL_SOURCE_DIR) / "examples/quadratic-method.toml").string();
  std::ofstream(path) << "title = \"t\"\nsource = \"s\"\nconfig = \"" << config << "\"\n" << body;
  try {
    ExperimentSpec::load(path);
    ADD_FAILURE() << "no error for:\n" << body;
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
  }
  fs::remove(path);
}

TEST(ExperimentSpec, BrokenFilesAreErrorsThatNameFileAndKey) {
  const std::string arm = "[[arms]]\nname = \"a\"\n";
  expect_spec_error("", "arms: at least one [[arms]] table is required");
  expect_spec_error("seedz = [1]\n" + arm, "seedz: unknown key");
  expect_spec_error(arm + "overides = []\n", "arms[0].overides: unknown key");
  expect_spec_error(arm + arm, "arms[1].name: 'a' names two arms");
  expect_spec_error("[[arms]]\nname = \"A b\"\n", "must be a non-empty directory name");
  expect_spec_error(arm + "[[plots]]\nfile = \"p\"\nx = \"epochs\"\ny = \"objective\"\n", "needs the experiment's epoch_examples");
  expect_spec_error(arm + "[table]\nat_iterations = [10]\n", "table.at_metric: is required with at_iterations");
  expect_spec_error(arm + "[search]\nmetric = \"objective\"\ngoal = \"down\"\n[search.space]\n", "goal: must be \"min\" or \"max\"");
  expect_spec_error(arm + "[search]\nmetric = \"objective\"\n[search.space]\n\"ul.step\" = { log_uniform = [0, 1] }\n",
                    "arm a search.space.\"ul.step\": a log-uniform range needs low > 0");
  expect_spec_error("[[arms]]\nname = \"a\"\nspace = { x = { uniform = [0, 1] } }\n", "has a space but the experiment has no [search]");
}

}  // namespace experiment_spec_test
}  // namespace bilevel
