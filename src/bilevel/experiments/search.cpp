#include "bilevel/experiments/search.hpp"

#include <algorithm>
#include <sstream>

#include <fmt/format.h>

#include "bilevel/core/error.hpp"
#include "bilevel/core/files.hpp"
#include "bilevel/experiments/child_runs.hpp"
#include "bilevel/experiments/run_records.hpp"
#include "bilevel/experiments/spec_table.hpp"

namespace bilevel {
namespace {

std::filesystem::path draw_dir(const std::filesystem::path& dir, int index) {
  return dir / "draws" / fmt::format("{:03d}", index);
}

std::vector<std::string> run_arguments(const std::filesystem::path& config, const SearchOptions& o,
                                       const SearchDraw& values, const std::filesystem::path& out) {
  std::vector<std::string> args{"run", config.string()};
  args.insert(args.end(), o.overrides.begin(), o.overrides.end());
  if (o.budget > 0) {
    args.push_back(fmt::format("ul.max_samples={}", o.budget));
    args.push_back("ul.max_iterations=100000000");  // the budget decides
  }
  args.insert(args.end(), {"ul.eval_every=0", "evaluation.at_start=false", "evaluation.hypergradient=false"});
  for (const auto& [key, value] : values) args.push_back(key + "=" + value);
  args.insert(args.end(), {"--out", out.string()});
  return args;
}

std::string csv_field(std::string s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string quoted = "\"";
  for (char c : s) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string shell_word(const std::string& s) {
  if (s.find_first_of(" \"'$\\") == std::string::npos) return s;
  std::string quoted = "'";
  for (char c : s) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

void write_reports(const SearchResult& r, const std::filesystem::path& config, const SearchSpace& space,
                   const SearchOptions& o) {
  std::ostringstream csv;
  csv << "rank,draw,status," << o.metric << ",seconds,samples,iterations";
  for (const SearchParameter& p : space.parameters()) csv << ',' << csv_field(p.key);
  csv << ",message\n";
  std::ostringstream md;
  md << fmt::format("# Random search on {}\n\n{} draws, budget {} samples per run, ranked by the final {} ({} first).\n\n",
                    config.string(), o.draws, o.budget > 0 ? fmt::format("{}", o.budget) : std::string("(the config's)"),
                    o.metric, o.minimize ? "lowest" : "highest");
  md << "| key | drawn |\n|---|---|\n";
  for (const SearchParameter& p : space.parameters()) md << fmt::format("| `{}` | {} |\n", p.key, p.describe());
  md << fmt::format("\n| rank | draw | status | {} | seconds | samples | iterations |", o.metric);
  for (const SearchParameter& p : space.parameters()) md << fmt::format(" `{}` |", p.key);
  md << "\n|---|---|---|---|---|---|---|";
  for (std::size_t i = 0; i < space.parameters().size(); ++i) md << "---|";
  md << '\n';
  int rank = 0;
  for (const SearchOutcome& x : r.outcomes) {
    const std::string rank_text = x.ranked() ? fmt::format("{}", ++rank) : "–";
    const std::string metric = x.ranked() ? fmt::format("{:.6g}", x.metric) : "–";
    // The CSV is raw data: the metric in full (shortest round-trip form), empty when there is none.
    csv << fmt::format("{},{},{},{},{:.3f},{},{}", x.ranked() ? rank_text : "", x.index, x.status,
                       x.ranked() ? fmt::format("{}", x.metric) : "", x.seconds, x.samples, x.iterations);
    md << fmt::format("| {} | {:03d} | {} | {} | {:.2f} | {} | {} |", rank_text, x.index, x.status, metric, x.seconds,
                      x.samples, x.iterations);
    for (const auto& [key, value] : x.values) {
      csv << ',' << csv_field(value);
      md << ' ' << value << " |";
    }
    csv << ',' << csv_field(x.message) << '\n';
    md << '\n';
  }
  write_file_atomically(r.dir / "search.csv", csv.str());

  nlohmann::ordered_json best;
  if (!r.outcomes.empty() && r.outcomes.front().ranked()) {
    const SearchOutcome& b = r.outcomes.front();
    std::string command = "bilevel run " + shell_word(config.string());
    for (const std::string& a : o.overrides) command += " " + shell_word(a);
    if (o.budget > 0) command += fmt::format(" ul.max_samples={} ul.max_iterations=100000000", o.budget);
    for (const auto& [key, value] : b.values) command += " " + shell_word(key + "=" + value);
    best["draw"] = b.index;
    best["metric"] = o.metric;
    best["value"] = b.metric;
    best["values"] = nlohmann::ordered_json::object();
    for (const auto& [key, value] : b.values) best["values"][key] = value;
    best["final_checkpoint"] = b.final_checkpoint;
    best["command"] = command;
    md << fmt::format("\nBest: draw {:03d}, {} = {:.6g}. To repeat it (with checkpoints and the accurate "
                      "hypergradient):\n\n    {}\n", b.index, o.metric, b.metric, command);
  } else {
    best["draw"] = nullptr;
    md << "\nNo draw completed with a value of the metric.\n";
  }
  write_file_atomically(r.dir / "search.md", md.str());
  write_file_atomically(r.dir / "best.json", best.dump(2) + "\n");
}

}  // namespace

SearchResult run_search(const std::filesystem::path& executable, const std::filesystem::path& config,
                        const SearchSpace& space, const SearchOptions& o, const std::filesystem::path& dir) {
  if (o.draws < 1) throw InvalidOptions(fmt::format("--draws must be >= 1, got {}", o.draws));
  if (o.budget < 0) throw InvalidOptions(fmt::format("--budget must be >= 0 samples, got {}", o.budget));
  SearchResult r;
  r.dir = dir;
  std::vector<ChildRun> runs;
  for (int i = 0; i < o.draws; ++i) {
    SearchOutcome x;
    x.index = i;
    x.values = space.draw(o.seed, i);
    const auto out = draw_dir(dir, i);
    std::filesystem::create_directories(out);
    runs.push_back(ChildRun{run_arguments(config, o, x.values, out), out / "log.txt"});
    r.outcomes.push_back(std::move(x));
  }
  ChildRunOptions child;
  child.parallel = o.parallel;
  child.stop_requested = o.stop_requested;
  int finished = 0;
  child.on_exit = [&](std::size_t i, const ChildOutcome& c) {
    SearchOutcome& x = r.outcomes[i];
    const RunRecord record = read_run(draw_dir(dir, x.index));
    if (!record.checkpoints.empty()) {
      x.final_checkpoint = record.checkpoints.back();
      x.seconds = field(x.final_checkpoint, "seconds").value_or(0);
      x.samples = static_cast<std::int64_t>(field(x.final_checkpoint, "samples").value_or(0));
      x.iterations = static_cast<std::int64_t>(field(x.final_checkpoint, "iteration").value_or(0));
    }
    if (c.exit_code == 0) {
      x.status = "completed";
      if (const auto m = x.final_checkpoint.is_null() ? std::nullopt : field(x.final_checkpoint, o.metric)) {
        x.metric = *m;
      } else {
        x.status = "error";
        x.message = fmt::format("the final checkpoint has no numeric field '{}'", o.metric);
      }
    } else if (c.exit_code == 3) {
      x.status = "failed";
      x.message = record.error().empty() ? last_log_line(runs[i].log) : record.error();
    } else if (c.exit_code == 130 || c.exit_code == 143 || c.signal != 0) {
      x.status = "interrupted";
    } else {
      x.status = "error";
      x.message = last_log_line(runs[i].log);
    }
    ++finished;
    if (o.progress)
      o.progress(fmt::format("draw {:03d} ({}/{}): {}{}", x.index, finished, o.draws, x.status,
                             x.status == "completed" ? fmt::format(", {} = {:.6g}", o.metric, x.metric) : ": " + x.message));
  };
  const std::vector<ChildOutcome> outcomes = run_children(executable, runs, child);
  for (std::size_t i = 0; i < outcomes.size(); ++i)
    if (!outcomes[i].started) r.outcomes[i].status = "not run";

  // A config the run rejects is the same for every draw: say so once instead of ranking nothing.
  const bool all_rejected = std::all_of(r.outcomes.begin(), r.outcomes.end(), [&](const SearchOutcome& x) {
    return x.status == "error" || x.status == "not run";
  });
  if (all_rejected && !r.outcomes.empty() && r.outcomes.front().status == "error")
    throw ConfigError(fmt::format("every run of the search failed; the first ({}): {}", runs.front().log.string(),
                                  r.outcomes.front().message));

  std::stable_sort(r.outcomes.begin(), r.outcomes.end(), [&](const SearchOutcome& a, const SearchOutcome& b) {
    if (a.ranked() != b.ranked()) return a.ranked();
    if (!a.ranked()) return a.index < b.index;
    return o.minimize ? a.metric < b.metric : a.metric > b.metric;
  });
  write_reports(r, config, space, o);
  return r;
}

bool read_search_goal(SpecTable& search) {
  const std::string goal = search.string("goal", "min");
  if (goal != "min" && goal != "max") search.fail("goal", fmt::format("must be \"min\" or \"max\", got \"{}\"", goal));
  return goal == "min";
}

SearchSpec read_search_spec(const toml::table& config, const std::string& where) {
  const toml::node* node = config.get("search");
  if (!node || !node->is_table())
    throw ConfigError(fmt::format("{}: no [search] table: a search needs [search] with metric, goal and "
                                  "[search.space] (docs/reproduction.md)", where));
  SpecTable t(*node->as_table(), where + ": search.");
  SearchOptions o;
  o.metric = t.string("metric", "", true);
  o.minimize = read_search_goal(t);
  o.draws = static_cast<int>(t.integer("draws", 20, 1));
  o.budget = t.integer("budget", 0, 0);
  o.seed = static_cast<std::uint64_t>(t.integer("seed", 0, 0));
  const toml::table* space_table = t.table("space");
  if (!space_table) t.fail("space", "is required: the options each draw takes");
  SearchSpace space = SearchSpace::parse(*space_table, where + ": search.space");
  t.finish();
  return {std::move(o), std::move(space)};
}

}  // namespace bilevel
