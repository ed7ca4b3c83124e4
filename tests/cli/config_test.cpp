#include "bilevel/cli/config.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <sstream>
#include <string>

#include "bilevel/cli/options_config.hpp"

namespace bilevel {
namespace config_test {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(Config, ReadsTypedValuesAndDefaults) {
  Config c = Config::parse("a = 3\nb = 2.5\n[t]\nc = true\nd = \"x\"\nv = [1, 2.0]\n", "test.toml");
  EXPECT_EQ(c.get_int("a", 0), 3);
  EXPECT_DOUBLE_EQ(c.get_double("b", 0), 2.5);
  EXPECT_DOUBLE_EQ(c.get_double("a", 0), 3.0);  // an integer is a number
  EXPECT_TRUE(c.get_bool("t.c", false));
  EXPECT_EQ(c.get_string("t.d", ""), "x");
  EXPECT_EQ(c.get_vector("t.v", 0, 2), (std::vector<double>{1, 2}));
  EXPECT_EQ(c.get_int("missing", 7), 7);
  EXPECT_NO_THROW(c.finish());
}

TEST(Config, OverridesUseDottedKeysAndTomlValues) {
  Config c = Config::parse("[estimator.ll]\niterations = 3\n", "f.toml",
                           {"estimator.ll.iterations=10", "estimator.ls.method=cg", "lambda=[1, 2]", "x.y=\"s t\""});
  EXPECT_EQ(c.get_int("estimator.ll.iterations", 0), 10);
  EXPECT_EQ(c.get_string("estimator.ls.method", ""), "cg");  // a bare word is a string
  EXPECT_EQ(c.get_vector("lambda", 0, 2), (std::vector<double>{1, 2}));
  EXPECT_EQ(c.get_string("x.y", ""), "s t");
}

TEST(Config, UnknownKeyIsAnErrorNamingItWithASuggestion) {
  Config c = Config::parse("[estimator.ll]\niteratons = 3\n", "f.toml");
  c.get_int("estimator.ll.iterations", 1);
  const auto msg = error_of([&] { c.finish(); });
  EXPECT_NE(msg.find("f.toml"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown key 'estimator.ll.iteratons'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'estimator.ll.iterations'"), std::string::npos) << msg;
}

TEST(Config, WrongTypesAndBadValuesNameTheKeyAndTheValue) {
  Config c = Config::parse("a = \"ten\"\nb = 1.5\nc = 3\n", "f.toml");
  auto msg = error_of([&] { c.get_int("a", 0); });
  EXPECT_NE(msg.find("f.toml: a: expected an integer, got string \"ten\""), std::string::npos) << msg;
  msg = error_of([&] { c.get_int("b", 0); });
  EXPECT_NE(msg.find("b: expected an integer"), std::string::npos) << msg;
  msg = error_of([&] { c.get_choice("c", "x", {"x", "y"}); });
  EXPECT_NE(msg.find("expected a string"), std::string::npos) << msg;
  Config d = Config::parse("m = \"cgg\"\n", "f.toml");
  msg = error_of([&] { d.get_choice("m", "fixed_point", {"fixed_point", "cg"}); });
  EXPECT_NE(msg.find("'cgg' is not one of: fixed_point, cg"), std::string::npos) << msg;
  Config e = Config::parse("v = [1, \"x\"]\n", "f.toml");
  msg = error_of([&] { e.get_vector("v", 0, 2); });
  EXPECT_NE(msg.find("entry 1"), std::string::npos) << msg;
}

TEST(Config, SyntaxErrorsGiveFileLineAndColumn) {
  const auto msg = error_of([] { Config::parse("a = \n", "broken.toml"); });
  EXPECT_NE(msg.find("broken.toml:1:"), std::string::npos) << msg;
  EXPECT_NE(error_of([] { Config::parse("", "f.toml", {"novalue"}); }).find("key=value"), std::string::npos);
  EXPECT_NE(error_of([] { Config::load("/nonexistent/x.toml"); }).find("cannot open"), std::string::npos);
}

TEST(Config, ResolvedHoldsEveryValueUsedIncludingDefaults) {
  Config c = Config::parse("[estimator.ll]\niterations = 3\n", "f.toml");
  const EstimatorOptions o = read_estimator_options(c);
  EXPECT_EQ(o.ll.iterations, 3);
  // The resolved table parses back to the same options, with nothing unknown left over.
  std::ostringstream text;
  text << c.resolved();
  Config again = Config::parse(text.str(), "resolved.toml");
  const EstimatorOptions o2 = read_estimator_options(again);
  EXPECT_NO_THROW(again.finish());
  EXPECT_EQ(o2.ll.iterations, 3);
  EXPECT_EQ(o2.ls.iterations, o.ls.iterations);
  EXPECT_EQ(o2.ls.method, o.ls.method);
  EXPECT_DOUBLE_EQ(o2.ll.step.step, o.ll.step.step);
}

TEST(Config, EstimatorRangesAreChecked) {
  Config c = Config::parse("[estimator.ll]\niterations = -2\n", "f.toml");
  EXPECT_NE(error_of([&] { read_estimator_options(c); }).find("estimator.ll.iterations: must be between 1"),
            std::string::npos);
  Config d = Config::parse("[estimator.ls]\nbatch_size = -1\n", "f.toml");
  EXPECT_NE(error_of([&] { read_estimator_options(d); }).find("estimator.ls.batch_size"), std::string::npos);
}

}  // namespace config_test
}  // namespace bilevel
