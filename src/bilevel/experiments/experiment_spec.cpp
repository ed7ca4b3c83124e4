#include "bilevel/experiments/experiment_spec.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "bilevel/core/error.hpp"
#include "bilevel/experiments/search.hpp"
#include "bilevel/experiments/spec_table.hpp"

namespace bilevel {


ExperimentSpec ExperimentSpec::load(const std::filesystem::path& path) {
  toml::table root;
  try {
    root = toml::parse_file(path.string());
  } catch (const toml::parse_error& e) {
    throw ConfigError(fmt::format("{}:{}: {}", path.string(), e.source().begin.line, e.description()));
  }
  ExperimentSpec s;
  s.path = path;
  s.name = path.stem().string();
  SpecTable t(root, path.string() + ": ");
  s.title = t.string("title", "", true);
  s.source = t.string("source", "", true);
  s.what = t.string("what", "");
  s.published = t.string("published", "");
  s.differences = t.string("differences", "");
  const std::string config = t.string("config", "", true);
  s.config = std::filesystem::weakly_canonical(path.parent_path() / config);
  if (!std::filesystem::exists(s.config)) t.fail("config", fmt::format("{} does not exist", s.config.string()));
  s.overrides = t.strings("overrides");
  s.full_overrides = t.strings("full_overrides");
  s.seeds = t.integers("seeds", {0});
  s.full_seeds = t.integers("full_seeds", s.seeds);
  s.epoch_examples = t.string("epoch_examples", "");
  if (const auto keys = t.strings("seed_keys"); !keys.empty()) s.seed_keys = keys;

  const toml::array* arms = t.tables("arms");
  if (!arms || arms->empty()) t.fail("arms", "at least one [[arms]] table is required");
  std::set<std::string> names;
  std::vector<const toml::table*> arm_spaces;  // each arm's own `space` (or null), merged below
  for (std::size_t i = 0; i < arms->size(); ++i) {
    const toml::table& a = *(*arms)[i].as_table();
    SpecTable at(a, fmt::format("{}: arms[{}].", path.string(), i));
    ExperimentArm arm;
    arm.name = at.string("name", "", true);
    if (arm.name.empty() || arm.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_.") != std::string::npos)
      at.fail("name", fmt::format("'{}' must be a non-empty directory name of a-z, 0-9, '-', '_', '.'", arm.name));
    if (!names.insert(arm.name).second) at.fail("name", fmt::format("'{}' names two arms", arm.name));
    arm.label = at.string("label", arm.name);
    arm.overrides = at.strings("overrides");
    arm.full_overrides = at.strings("full_overrides");
    arm_spaces.push_back(at.table("space"));
    at.finish();
    s.arms.push_back(std::move(arm));
  }

  if (const toml::array* plots = t.tables("plots")) {
    for (std::size_t i = 0; i < plots->size(); ++i) {
      SpecTable pt(*(*plots)[i].as_table(), fmt::format("{}: plots[{}].", path.string(), i));
      ExperimentPlot p;
      p.file = pt.string("file", "", true);
      p.title = pt.string("title", "");
      p.x = pt.string("x", "", true);
      p.y = pt.string("y", "", true);
      p.xlabel = pt.string("xlabel", p.x);
      p.ylabel = pt.string("ylabel", p.y);
      p.logx = pt.boolean("logx", false);
      p.logy = pt.boolean("logy", false);
      if (p.x == "epochs" && s.epoch_examples.empty())
        pt.fail("x", "\"epochs\" needs the experiment's epoch_examples (the config key of the examples per epoch)");
      pt.finish();
      s.plots.push_back(std::move(p));
    }
  }
  if (const toml::table* table = t.table("table")) {
    SpecTable tt(*table, path.string() + ": table.");
    s.table_metrics = tt.strings("metrics");
    s.at_iterations = tt.integers("at_iterations", {});
    s.at_metric = tt.string("at_metric", "");
    if (!s.at_iterations.empty() && s.at_metric.empty()) tt.fail("at_metric", "is required with at_iterations");
    tt.finish();
  }
  if (const toml::table* search = t.table("search")) {
    SpecTable st(*search, path.string() + ": search.");
    ExperimentSearch x;
    x.draws = static_cast<int>(st.integer("draws", x.draws, 1));
    x.full_draws = static_cast<int>(st.integer("full_draws", x.full_draws, 1));
    x.budget = st.integer("budget", 0, 0);
    x.full_budget = st.integer("full_budget", x.budget, 0);
    x.metric = st.string("metric", "", true);
    x.minimize = read_search_goal(st);
    x.report = st.strings("report");
    x.top = static_cast<int>(st.integer("top", x.top, 1));
    const toml::table* space = st.table("space");
    if (!space) st.fail("space", "is required: the options each draw takes");
    st.finish();
    // Each arm's space is parsed now, not after an hour of runs.
    for (std::size_t i = 0; i < s.arms.size(); ++i) {
      toml::table merged = *space;
      if (arm_spaces[i])
        for (const auto& [key, value] : *arm_spaces[i]) merged.insert_or_assign(key, value);
      s.arms[i].search_space = SearchSpace::parse(merged, fmt::format("{}: arm {} search.space", path.string(), s.arms[i].name));
    }
    s.search = std::move(x);
  } else {
    for (std::size_t i = 0; i < s.arms.size(); ++i)
      if (arm_spaces[i]) t.fail("arms", fmt::format("arm {} has a space but the experiment has no [search]", s.arms[i].name));
  }
  t.finish();
  return s;
}

std::vector<std::string> ExperimentSpec::arm_overrides(const ExperimentArm& arm, bool full) const {
  std::vector<std::string> o = overrides;
  if (full) o.insert(o.end(), full_overrides.begin(), full_overrides.end());
  o.insert(o.end(), arm.overrides.begin(), arm.overrides.end());
  if (full) o.insert(o.end(), arm.full_overrides.begin(), arm.full_overrides.end());
  return o;
}

#ifndef BILEVEL_PROJECT_DIR
#define BILEVEL_PROJECT_DIR "."
#endif

std::filesystem::path default_experiments_dir() { return std::filesystem::path(BILEVEL_PROJECT_DIR) / "experiments"; }

std::vector<std::string> list_experiments(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.path().extension() == ".toml") names.push_back(entry.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::filesystem::path find_experiment(const std::filesystem::path& dir, const std::string& name) {
  const auto path = dir / (name + ".toml");
  if (std::filesystem::exists(path)) return path;
  const auto names = list_experiments(dir);
  throw ConfigError(fmt::format("no experiment '{}' in {}; there are: {}", name, dir.string(),
                                names.empty() ? std::string("none") : fmt::format("{}", fmt::join(names, ", "))));
}

}  // namespace bilevel
