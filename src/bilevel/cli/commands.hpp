#pragma once
// The subcommands of the bilevel executable. Each returns the process exit code and throws
// bilevel::Error (with a message naming the file, field and value) on bad input.
#include <ostream>
#include <string>
#include <vector>

namespace bilevel {

// The local date and time as 20261123-154500: the default output folders are named with it.
std::string local_timestamp();

// bilevel hypergrad CONFIG [key=value ...] [--trace-samples FILE]: one JSON object on `out` (see
// docs/cli.md); with a trace path, every minibatch drawn goes to that file (cli/sample_trace_file.hpp).
int hypergrad_command(const std::string& config_path, const std::vector<std::string>& overrides, std::ostream& out,
                      const std::string& trace_path = "");

// bilevel run CONFIG [key=value ...] [--out DIR] [--trace-samples FILE]: runs the outer loop and writes
// DIR/config.toml (the resolved config), DIR/metrics.jsonl (one JSON object per checkpoint) and
// DIR/summary.json; prints a short human summary on `out`. An empty out_dir picks
// runs/<config name>-<date>-<time>.
int run_command(const std::string& config_path, const std::vector<std::string>& overrides, std::string out_dir,
                std::ostream& out, const std::string& trace_path = "");

// bilevel run --resume DIR: continues the run in DIR from its state.bin (written at every checkpoint
// and when a run is interrupted) with DIR/config.toml; the result equals that of the uninterrupted run.
int resume_command(const std::string& dir, std::ostream& out);

// bilevel list [--markdown]: the problems, methods (presets), linear-system solvers and datasets this
// build knows; with markdown, only the table of presets of docs/methods.md.
int list_command(std::ostream& out, bool markdown = false);

// bilevel search CONFIG [key=value ...] [--draws N] [--budget SAMPLES] [--jobs J] [--seed S] [--out DIR]:
// random search over the options of CONFIG's [search.space] (experiments/search.hpp). Command-line
// values replace the [search] table's draws, budget and seed; negative ones mean "not given".
struct SearchRequest {
  std::string config_path;
  std::vector<std::string> overrides;
  int draws = -1;
  long long budget = -1;
  int jobs = 2;
  long long seed = -1;
  std::string out_dir;
};
int search_command(const SearchRequest& request, std::ostream& out);

// bilevel reproduce NAME [--full] [--jobs J] [--out DIR] [--experiments DIR]: runs experiments/NAME.toml
// and writes its report (experiments/reproduce.hpp); NAME = "list" lists the experiments.
struct ReproduceRequest {
  std::string name;
  bool full = false;
  int jobs = 1;
  std::string out_dir;
  std::string experiments_dir;  // default: the source tree's experiments/
  std::string command_line;     // quoted in the report
};
int reproduce_command(const ReproduceRequest& request, std::ostream& out);

}  // namespace bilevel
