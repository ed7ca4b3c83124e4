#include "bilevel/experiments/reproduce.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "bilevel/core/error.hpp"
#include "bilevel/core/files.hpp"
#include "bilevel/experiments/child_runs.hpp"
#include "bilevel/experiments/run_records.hpp"
#include "bilevel/experiments/search.hpp"

namespace bilevel {
namespace {

namespace fs = std::filesystem;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Stats {
  double mean = kNaN, stddev = kNaN;
  int count = 0;
};

Stats stats(const std::vector<double>& values) {
  Stats s;
  double sum = 0;
  for (double v : values)
    if (std::isfinite(v)) {
      sum += v;
      ++s.count;
    }
  if (s.count == 0) return s;
  s.mean = sum / s.count;
  double ss = 0;
  for (double v : values)
    if (std::isfinite(v)) ss += (v - s.mean) * (v - s.mean);
  s.stddev = s.count > 1 ? std::sqrt(ss / (s.count - 1)) : 0.0;
  return s;
}

std::string cell(const Stats& s, int runs) {
  if (s.count == 0) return "–";
  if (runs <= 1) return fmt::format("{:.4g}", s.mean);
  return fmt::format("{:.4g} ± {:.2g}", s.mean, s.stddev);
}

std::string markdown_code_list(const std::vector<std::string>& words) {
  if (words.empty()) return "(none)";
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "`" : " `") + w + "`";
  return out;
}

// The examples per epoch of a run, read from its resolved config (0 when not configured).
double epoch_examples(const ExperimentSpec& spec, const fs::path& run_dir) {
  if (spec.epoch_examples.empty()) return 0;
  try {
    const toml::table config = toml::parse_file((run_dir / "config.toml").string());
    const auto value = config.at_path(spec.epoch_examples).value<double>();
    if (!value)
      throw ConfigError(fmt::format("{}: epoch_examples: {} is not a number in {}", spec.path.string(),
                                    spec.epoch_examples, (run_dir / "config.toml").string()));
    return *value;
  } catch (const toml::parse_error& e) {
    throw DataError(fmt::format("{}: {}", (run_dir / "config.toml").string(), e.description()));
  }
}

// The runs of one arm over the seeds, and their checkpoints averaged over seeds.
struct ArmResult {
  std::vector<RunRecord> runs;
  std::vector<double> examples_per_epoch;
  std::vector<std::string> failures;  // "seed 1: message"
  int completed = 0;
};

std::vector<std::string> fields_used(const ExperimentSpec& spec) {
  std::vector<std::string> f{"iteration", "seconds", "samples", "oracle_calls"};
  if (!spec.epoch_examples.empty()) f.push_back("epochs");
  auto add = [&f](const std::string& name) {
    if (std::find(f.begin(), f.end(), name) == f.end()) f.push_back(name);
  };
  for (const ExperimentPlot& p : spec.plots) {
    add(p.x);
    add(p.y);
  }
  for (const std::string& m : spec.table_metrics) add(m);
  if (!spec.at_metric.empty()) add(spec.at_metric);
  return f;
}

// Mean over seeds, checkpoint by checkpoint, over the checkpoints every seed reached.
std::vector<std::vector<double>> mean_curve(const ArmResult& arm, const std::vector<std::string>& fields) {
  std::size_t n = std::numeric_limits<std::size_t>::max();
  for (const RunRecord& r : arm.runs) n = std::min(n, r.checkpoints.size());
  if (arm.runs.empty()) n = 0;
  std::vector<std::vector<double>> rows(n, std::vector<double>(fields.size(), kNaN));
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t f = 0; f < fields.size(); ++f) {
      std::vector<double> values;
      for (std::size_t k = 0; k < arm.runs.size(); ++k)
        values.push_back(field(arm.runs[k].checkpoints[i], fields[f], arm.examples_per_epoch[k]).value_or(kNaN));
      const Stats s = stats(values);
      rows[i][f] = s.count == static_cast<int>(values.size()) ? s.mean : kNaN;
    }
  return rows;
}

std::string gnuplot_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

