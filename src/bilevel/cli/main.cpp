// The bilevel command. Exit codes: 0 success, 1 usage error, 2 bad input (config, data, options),
// 3 numerical failure (NaN/Inf, divergence).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <iostream>

#include "bilevel/cli/commands.hpp"
#include "bilevel/core/blas.hpp"
#include "bilevel/core/error.hpp"
#include "bilevel/core/parallel.hpp"

int main(int argc, char** argv) {
  CLI::App app{"bilevel: stochastic bilevel optimization with a lower-level contraction"};
  // With the products' kernels, which decide its speed (core/blas.hpp).
  app.set_version_flag("--version", "bilevel 0.1.0\nmatrix products: " + bilevel::blas_kernels());
  app.require_subcommand(1);

  std::string config;
  std::vector<std::string> overrides;
  auto* hypergrad = app.add_subcommand(
      "hypergrad", "Estimate the hypergradient of a problem at a given lambda; prints one JSON object");
  hypergrad->add_option("config", config, "TOML config file (see examples/)")->required();
  hypergrad->add_option("overrides", overrides, "Overrides of config keys: dotted.key=value");

  std::string out_dir;
  auto* run = app.add_subcommand("run", "Run the outer loop; writes config.toml, metrics.jsonl and summary.json");
  std::string resume_dir;
  auto* run_config = run->add_option("config", config, "TOML config file (see examples/)");
  run->add_option("overrides", overrides, "Overrides of config keys: dotted.key=value");
  auto* run_out = run->add_option("--out", out_dir, "Output directory (default: runs/<config>-<date>-<time>)");
  auto* run_resume = run->add_option("--resume", resume_dir,
                                     "Continue the interrupted run in this directory (its config.toml and state.bin)");
  run_resume->excludes(run_config)->excludes(run_out);
  // A resumed run draws again from its last checkpoint, so a trace of it would not be the run's.
  std::string trace_path;
  for (CLI::App* c : {hypergrad, run}) {
    auto* trace = c->add_option("--trace-samples", trace_path,
                                "Write every minibatch drawn to this file, one JSON line each (docs/config.md)");
    if (c == run) trace->excludes(run_resume);
  }
  run->callback([&] {
    if (resume_dir.empty() && config.empty()) throw CLI::RequiredError("config (or --resume DIR)");
  });

  bilevel::SearchRequest search_request;
  auto* search = app.add_subcommand(
      "search", "Random search over the options in CONFIG's [search.space], every draw under one sample budget");
  search->add_option("config", search_request.config_path, "TOML config file with a [search] table")->required();
  search->add_option("overrides", search_request.overrides, "Overrides of config keys for every run: dotted.key=value");
  search->add_option("--draws", search_request.draws, "Settings drawn (default: search.draws, else 20)");
  search->add_option("--budget", search_request.budget, "Samples per run (default: search.budget; 0 = the config's stopping rule)");
  search->add_option("--jobs", search_request.jobs, "Runs at a time")->capture_default_str();
  search->add_option("--seed", search_request.seed, "Seed of the draws (default: search.seed, else 0)");
  search->add_option("--out", search_request.out_dir, "Output directory (default: runs/<config>-search-<date>-<time>)");

  bilevel::ReproduceRequest reproduce_request;
  auto* reproduce = app.add_subcommand(
      "reproduce", "Run an experiment of the papers (experiments/NAME.toml) and write its report; NAME = list lists them");
  reproduce->add_option("name", reproduce_request.name, "Experiment name, or list")->required();
  reproduce->add_flag("--full", reproduce_request.full, "The paper's scale (default: a reduced scale of minutes)");
  reproduce->add_option("--jobs", reproduce_request.jobs,
                        "Runs at a time (default 1: runs in parallel share the cores and distort each other's timings)");
  reproduce->add_option("--out", reproduce_request.out_dir, "Output directory (default: runs/reproduce-NAME-<date>-<time>)");
  reproduce->add_option("--experiments", reproduce_request.experiments_dir,
                        "Folder of experiment files (default: the source tree's experiments/)");

  // Threads change the speed, never the results (core/parallel.hpp), so they are an option of the
  // command, not a key of the config.
  int threads = 0;
  for (CLI::App* c : {hypergrad, run, search, reproduce})
    c->add_option("--threads", threads,
                  "Threads of the oracles (default: OMP_NUM_THREADS, else every core); results are the same for any")
        ->check(CLI::NonNegativeNumber);

  auto* list = app.add_subcommand("list", "List the problems, methods and datasets this build knows");
  bool markdown = false;
  list->add_flag("--markdown", markdown, "Print the methods as the Markdown table of docs/methods.md");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help, version or the usage error
    return code == 0 ? 0 : 1;
  }
  bilevel::set_thread_count(threads);
  try {
    if (*hypergrad) return bilevel::hypergrad_command(config, overrides, std::cout, trace_path);
    if (*run && !resume_dir.empty()) return bilevel::resume_command(resume_dir, std::cout);
    if (*run) return bilevel::run_command(config, overrides, out_dir, std::cout, trace_path);
    if (*list) return bilevel::list_command(std::cout, markdown);
    if (*search) return bilevel::search_command(search_request, std::cout);
    if (*reproduce) {
      for (int i = 0; i < argc; ++i) reproduce_request.command_line += (i ? " " : "") + std::string(i ? argv[i] : "bilevel");
      return bilevel::reproduce_command(reproduce_request, std::cout);
    }
  } catch (const bilevel::NumericalError& e) {
    std::cerr << "bilevel: numerical failure: " << e.what() << '\n';
    return 3;
  } catch (const bilevel::Error& e) {
    std::cerr << "bilevel: error: " << e.what() << '\n';
    return 2;
  }
  return 1;
}
