// bilevel search and bilevel reproduce end to end: the real executable, child runs and all.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "run_executable.hpp"

namespace bilevel {
namespace study_commands_test {

namespace fs = std::filesystem;
using testing::run_bilevel;

fs::path scratch(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("bilevel-study-" + std::to_string(getpid()) + "-" + name);
  fs::remove_all(dir);
  return dir;
}

std::string source(const std::string& relative) { return (fs::path(BILEVEL_SOURCE_DIR) / relative).string(); }

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::vector<std::string>> read_csv(const fs::path& path) {
  std::vector<std::vector<std::string>> rows;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> row;
    std::stringstream fields(line);
    for (std::string f; std::getline(fields, f, ',');) row.push_back(f);
    rows.push_back(row);
  }
  return rows;
}

TEST(SearchCommand, RanksEveryDrawUnderTheBudgetAndRepeatsForTheSameSeed) {
  const fs::path a = scratch("search-a"), b = scratch("search-b");
  const std::string args = "search " + source("examples/quadratic-search.toml") + " --draws 6 --budget 20000 --jobs 2 --out ";
  const auto ra = run_bilevel(args + a.string());
  ASSERT_EQ(ra.status, 0) << ra.out;
  const auto rows = read_csv(a / "search.csv");
  ASSERT_EQ(rows.size(), 7u);  // header + 6 draws
  EXPECT_EQ(rows[0][3], "objective");
  // Ranked: completed draws first, by increasing objective; every completed one within the budget.
  double previous = -1;
  int completed = 0;
  for (std::size_t i = 1; i < rows.size(); ++i) {
    if (rows[i][2] != "completed") continue;
    ++completed;
    EXPECT_EQ(rows[i][0], std::to_string(completed));
    const double f = std::stod(rows[i][3]);
    EXPECT_GE(f, previous);
    previous = f;
    EXPECT_LE(std::stol(rows[i][5]), 20000);
    EXPECT_GT(std::stol(rows[i][5]), 0);
  }
  ASSERT_GT(completed, 0);
  const auto best = nlohmann::json::parse(read_text(a / "best.json"));
  EXPECT_DOUBLE_EQ(best["value"].get<double>(), std::stod(rows[1][3]));
  EXPECT_NE(best["command"].get<std::string>().find("ul.max_samples=20000"), std::string::npos);
  // Each draw is a complete run directory.
  EXPECT_TRUE(fs::exists(a / "draws/000/config.toml"));
  EXPECT_TRUE(fs::exists(a / "base.toml"));
  EXPECT_EQ(read_text(a / "base.toml").find("[search"), std::string::npos);

  // The same seed draws the same settings and gets the same results (the seconds column aside).
  const auto rb = run_bilevel(args + b.string());
  ASSERT_EQ(rb.status, 0) << rb.out;
  auto rows_b = read_csv(b / "search.csv");
  auto without_seconds = [](std::vector<std::vector<std::string>> r) {
    for (auto& row : r) row.erase(row.begin() + 4);
    return r;
  };
  EXPECT_EQ(without_seconds(rows), without_seconds(rows_b));
  fs::remove_all(a);
  fs::remove_all(b);
}

TEST(SearchCommand, BadSearchTablesAreErrors) {
  const fs::path dir = scratch("bad");
  auto r = run_bilevel("search " + source("examples/quadratic-method.toml") + " --out " + dir.string());
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("no [search] table"), std::string::npos) << r.out;
  r = run_bilevel("search " + source("examples/quadratic-search.toml") + " --draws 0 --out " + dir.string());
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("--draws must be >= 1"), std::string::npos) << r.out;
  // A key the runs reject fails every draw: one clear error, not a table of failures.
  r = run_bilevel("search " + source("examples/quadratic-search.toml") + " ul.stepp=1 --draws 2 --out " + dir.string());
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("every run of the search failed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ul.stepp"), std::string::npos) << r.out;
  fs::remove_all(dir);
}