// Writes the curves, the gnuplot script and the PNGs; returns the plots drawn. An arm without a
// completed run (an interrupted reproduction) is left out of the plots, and a plot without any arm is
// not drawn.
std::vector<std::string> write_plots(const ExperimentSpec& spec, const std::vector<ArmResult>& arms, const fs::path& out) {
  std::vector<std::string> drawn;
  if (spec.plots.empty()) return drawn;
  const std::vector<std::string> fields = fields_used(spec);
  fs::create_directories(out / "curves");
  std::vector<bool> has_data(arms.size(), false);
  for (std::size_t a = 0; a < arms.size(); ++a) {
    std::ostringstream tsv;
    tsv << "#";
    for (const std::string& f : fields) tsv << ' ' << f;
    tsv << '\n';
    const auto curve = mean_curve(arms[a], fields);
    has_data[a] = !curve.empty();
    for (const auto& row : curve) {
      for (std::size_t f = 0; f < row.size(); ++f) tsv << (f ? "\t" : "") << fmt::format("{:.9g}", row[f]);
      tsv << '\n';
    }
    write_file_atomically(out / "curves" / (spec.arms[a].name + ".tsv"), tsv.str());
  }
  std::ostringstream gp;
  gp << "# Regenerate the plots: gnuplot plots.gp (in this directory)\n"
        "set terminal pngcairo size 900,600 enhanced font 'sans,11'\nset grid\nset key outside right top\n"
        "set datafile missing 'nan'\n";
  auto column = [&fields](const std::string& name) {
    return static_cast<int>(std::find(fields.begin(), fields.end(), name) - fields.begin()) + 1;
  };
  for (const ExperimentPlot& p : spec.plots) {
    if (std::find(has_data.begin(), has_data.end(), true) == has_data.end()) break;
    drawn.push_back(p.file);
    gp << fmt::format("set output {}\nset title {}\nset xlabel {}\nset ylabel {}\n{}\n{}\nplot ",
                      gnuplot_quote(p.file + ".png"), gnuplot_quote(p.title), gnuplot_quote(p.xlabel),
                      gnuplot_quote(p.ylabel), p.logx ? "set logscale x" : "unset logscale x",
                      p.logy ? "set logscale y" : "unset logscale y");
    bool first = true;
    for (std::size_t a = 0; a < spec.arms.size(); ++a) {
      if (!has_data[a]) continue;
      gp << fmt::format("{}{} using {}:{} with linespoints pointsize 0.6 title {}", first ? "" : ", \\\n     ",
                        gnuplot_quote("curves/" + spec.arms[a].name + ".tsv"), column(p.x), column(p.y),
                        gnuplot_quote(spec.arms[a].label));
      first = false;
    }
    gp << "\n";
  }
  write_file_atomically(out / "plots.gp", gp.str());
  if (drawn.empty()) return drawn;
  // gnuplot runs in the report's directory, so the script's relative paths work there too. It runs
  // even after an interrupt: the report of what finished is what an interrupt should leave.
  ChildRun plot{{"-e", fmt::format("cd {}", gnuplot_quote(fs::absolute(out).string())), fs::absolute(out / "plots.gp").string()},
                out / "gnuplot.log"};
  const auto outcome = run_children(find_gnuplot(), {plot}, ChildRunOptions{1, {}, {}});
  if (outcome.front().exit_code != 0)
    throw Error(fmt::format("gnuplot failed on {} (see {})", (out / "plots.gp").string(), (out / "gnuplot.log").string()));
  return drawn;
}

std::string now_text() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M UTC", &tm);
  return buffer;
}

std::string machine_text() {
  char host[256] = "unknown";
  gethostname(host, sizeof host - 1);
  return fmt::format("{} logical CPUs ({})", sysconf(_SC_NPROCESSORS_ONLN), host);
}

