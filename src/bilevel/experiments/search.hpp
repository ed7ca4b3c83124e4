#pragma once
// Random search: `draws` settings of a search space, each run as `bilevel run` under the same budget of
// counted samples (ul.max_samples), `parallel` at a time, ranked by one metric of their final checkpoint.
//
// The runs measure only what ranking needs: no checkpoint at the start (it is the same for every draw)
// and no accurate hypergradient at the end (evaluation.at_start = false, evaluation.hypergradient = false).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "bilevel/experiments/search_space.hpp"

namespace bilevel {

struct SearchOptions {
  int draws = 20;                   // settings drawn
  std::int64_t budget = 0;          // samples per run (ul.max_samples); 0 = the config's own stopping rule
  int parallel = 1;                 // runs at a time
  std::uint64_t seed = 0;           // of the draws (the runs keep the config's own seed)
  std::string metric = "validation_loss";  // a field of the final checkpoint (metrics.jsonl)
  bool minimize = true;             // false: the largest metric ranks first
  std::vector<std::string> overrides;      // applied to every run before its drawn values
  std::function<bool()> stop_requested;    // see ChildRunOptions
  std::function<void(const std::string&)> progress;  // one line per finished draw, if set
};

struct SearchOutcome {
  int index = 0;                    // draw number (its directory: draws/NNN)
  SearchDraw values;
  std::string status;               // completed, failed (numerical), error, interrupted, not run
  std::string message;              // the failure's message, if any
  double metric = std::numeric_limits<double>::quiet_NaN();
  nlohmann::json final_checkpoint;  // the last line of metrics.jsonl (null when none)
  double seconds = 0;               // the run's own time (evaluation excluded)
  std::int64_t samples = 0, iterations = 0;
  bool ranked() const { return status == "completed" && metric == metric; }
};

struct SearchResult {
  std::vector<SearchOutcome> outcomes;  // ranked: best first; runs without a metric last, by index
  std::filesystem::path dir;
};

// Runs the search on `config` (a file without a [search] table) into `dir`: draws/NNN/ per run,
// then search.csv (every draw), search.md (the ranking) and best.json (the best draw and the command
// that repeats it).
SearchResult run_search(const std::filesystem::path& executable, const std::filesystem::path& config,
                        const SearchSpace& space, const SearchOptions& options, const std::filesystem::path& dir);

// The `goal` key of a [search] table: "min" (the default) or "max"; true for "min".
class SpecTable;
bool read_search_goal(SpecTable& search);
// The [search] table of a `bilevel search` config (metric, goal, draws, budget, seed, [search.space]).
// Errors name `where` (the file) and the key; a config without [search] is an error saying what it needs.
struct SearchSpec {
  SearchOptions options;
  SearchSpace space;
};
SearchSpec read_search_spec(const toml::table& config, const std::string& where);

}  // namespace bilevel
