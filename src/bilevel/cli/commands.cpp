// The subcommands: each loads its config and hands it to the problem commands.
#include <ctime>
#include <filesystem>

#include <fmt/format.h>

#include "bilevel/cli/commands.hpp"
#include "bilevel/cli/config.hpp"
#include "bilevel/cli/problem_commands.hpp"
#include "bilevel/data/catalog.hpp"
#include "bilevel/methods/presets.hpp"

namespace bilevel {

std::string local_timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  return stamp;
}

namespace {

std::string default_out_dir(const std::string& config_path) {
  namespace fs = std::filesystem;
  return (fs::path("runs") / (fs::path(config_path).stem().string() + "-" + local_timestamp())).string();
}

}  // namespace

int run_command(const std::string& config_path, const std::vector<std::string>& overrides, std::string out_dir,
                std::ostream& out, const std::string& trace_path) {
  Config c = Config::load(config_path, overrides);
  if (out_dir.empty()) out_dir = default_out_dir(config_path);
  return execute_command(c, CommandRequest{CommandRequest::Kind::kRun, out_dir, &out, false, trace_path});
}

int resume_command(const std::string& dir, std::ostream& out) {
  namespace fs = std::filesystem;
  const fs::path config = fs::path(dir) / "config.toml";
  if (!fs::exists(config)) throw ConfigError(fmt::format("cannot resume: {} is not a run directory (no config.toml)", dir));
  Config c = Config::load(config.string());
  return execute_command(c, CommandRequest{CommandRequest::Kind::kRun, dir, &out, true, {}});
}

int hypergrad_command(const std::string& config_path, const std::vector<std::string>& overrides, std::ostream& out,
                      const std::string& trace_path) {
  Config c = Config::load(config_path, overrides);
  return execute_command(c, CommandRequest{CommandRequest::Kind::kHypergrad, "", &out, false, trace_path});
}

int list_command(std::ostream& out, bool markdown) {
  if (markdown) {
    out << presets_markdown_table();
    return 0;
  }
  out << "problems (problem.name; keys in docs/problems.md):\n";
  for (const ProblemEntry& p : problem_entries()) out << fmt::format("  {:<21} {}\n", p.name, p.description);
  out << "methods (method = ...; docs/methods.md):\n"
         "  custom            the estimator's own defaults: deterministic AID, fixed-point LS, t = k = 100\n";
  for (const MethodPreset& p : method_presets())
    out << fmt::format("  {:<17} {}\n  {:<17} [{}]\n", p.name, p.description, "", p.citation);
  out << "linear-system solvers (estimator.ls.method):\n"
         "  fixed_point       v <- (1 - eta) v + eta (d_w Phi^T v + g), fresh minibatch per step (SID)\n"
         "  cg                conjugate gradient, symmetric d_w Phi only\n"
         "  neumann           truncated Neumann series (stocBiO, BSA)\n"
         "  reverse           ITD: reverse mode through the lower-level trajectory\n"
         "datasets:\n";
  for (const DatasetInfo& d : known_datasets())
    out << fmt::format("  {:<17} {}\n  {:<17} splits: {}\n", d.name, d.description, "", d.splits);
  out << "  libsvm            your own LIBSVM file (problem.data_path, problem.num_features; gzip or plain)\n"
         "  csv               your own CSV file (problem.data_path, problem.label_column; gzip or plain)\n";
  return 0;
}

}  // namespace bilevel