std::string report_header(const ExperimentSpec& spec, const ReproduceOptions& o, double seconds) {
  std::string md = fmt::format("# {}\n\n{}\n\n", spec.title, spec.source);
  md += fmt::format("- command: `{}`\n- scale: {}\n- finished: {}, {:.0f} s on {}\n- experiment file: `{}`\n\n",
                    o.command, o.full ? "full (the paper's)" : "default (reduced; `--full` runs the paper's)",
                    now_text(), seconds, machine_text(), spec.path.string());
  md += "## What was run\n\n";
  if (!spec.what.empty()) md += spec.what + "\n\n";
  md += fmt::format("Base config `{}` with {}{}.\n\n", spec.config.string(), markdown_code_list(spec.overrides),
                    o.full ? " and " + markdown_code_list(spec.full_overrides) : std::string());
  md += "| arm | overrides |\n|---|---|\n";
  for (const ExperimentArm& arm : spec.arms) {
    std::vector<std::string> arm_only = arm.overrides;
    if (o.full) arm_only.insert(arm_only.end(), arm.full_overrides.begin(), arm.full_overrides.end());
    md += fmt::format("| {} | {} |\n", arm.label, markdown_code_list(arm_only));
  }
  return md + "\n";
}

std::string report_footer(const ExperimentSpec& spec) {
  std::string md;
  if (!spec.published.empty()) md += "## Published\n\n" + spec.published + "\n\n";
  if (!spec.differences.empty()) md += "## Differences from the paper's setting\n\n" + spec.differences + "\n\n";
  return md;
}

