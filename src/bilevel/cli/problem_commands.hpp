#pragma once
// The problems the command line knows, one translation unit each (cli/problem_commands/), so every
// problem is compiled once, in both precisions, and the files build in parallel. Each entry reads its
// own [problem] keys, builds the problem and runs the requested command on it, erased
// (cli/execute_on_problem.hpp; the commands: cli/run_on_problem.hpp, cli/hypergrad_on_problem.hpp).
#include <ostream>
#include <span>
#include <string>

#include "bilevel/cli/config.hpp"

namespace bilevel {

enum class Precision { kFloat, kDouble };

// What to do with the problem once it is built.
struct CommandRequest {
  enum class Kind { kRun, kHypergrad };
  Kind kind = Kind::kRun;
  std::string out_dir;          // run only: where config.toml, metrics.jsonl and summary.json go
  std::ostream* out = nullptr;  // human summary (run) or the JSON result (hypergrad)
  bool resume = false;          // run only: continue the run in out_dir from its state.bin
  std::string trace_path;       // where to write every minibatch drawn (--trace-samples); empty: nowhere
};

using ProblemCommand = int (*)(Config&, Precision, const CommandRequest&);

struct ProblemEntry {
  const char* name;         // problem.name
  const char* description;  // one line for `bilevel list`
  ProblemCommand execute;
};

// Every problem, in the order `bilevel list` shows them; the first is the default.
std::span<const ProblemEntry> problem_entries();

// Reads `precision` and `problem.name` from c and runs the request on that problem.
int execute_command(Config& c, const CommandRequest& request);

int execute_quadratic(Config& c, Precision precision, const CommandRequest& request);
int execute_logistic_ho(Config& c, Precision precision, const CommandRequest& request);
int execute_data_poisoning(Config& c, Precision precision, const CommandRequest& request);
int execute_hyper_cleaning(Config& c, Precision precision, const CommandRequest& request);
int execute_hyper_representation(Config& c, Precision precision, const CommandRequest& request);
int execute_equilibrium(Config& c, Precision precision, const CommandRequest& request);
int execute_meta_learning(Config& c, Precision precision, const CommandRequest& request);

}  // namespace bilevel
