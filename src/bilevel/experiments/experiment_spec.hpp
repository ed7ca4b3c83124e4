#pragma once
// An experiment of a paper, as a TOML file in experiments/ (`bilevel reproduce NAME` reads
// experiments/NAME.toml): a base config, the arms compared (each a list of overrides), the seeds, the
// plots and tables of the report, the published numbers and the known differences of setting. An arm
// may instead be tuned by a random search ([search]), as in the warm-start paper's data poisoning.
// Every key is documented in docs/reproduction.md.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "bilevel/experiments/search_space.hpp"

namespace bilevel {

struct ExperimentArm {
  std::string name;   // directory name: runs/<name>/
  std::string label;  // legend and table label
  std::vector<std::string> overrides, full_overrides;
  // With [search]: the experiment's search space with the keys of the arm's own `space` replaced.
  SearchSpace search_space;
};

struct ExperimentPlot {
  std::string file;  // <file>.png
  std::string title, x, y, xlabel, ylabel;
  bool logx = false, logy = false;
};

struct ExperimentSearch {
  int draws = 20, full_draws = 200;
  std::int64_t budget = 0, full_budget = 0;
  std::string metric;           // ranks the draws
  bool minimize = true;
  std::vector<std::string> report;  // fields of the best draw's final checkpoint shown in the table
  int top = 10;                 // the table's mean +- std is over the best `top` draws
};

struct ExperimentSpec {
  std::filesystem::path path;      // this file
  std::string name, title, source, what, published, differences;
  std::filesystem::path config;    // resolved against the file's directory
  std::vector<std::string> overrides, full_overrides;
  std::vector<std::int64_t> seeds{0}, full_seeds{0};
  std::vector<std::string> seed_keys{"seed"};  // the config keys each seed value is given to
  std::string epoch_examples;      // config key of the examples per epoch (x = "epochs"), if any
  std::vector<ExperimentArm> arms;
  std::vector<ExperimentPlot> plots;
  std::vector<std::string> table_metrics;     // final values per arm
  std::vector<std::int64_t> at_iterations;    // optional second table: at_metric at these iterations
  std::string at_metric;
  std::optional<ExperimentSearch> search;

  // Reads and checks the file; errors name the file and the key.
  static ExperimentSpec load(const std::filesystem::path& path);
  std::vector<std::string> arm_overrides(const ExperimentArm& arm, bool full) const;
};

// experiments/NAME.toml in `dir`; an error lists the experiments there when NAME is not one.
std::filesystem::path find_experiment(const std::filesystem::path& dir, const std::string& name);
std::vector<std::string> list_experiments(const std::filesystem::path& dir);
// The experiments/ folder of the source tree this build came from.
std::filesystem::path default_experiments_dir();

}  // namespace bilevel