bool reproduce_runs(const fs::path& executable, const ExperimentSpec& spec, const fs::path& out,
                    const ReproduceOptions& o) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const std::vector<std::int64_t>& seeds = o.full ? spec.full_seeds : spec.seeds;
  std::vector<ChildRun> runs;
  std::vector<std::pair<std::size_t, std::int64_t>> which;  // (arm, seed) of each run
  for (std::size_t a = 0; a < spec.arms.size(); ++a)
    for (std::int64_t seed : seeds) {
      const fs::path dir = out / "runs" / spec.arms[a].name / fmt::format("seed-{}", seed);
      fs::create_directories(dir);
      std::vector<std::string> args{"run", spec.config.string()};
      const auto overrides = spec.arm_overrides(spec.arms[a], o.full);
      args.insert(args.end(), overrides.begin(), overrides.end());
      for (const std::string& key : spec.seed_keys) args.push_back(fmt::format("{}={}", key, seed));
      args.insert(args.end(), {"--out", dir.string()});
      runs.push_back(ChildRun{args, dir / "log.txt"});
      which.emplace_back(a, seed);
    }
  ChildRunOptions child;
  child.parallel = o.parallel;
  child.stop_requested = o.stop_requested;
  std::size_t done = 0;
  child.on_exit = [&](std::size_t i, const ChildOutcome& c) {
    if (o.progress)
      o.progress(fmt::format("[{}/{}] {} seed {}: {} in {:.1f} s", ++done, runs.size(), spec.arms[which[i].first].label,
                             which[i].second, c.exit_code == 0 ? "done" : fmt::format("exit {}", c.exit_code), c.seconds));
  };
  const auto outcomes = run_children(executable, runs, child);

  std::vector<ArmResult> arms(spec.arms.size());
  for (std::size_t i = 0; i < runs.size(); ++i) {
    ArmResult& arm = arms[which[i].first];
    const fs::path dir = runs[i].log.parent_path();
    if (!outcomes[i].started) {
      arm.failures.push_back(fmt::format("seed {}: not run (interrupted)", which[i].second));
      continue;
    }
    RunRecord record = read_run(dir);
    if (outcomes[i].exit_code == 0 && record.status() == "completed") {
      ++arm.completed;
      arm.examples_per_epoch.push_back(epoch_examples(spec, dir));
      arm.runs.push_back(std::move(record));
    } else {
      std::string message = record.error();
      if (record.status() == "interrupted")
        message = fmt::format("stopped at iteration {}; `bilevel run --resume {}` continues it",
                              record.summary.value("iterations", std::int64_t{0}), dir.string());
      if (message.empty()) message = last_log_line(runs[i].log);
      arm.failures.push_back(fmt::format("seed {}: {} (exit {}): {}", which[i].second, record.status(),
                                         outcomes[i].exit_code, message));
    }
  }
  const std::vector<std::string> drawn = write_plots(spec, arms, out);

  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::string md = report_header(spec, o, seconds);
  md += fmt::format("## Results\n\nFinal checkpoint of each arm{}.\n\n",
                    seeds.size() > 1 ? fmt::format(", mean ± standard deviation over {} seeds ({})", seeds.size(),
                                                   fmt::join(seeds, ", "))
                                     : fmt::format(" (seed {})", seeds.front()));
  md += "| arm | runs |";
  for (const std::string& m : spec.table_metrics) md += " " + m + " |";
  md += "\n|---|---|" + std::string() ;
  for (std::size_t i = 0; i < spec.table_metrics.size(); ++i) md += "---|";
  md += "\n";
  for (std::size_t a = 0; a < arms.size(); ++a) {
    md += fmt::format("| {} | {}/{} |", spec.arms[a].label, arms[a].completed, seeds.size());
    for (const std::string& m : spec.table_metrics) {
      std::vector<double> values;
      for (std::size_t k = 0; k < arms[a].runs.size(); ++k)
        values.push_back(field(arms[a].runs[k].checkpoints.back(), m, arms[a].examples_per_epoch[k]).value_or(kNaN));
      md += fmt::format(" {} |", cell(stats(values), arms[a].completed));
    }
    md += "\n";
  }
  if (!spec.at_iterations.empty()) {
    md += fmt::format("\n{} at upper-level iteration k:\n\n| arm |", spec.at_metric);
    for (std::int64_t k : spec.at_iterations) md += fmt::format(" k = {} |", k);
    md += "\n|---|";
    for (std::size_t i = 0; i < spec.at_iterations.size(); ++i) md += "---|";
    md += "\n";
    for (std::size_t a = 0; a < arms.size(); ++a) {
      md += "| " + spec.arms[a].label + " |";
      for (std::int64_t k : spec.at_iterations) {
        std::vector<double> values;
        for (std::size_t r = 0; r < arms[a].runs.size(); ++r)
          for (const auto& c : arms[a].runs[r].checkpoints)
            if (field(c, "iteration") == static_cast<double>(k)) values.push_back(field(c, spec.at_metric).value_or(kNaN));
        md += fmt::format(" {} |", cell(stats(values), static_cast<int>(values.size())));
      }
      md += "\n";
    }
  }
  md += "\n";
  for (const ExperimentPlot& p : spec.plots)
    if (std::find(drawn.begin(), drawn.end(), p.file) != drawn.end()) md += fmt::format("![{}]({}.png)\n\n", p.title, p.file);
  if (drawn.size() < spec.plots.size()) md += "No plots: no run completed.\n\n";
  bool all_completed = true;
  for (std::size_t a = 0; a < arms.size(); ++a)
    for (const std::string& f : arms[a].failures) {
      if (all_completed) md += "### Runs that did not complete\n\n";
      all_completed = false;
      md += fmt::format("- {} {}\n", spec.arms[a].label, f);
    }
  if (!all_completed) md += "\n";
  md += report_footer(spec);
  md += "## Files\n\n`runs/<arm>/seed-<s>/`: each run's `config.toml` (rerun it with `bilevel run`), `metrics.jsonl`, "
        "`summary.json` and `log.txt`";
  if (!spec.plots.empty()) md += "; `curves/<arm>.tsv`: the plotted values (mean over seeds); `plots.gp`: the plots' gnuplot script";
  md += ".\n";
  write_file_atomically(out / "report.md", md);
  return all_completed;
}

