#pragma once
// `bilevel reproduce`: runs an experiment (ExperimentSpec) and writes its report into one directory:
//   report.md        what was run, the tables, the published numbers and the known differences
//   <plot>.png       one per [[plots]] entry (gnuplot), with curves/<arm>.tsv and plots.gp beside them
//   runs/<arm>/...   every run's config.toml, metrics.jsonl, summary.json and log.txt
//   (search arms: runs/<arm>/ holds the search: draws/, search.csv, search.md, best.json)
#include <filesystem>
#include <functional>
#include <string>

#include "bilevel/experiments/experiment_spec.hpp"

namespace bilevel {

struct ReproduceOptions {
  bool full = false;      // the paper's scale (full_overrides, full_seeds, full_draws, full_budget)
  int parallel = 1;       // runs at a time; 1 keeps the timings of one run undisturbed by another
  std::string command;    // the command line, quoted in the report
  std::function<bool()> stop_requested;
  std::function<void(const std::string&)> progress;
};

// Returns true when every run completed.
bool reproduce(const std::filesystem::path& executable, const ExperimentSpec& spec, const std::filesystem::path& out,
               const ReproduceOptions& options);

// The directory of gnuplot's executable on PATH, or an error that says how to install it.
std::filesystem::path find_gnuplot();

}  // namespace bilevel
