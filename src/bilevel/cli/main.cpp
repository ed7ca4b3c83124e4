// The bilevel command. Exit codes: 0 success, 1 usage error, 2 bad input (config, data, options),
// 3 numerical failure (NaN/Inf, divergence).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <iostream>

#include "bilevel/cli/commands.hpp"
#include "bilevel/core/error.hpp"

int main(int argc, char** argv) {
  CLI::App app{"bilevel: stochastic bilevel optimization with a lower-level contraction"};
  app.set_version_flag("--version", "bilevel 0.1.0");
  app.require_subcommand(1);

  std::string config;
  std::vector<std::string> overrides;
  auto* hypergrad = app.add_subcommand(
      "hypergrad", "Estimate the hypergradient of a problem at a given lambda; prints one JSON object");
  hypergrad->add_option("config", config, "TOML config file (see examples/)")->required();
  hypergrad->add_option("overrides", overrides, "Overrides of config keys: dotted.key=value");

  std::string out_dir;
  auto* run = app.add_subcommand("run", "Run the outer loop; writes config.toml, metrics.jsonl and summary.json");
  run->add_option("config", config, "TOML config file (see examples/)")->required();
  run->add_option("overrides", overrides, "Overrides of config keys: dotted.key=value");
  run->add_option("--out", out_dir, "Output directory (default: runs/<config>-<date>-<time>)");

  auto* list = app.add_subcommand("list", "List the problems, methods and datasets this build knows");
  bool markdown = false;
  list->add_flag("--markdown", markdown, "Print the methods as the Markdown table of docs/methods.md");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help, version or the usage error
    return code == 0 ? 0 : 1;
  }
  try {
    if (*hypergrad) return bilevel::hypergrad_command(config, overrides, std::cout);
    if (*run) return bilevel::run_command(config, overrides, out_dir, std::cout);
    if (*list) return bilevel::list_command(std::cout, markdown);
  } catch (const bilevel::NumericalError& e) {
    std::cerr << "bilevel: numerical failure: " << e.what() << '\n';
    return 3;
  } catch (const bilevel::Error& e) {
    std::cerr << "bilevel: error: " << e.what() << '\n';
    return 2;
  }
  return 1;
}