TEST(ReproduceCommand, WritesTheReportTablesPlotsAndRuns) {
  const fs::path out = scratch("reproduce");
  const auto r = run_bilevel("reproduce tiny-quadratic --experiments " + source("tests/experiments/fixtures") +
                             " --jobs 2 --out " + out.string());
  ASSERT_EQ(r.status, 0) << r.out;
  const std::string report = read_text(out / "report.md");
  for (const char* expected : {"# Tiny: BSGM against stocBiO", "| BSGM | 2/2 |", "| stocBiO | 2/2 |",
                               "mean ± standard deviation over 2 seeds", "objective at upper-level iteration k",
                               "![f against samples](objective.png)", "`method=stocbio` `estimator.batch_size=8`"})
    EXPECT_NE(report.find(expected), std::string::npos) << expected << "\n" << report;
  // The plot is a real PNG, drawn from the seed-mean curves (5 checkpoints: 0, 10, ..., 40).
  std::ifstream png(out / "objective.png", std::ios::binary);
  char magic[8] = {};
  png.read(magic, 8);
  EXPECT_EQ(std::string(magic + 1, 3), "PNG");
  std::ifstream curve(out / "curves/bsgm.tsv");
  int lines = 0;
  for (std::string line; std::getline(curve, line);) lines += line[0] != '#';
  EXPECT_EQ(lines, 5);
  for (const char* run : {"runs/bsgm/seed-0", "runs/bsgm/seed-1", "runs/stocbio/seed-0", "runs/stocbio/seed-1"})
    EXPECT_TRUE(fs::exists(out / run / "summary.json")) << run;
  // Seed 1 is a different run from seed 0.
  EXPECT_NE(read_text(out / "runs/bsgm/seed-0/metrics.jsonl"), read_text(out / "runs/bsgm/seed-1/metrics.jsonl"));
  fs::remove_all(out);
}

// Ctrl-C during a reproduction: the running runs stop after their current iteration, the others do not
// start, and the report of what there is gets written, plots included (an arm without data is left out).
TEST(ReproduceCommand, AnInterruptStopsTheRunsAndStillWritesTheReport) {
  const fs::path out = scratch("interrupted");
  const std::string command = std::string(BILEVEL_EXE) + " reproduce long-quadratic --experiments " +
                              source("tests/experiments/fixtures") + " --out " + out.string() + " > " +
                              (out.string() + ".log") + " 2>&1 & pid=$!; " +
                              "while [ ! -s " + (out / "runs/first/seed-0/metrics.jsonl").string() +
                              " ]; do sleep 0.05; done; sleep 0.5; kill -INT $pid; wait $pid";
  const int status = std::system(("bash -c '" + command + "'").c_str());
  EXPECT_EQ(WEXITSTATUS(status), 130);
  const std::string report = read_text(out / "report.md");
  EXPECT_NE(report.find("| first | 0/1 |"), std::string::npos) << report;
  EXPECT_NE(report.find("first seed 0: interrupted (exit 130): stopped at iteration"), std::string::npos) << report;
  EXPECT_NE(report.find("bilevel run --resume " + (out / "runs/first/seed-0").string()), std::string::npos) << report;
  EXPECT_NE(report.find("No plots: no run completed."), std::string::npos) << report;
  EXPECT_NE(report.find("second seed 0: not run (interrupted)"), std::string::npos) << report;
  // The interrupted run kept its files and can be resumed.
  EXPECT_TRUE(fs::exists(out / "runs/first/seed-0/state.bin"));
  const auto summary = nlohmann::json::parse(read_text(out / "runs/first/seed-0/summary.json"));
  EXPECT_EQ(summary["status"], "interrupted");
  fs::remove_all(out);
  fs::remove(out.string() + ".log");
}

TEST(ReproduceCommand, AnUnknownExperimentIsAnErrorListingTheKnownOnes) {
  const auto r = run_bilevel("reproduce nosuch --out " + scratch("unknown").string());
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("no experiment 'nosuch'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("equilibrium"), std::string::npos) << r.out;
  const auto list = run_bilevel("reproduce list");
  EXPECT_EQ(list.status, 0);
  EXPECT_NE(list.out.find("loops-hyperrep"), std::string::npos) << list.out;
}

}  // namespace study_commands_test
}  // namespace bilevel
