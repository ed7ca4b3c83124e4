// Fuzzes the run config: the TOML parser, the command-line override parser, the readers of the method,
// estimator, outer-loop and evaluation keys with the unknown-key check, and the [search] table of
// `bilevel search` with a few draws of its space.
// Input: the config text; after a NUL byte, optionally, one override (dotted.key=value).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "bilevel/cli/config.hpp"
#include "bilevel/cli/options_config.hpp"
#include "bilevel/core/error.hpp"
#include "bilevel/experiments/search.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  bilevel::fuzz::Input in(data, size);
  std::string_view text = in.rest;
  std::vector<std::string> overrides;
  if (const auto nul = text.find('\0'); nul != std::string_view::npos) {
    overrides.emplace_back(text.substr(nul + 1));
    text = text.substr(0, nul);
  }
  try {
    bilevel::Config c = bilevel::Config::parse(text, "fuzz.toml", overrides);
    bilevel::read_method_options(c, /*ll_population=*/1000, /*ul_population=*/1000);
    bilevel::read_evaluation_options(c);
    c.finish();
  } catch (const bilevel::Error&) {
  }
  try {
    const toml::table t = toml::parse(text);
    if (t.contains("search")) {
      const bilevel::SearchSpec s = bilevel::read_search_spec(t, "fuzz.toml");
      for (int i = 0; i < 3; ++i) s.space.draw(s.options.seed, i);
    }
  } catch (const toml::parse_error&) {  // Config::parse above reports these as ConfigError
  } catch (const bilevel::Error&) {
  }
  return 0;
}
