// bilevel search and bilevel reproduce: many runs of `bilevel run` as child processes, summarised.
#include <filesystem>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "bilevel/cli/commands.hpp"
#include "bilevel/cli/interrupt.hpp"
#include "bilevel/core/error.hpp"
#include "bilevel/core/files.hpp"
#include "bilevel/experiments/child_runs.hpp"
#include "bilevel/experiments/experiment_spec.hpp"
#include "bilevel/experiments/reproduce.hpp"
#include "bilevel/experiments/search.hpp"
#include "bilevel/experiments/spec_table.hpp"

namespace bilevel {

namespace fs = std::filesystem;

int search_command(const SearchRequest& request, std::ostream& out) {
  toml::table config;
  try {
    config = toml::parse_file(request.config_path);
  } catch (const toml::parse_error& e) {
    throw ConfigError(fmt::format("{}:{}: {}", request.config_path, e.source().begin.line, e.description()));
  }
  auto [o, space] = read_search_spec(config, request.config_path);
  if (request.draws >= 0) o.draws = request.draws;
  if (request.budget >= 0) o.budget = request.budget;
  if (request.seed >= 0) o.seed = static_cast<std::uint64_t>(request.seed);
  o.parallel = request.jobs;
  o.overrides = request.overrides;
  if (o.draws < 1) throw ConfigError(fmt::format("--draws must be >= 1, got {}", o.draws));
  if (o.parallel < 1) throw ConfigError(fmt::format("--jobs must be >= 1, got {}", o.parallel));

  const fs::path dir = request.out_dir.empty()
                           ? fs::path("runs") / (fs::path(request.config_path).stem().string() + "-search-" + local_timestamp())
                           : fs::path(request.out_dir);
  fs::create_directories(dir);
  // The runs read the config without its [search] table (`bilevel run` knows nothing of it).
  config.erase("search");
  std::ostringstream base;
  base << config << '\n';
  const fs::path base_path = dir / "base.toml";
  write_file_atomically(base_path, base.str());

  const InterruptGuard interrupt;
  o.stop_requested = [&interrupt] { return interrupt.signal() != 0; };
  o.progress = [&out](const std::string& line) { out << line << std::endl; };
  const SearchResult r = run_search(this_executable(), base_path, space, o, dir);

  out << fmt::format("\nranked by final {} ({} first):\n", o.metric, o.minimize ? "lowest" : "highest");
  int shown = 0;
  for (const SearchOutcome& x : r.outcomes) {
    if (!x.ranked() || shown++ == 5) break;
    std::string values;
    for (const auto& [key, value] : x.values) values += fmt::format(" {}={}", key, value);
    out << fmt::format("  {:<3} draw {:03d}  {} = {:.6g} ({} samples):{}\n", shown, x.index, o.metric, x.metric,
                       x.samples, values);
  }
  out << fmt::format("wrote {}/{{search.md, search.csv, best.json, draws/}}\n", dir.string());
  if (interrupt.signal() != 0) return 128 + interrupt.signal();
  return 0;
}

int reproduce_command(const ReproduceRequest& request, std::ostream& out) {
  const fs::path experiments = request.experiments_dir.empty() ? default_experiments_dir() : fs::path(request.experiments_dir);
  if (request.name == "list") {
    for (const std::string& name : list_experiments(experiments)) {
      const ExperimentSpec spec = ExperimentSpec::load(experiments / (name + ".toml"));
      out << fmt::format("  {:<16} {}\n  {:<16} [{}]\n", name, spec.title, "", spec.source);
    }
    return 0;
  }
  if (request.jobs < 1) throw ConfigError(fmt::format("--jobs must be >= 1, got {}", request.jobs));
  const ExperimentSpec spec = ExperimentSpec::load(find_experiment(experiments, request.name));
  const fs::path dir = request.out_dir.empty() ? fs::path("runs") / ("reproduce-" + spec.name + "-" + local_timestamp())
                                               : fs::path(request.out_dir);
  const InterruptGuard interrupt;
  ReproduceOptions o;
  o.full = request.full;
  o.parallel = request.jobs;
  o.command = request.command_line;
  o.stop_requested = [&interrupt] { return interrupt.signal() != 0; };
  o.progress = [&out](const std::string& line) { out << line << std::endl; };
  out << fmt::format("{}\n{} scale, into {}\n", spec.title, request.full ? "full" : "default", dir.string());
  const bool complete = reproduce(this_executable(), spec, dir, o);
  out << fmt::format("wrote {}/report.md{}\n", dir.string(), complete ? "" : " (some runs did not complete: see the report)");
  if (interrupt.signal() != 0) return 128 + interrupt.signal();
  return complete ? 0 : 3;
}

}  // namespace bilevel
