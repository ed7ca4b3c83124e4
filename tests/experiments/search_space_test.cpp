// The search space: every draw inside its range, of the right type, deterministic per (seed, index),
// spread as the distribution says; bad specs are errors that name the key.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>

#include "bilevel/core/error.hpp"
#include "bilevel/experiments/search_space.hpp"

namespace bilevel {
namespace search_space_test {

SearchSpace space(std::string_view text) {
  return SearchSpace::parse(toml::parse(text), "test: search.space");
}

std::string value_of(const SearchDraw& d, const std::string& key) {
  for (const auto& [k, v] : d)
    if (k == key) return v;
  ADD_FAILURE() << "no key " << key;
  return "";
}

constexpr std::string_view kSpace = R"(
"ul.step" = { log_uniform = [1e-3, 1.0] }
"ll.step" = { uniform = [0.5, 1.5] }
"ll.iterations" = { log_uniform_int = [1, 1000] }
"batch" = { uniform_int = [3, 5] }
"method" = { choice = ["a", "b"] }
"ls.iterations" = { same_as = "ll.iterations" }
"cross" = { same_as = "ll.iterations", times = 90 }
"capped" = { same_as = "ll.iterations", times = 90, max = 3000 }
)";

TEST(SearchSpace, DrawsStayInTheirRangesWithTheirTypes) {
  const SearchSpace s = space(kSpace);
  int below_hundredth = 0, iterations_below_ten = 0;
  std::set<std::string> batches, methods;
  for (int i = 0; i < 400; ++i) {
    const SearchDraw d = s.draw(7, i);
    const double step = std::stod(value_of(d, "ul.step"));
    EXPECT_GE(step, 1e-3 * 0.999);
    EXPECT_LE(step, 1.0 * 1.001);
    EXPECT_NE(value_of(d, "ul.step").find_first_of(".e"), std::string::npos) << "a real must read back as a float";
    below_hundredth += step < 1e-2;
    const double ll_step = std::stod(value_of(d, "ll.step"));
    EXPECT_GE(ll_step, 0.5);
    EXPECT_LE(ll_step, 1.5);
    const std::string iterations = value_of(d, "ll.iterations");
    EXPECT_EQ(iterations.find_first_not_of("0123456789"), std::string::npos) << iterations;
    const long n = std::stol(iterations);
    EXPECT_GE(n, 1);
    EXPECT_LE(n, 1000);
    iterations_below_ten += n < 10;
    batches.insert(value_of(d, "batch"));
    methods.insert(value_of(d, "method"));
    EXPECT_EQ(value_of(d, "ls.iterations"), iterations);
    EXPECT_EQ(std::stol(value_of(d, "cross")), 90 * n);
    EXPECT_EQ(std::stol(value_of(d, "capped")), std::min(90 * n, 3000L));
  }
  // Log-uniform: a third of the draws in each decade of [1e-3, 1]; uniform would put 1 % below 1e-2.
  EXPECT_GT(below_hundredth, 90);
  EXPECT_LT(below_hundredth, 180);
  EXPECT_GT(iterations_below_ten, 80);  // log-uniform integers: about a third below 10
  EXPECT_EQ(batches, (std::set<std::string>{"3", "4", "5"}));
  EXPECT_EQ(methods, (std::set<std::string>{"'a'", "'b'"}));  // TOML text of the strings
}

TEST(SearchSpace, ADrawDependsOnlyOnSeedAndIndexAndKey) {
  const SearchSpace s = space(kSpace);
  EXPECT_EQ(s.draw(3, 5), s.draw(3, 5));
  EXPECT_NE(s.draw(3, 5), s.draw(3, 6));
  EXPECT_NE(s.draw(3, 5), s.draw(4, 5));
  // Adding a key leaves the draws of the others unchanged.
  const SearchSpace smaller = space(R"("ul.step" = { log_uniform = [1e-3, 1.0] })");
  EXPECT_EQ(value_of(smaller.draw(3, 5), "ul.step"), value_of(s.draw(3, 5), "ul.step"));
}

void expect_error(std::string_view text, const std::string& expected) {
  try {
    space(text);
    ADD_FAILURE() << "no error for " << text;
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("test: search.space"), std::string::npos) << e.what();
  }
}

TEST(SearchSpace, BadSpecsAreErrorsThatNameTheKey) {
  expect_error(R"("ul.step" = { normal = [0, 1] })", "\"ul.step\": unknown distribution 'normal'");
  expect_error(R"("ul.step" = { log_uniform = [1.0, 0.1] })", "low 1 is above high 0.1");
  expect_error(R"("ul.step" = { log_uniform = [0.0, 1.0] })", "needs low > 0");
  expect_error(R"("ul.step" = { log_uniform = [1.0] })", "takes [low, high]");
  expect_error(R"("n" = { uniform_int = [1.5, 3] })", "integer bounds");
  expect_error(R"("n" = { choice = [] })", "non-empty array");
  expect_error(R"("n" = { same_as = "m" })", "same_as names 'm'");
  expect_error(R"("n" = { same_as = "m", times = -1 }
"m" = { uniform = [1, 2] })", "times must be a number > 0");
  expect_error(R"("n" = 3)", "must be a table with one entry");
  expect_error(R"("n" = { uniform = [1, 2], max = 3 })", "must be a table with one entry");
  expect_error(R"("n" = { same_as = "m", max = 0 }
"m" = { uniform = [1, 2] })", "max must be a number > 0");
}

}  // namespace search_space_test
}  // namespace bilevel
