// End to end: the real bilevel executable on the shipped example config.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "run_executable.hpp"

namespace bilevel {
namespace hypergrad_command_test {

using testing::CommandResult;

CommandResult run(const std::string& args) { return testing::run_bilevel(args); }
const std::string kExample = std::string(BILEVEL_SOURCE_DIR) + "/examples/quadratic.toml";

TEST(HypergradCommand, DeterministicRunMatchesTheClosedForm) {
  const CommandResult r = run("hypergrad " + kExample +
                    " problem.noise_ll=0 problem.noise_ul=0 estimator.ll.batch_size=0 estimator.ls.batch_size=0"
                    " estimator.outer_batch_size=0 estimator.cross_batch_size=0 estimator.ll.decay_power=0"
                    " estimator.ls.method=cg estimator.ls.decay_power=0 estimator.ls.iterations=60");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_LT(j["relative_error"].get<double>(), 1e-8);
  EXPECT_EQ(j["hypergradient"].size(), 10u);
  EXPECT_EQ(j["counts"]["gradients"].get<int>(), 200 + 1);
  EXPECT_EQ(j["counts"]["matvecs"].get<int>(), j["counts"]["jacobian_w_products"].get<int>() + 1);
  EXPECT_GE(j["seconds"].get<double>(), 0.0);
}

TEST(HypergradCommand, StochasticRunReportsSamplesAndError) {
  const CommandResult r = run("hypergrad " + kExample + " repeats=3 precision=float");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["precision"], "float");
  EXPECT_EQ(j["counts"]["samples_ll"].get<int>(), 3 * (200 * 16 + 200 * 16 + 64));
  EXPECT_EQ(j["counts"]["samples_ul"].get<int>(), 3 * 64);
  EXPECT_LT(j["relative_error"].get<double>(), 0.2);
  EXPECT_GT(j["mean_squared_error"].get<double>(), 0.0);
}

TEST(HypergradCommand, BadInputExitsWithAMessageNamingIt) {
  CommandResult r = run("hypergrad " + kExample + " estimator.ll.iteratons=5");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("unknown key 'estimator.ll.iteratons' (did you mean 'estimator.ll.iterations'?)"),
            std::string::npos) << r.out;
  r = run("hypergrad " + kExample + " problem.contraction=1.5");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("problem.contraction"), std::string::npos) << r.out;
  r = run("hypergrad " + kExample + " estimator.ll.batch_size=0");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("ll.batch_size must be set"), std::string::npos) << r.out;
  r = run("hypergrad " + kExample + " estimator.ls.method=cg problem.form=fixed_point");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("symmetric"), std::string::npos) << r.out;
  r = run("hypergrad /nonexistent.toml");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("/nonexistent.toml: cannot open"), std::string::npos) << r.out;
}

TEST(HypergradCommand, DivergenceIsANumericalFailure) {
  const CommandResult r = run("hypergrad " + kExample + " estimator.ll.step=40 estimator.ll.decay_power=0");
  EXPECT_EQ(r.status, 3) << r.out;
  EXPECT_NE(r.out.find("NaN or Inf"), std::string::npos) << r.out;
}

}  // namespace hypergrad_command_test
}  // namespace bilevel
