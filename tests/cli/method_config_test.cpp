// The `method` key: a preset's defaults, then any option overridden from the config or command line.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "bilevel/cli/options_config.hpp"
#include "bilevel/methods/presets.hpp"
#include "run_executable.hpp"

namespace bilevel {
namespace method_config_test {

MethodOptions read(std::string_view text, const std::vector<std::string>& overrides = {}, Index ll_population = 0,
                   Index ul_population = 0) {
  Config c = Config::parse(text, "test.toml", overrides);
  MethodOptions m = read_method_options(c, ll_population, ul_population);
  c.finish();
  return m;
}

TEST(MethodConfig, PresetGivesItsDefaultsWithTheMinibatchEverywhere) {
  const MethodOptions m = read("method = \"stocbio\"\n[estimator]\nbatch_size = 32\n");
  EXPECT_EQ(m.method, "stocbio");
  EXPECT_EQ(m.estimator.ls.method, LinearSystemMethod::kNeumann);
  EXPECT_TRUE(m.estimator.ll.warm_start);
  EXPECT_FALSE(m.estimator.ls.warm_start);
  EXPECT_EQ(m.estimator.ll.batch_size, 32);
  EXPECT_EQ(m.estimator.ls.batch_size, 32);
  EXPECT_EQ(m.estimator.outer_batch_size, 32);
  EXPECT_EQ(m.estimator.cross_batch_size, 32);
}

TEST(MethodConfig, AnyOptionOfAPresetCanBeOverridden) {
  const MethodOptions m = read("method = \"amigo\"\n[estimator.ll]\niterations = 3\n", {"estimator.ls.warm_start=false", "ul.step=0.5"});
  EXPECT_EQ(m.estimator.ll.iterations, 3);
  EXPECT_FALSE(m.estimator.ls.warm_start);
  EXPECT_TRUE(m.estimator.ll.warm_start);  // the rest stays the preset's
  EXPECT_EQ(m.ul.step.step, 0.5);
}

TEST(MethodConfig, DefaultMinibatchIs64AtMostThePopulationAndJBIsCapped) {
  EXPECT_EQ(read("method = \"bsgm-fixed\"\n", {}, 0, 0).estimator.ll.batch_size, 64);
  const MethodOptions small = read("method = \"bsgm-fixed\"\n", {}, 50, 40);
  EXPECT_EQ(small.estimator.ll.batch_size, 40);
  EXPECT_EQ(small.estimator.cross_batch_size, 50);  // J B = 400, capped by the 50 LL examples
  EXPECT_EQ(small.estimator.outer_batch_size, 40);
}

TEST(MethodConfig, TheoryPresetsCarryTheirGrowthAndDeterministicOnesFullBatches) {
  EXPECT_EQ(read("method = \"bsgm\"\n").ul.growth, Growth::kLinear);
  EXPECT_EQ(read("method = \"bsgm-horizon\"\n").ul.growth, Growth::kHorizon);
  const MethodOptions det = read("method = \"aid-bio-nq-loop\"\n", {}, 100, 100);
  EXPECT_EQ(det.estimator.ll.batch_size, 0);
  EXPECT_EQ(det.estimator.ll.iterations, 20);
  EXPECT_EQ(det.estimator.ls.iterations, 20);
  EXPECT_TRUE(det.estimator.ll.warm_start && det.estimator.ls.warm_start);
}

TEST(MethodConfig, BadMethodOrBatchNamesTheKeyAndTheValue) {
  try {
    read("method = \"stochbio\"\n");
    FAIL();
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("method"), std::string::npos) << msg;
    EXPECT_NE(msg.find("stochbio"), std::string::npos) << msg;
    EXPECT_NE(msg.find("stocbio"), std::string::npos) << msg;  // the choices are listed
  }
  try {
    read("method = \"itd-bio-nn-loop\"\n[estimator]\nbatch_size = 8\n");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("deterministic"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read("method = \"bsgm\"\n[estimator]\nbatch_size = 0\n"), ConfigError);
}

// docs/methods.md shows the presets' defaults; it must be the table this build generates.
TEST(MethodConfig, DocsTableIsTheGeneratedOne) {
  std::ifstream in(std::string(BILEVEL_SOURCE_DIR) + "/docs/methods.md");
  ASSERT_TRUE(in) << "docs/methods.md is missing";
  std::stringstream s;
  s << in.rdbuf();
  EXPECT_NE(s.str().find(presets_markdown_table()), std::string::npos)
      << "docs/methods.md is out of date: paste the output of `bilevel list --markdown` into it";
  const auto r = testing::run_bilevel("list --markdown");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, presets_markdown_table());
}

}  // namespace method_config_test
}  // namespace bilevel