bool reproduce_searches(const fs::path& executable, const ExperimentSpec& spec, const fs::path& out,
                        const ReproduceOptions& o) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const ExperimentSearch& x = *spec.search;
  std::vector<SearchResult> results;
  for (const ExperimentArm& arm : spec.arms) {
    SearchOptions so;
    so.draws = o.full ? x.full_draws : x.draws;
    so.budget = o.full ? x.full_budget : x.budget;
    so.parallel = o.parallel;
    so.metric = x.metric;
    so.minimize = x.minimize;
    so.overrides = spec.arm_overrides(arm, o.full);
    so.stop_requested = o.stop_requested;
    if (o.progress) so.progress = [&](const std::string& line) { o.progress(arm.label + ": " + line); };
    results.push_back(run_search(executable, spec.config, arm.search_space, so, out / "runs" / arm.name));
    if (o.stop_requested && o.stop_requested()) break;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::string md = report_header(spec, o, seconds);
  const int draws = o.full ? x.full_draws : x.draws;
  const std::int64_t budget = o.full ? x.full_budget : x.budget;
  md += fmt::format("## Results\n\nEach arm tuned by random search: {} draws, each run under the same budget of {} "
                    "samples; the best draw is the one with the {} final {}. \"top {}\" is the mean ± standard "
                    "deviation over the {} best draws.\n\n",
                    draws, budget, x.minimize ? "lowest" : "highest", x.metric, x.top, x.top);
  md += fmt::format("| arm | completed / failed | best {} |", x.metric);
  for (const std::string& r : x.report) md += fmt::format(" {} (best) | {} (top {}) |", r, r, x.top);
  md += "\n|---|---|---|";
  for (std::size_t i = 0; i < x.report.size(); ++i) md += "---|---|";
  md += "\n";
  bool all_completed = results.size() == spec.arms.size();
  for (std::size_t a = 0; a < results.size(); ++a) {
    const SearchResult& r = results[a];
    int completed = 0, failed = 0;
    for (const SearchOutcome& d : r.outcomes) {
      completed += d.ranked();
      failed += d.status == "failed";
      if (d.status == "interrupted" || d.status == "not run" || d.status == "error") all_completed = false;
    }
    const bool has_best = !r.outcomes.empty() && r.outcomes.front().ranked();
    md += fmt::format("| {} | {} / {} | {} |", spec.arms[a].label, completed, failed,
                      has_best ? fmt::format("{:.4g}", r.outcomes.front().metric) : "–");
    for (const std::string& name : x.report) {
      std::vector<double> top;
      for (const SearchOutcome& d : r.outcomes)
        if (d.ranked() && static_cast<int>(top.size()) < x.top) top.push_back(field(d.final_checkpoint, name).value_or(kNaN));
      const std::string best = has_best ? fmt::format("{:.4g}", field(r.outcomes.front().final_checkpoint, name).value_or(kNaN)) : "–";
      md += fmt::format(" {} | {} |", best, cell(stats(top), 2));
    }
    md += "\n";
  }
  md += "\nFailed draws diverged or produced NaN (a step too large for the draw's other options); they are part of "
        "what a method's sensitivity costs. Each arm's `runs/<arm>/search.md` ranks all its draws and "
        "`runs/<arm>/best.json` gives the command that repeats the best.\n\n";
  md += report_footer(spec);
  md += "## Files\n\n`runs/<arm>/`: the arm's search: `draws/NNN/` (each run's files and log), `search.csv`, "
        "`search.md`, `best.json`.\n";
  write_file_atomically(out / "report.md", md);
  return all_completed;
}

}  // namespace

fs::path find_gnuplot() {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  std::size_t begin = 0;
  while (begin <= dirs.size()) {
    const std::size_t end = std::min(dirs.find(':', begin), dirs.size());
    const fs::path candidate = fs::path(dirs.substr(begin, end - begin)) / "gnuplot";
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    begin = end + 1;
  }
  throw Error("gnuplot is not installed (the report's plots need it): run scripts/setup.sh, or apt-get install gnuplot-nox");
}

bool reproduce(const fs::path& executable, const ExperimentSpec& spec, const fs::path& out, const ReproduceOptions& o) {
  if (!spec.plots.empty()) find_gnuplot();  // fail before the runs, not after
  fs::create_directories(out);
  return spec.search ? reproduce_searches(executable, spec, out, o) : reproduce_runs(executable, spec, out, o);
}

}  // namespace bilevel
