// End to end: bilevel run writes its run directory, and the resolved config reproduces the run.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "run_executable.hpp"

namespace bilevel {
namespace run_command_test {

namespace fs = std::filesystem;

int run(const std::string& args, std::string* output = nullptr) {
  const auto r = testing::run_bilevel(args);
  if (output) *output = r.out;
  return r.status;
}

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

const std::string kExample = std::string(BILEVEL_SOURCE_DIR) + "/examples/quadratic-run.toml";
const std::string kSmall = " problem.dim_w=10 problem.dim_lambda=3 ul.max_iterations=40 ul.eval_every=10";

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("bilevel-test-" + name + "-" + std::to_string(getpid()));
  fs::remove_all(dir);
  return dir;
}

// --version names the kernels of the matrix products, and who picked OpenBLAS's slow ones: with
// OPENBLAS_CORETYPE=Prescott (SSE3, which every x86-64 CPU runs) the products stay with Eigen, and
// the environment, not OpenBLAS, is named as the reason.
TEST(Version, NamesTheProductsKernelsAndWhoSelectedThem) {
  const char* before = std::getenv("OPENBLAS_CORETYPE");
  const std::string kept = before ? before : "";
  setenv("OPENBLAS_CORETYPE", "Prescott", 1);
  std::string out;
  const int status = run("--version", &out);
  if (before) setenv("OPENBLAS_CORETYPE", kept.c_str(), 1);
  else unsetenv("OPENBLAS_CORETYPE");
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find("matrix products: Eigen's own kernels"), std::string::npos) << out;
#ifdef BILEVEL_OPENBLAS
  EXPECT_NE(out.find("OPENBLAS_CORETYPE=Prescott in the environment selects OpenBLAS's Prescott kernels"),
            std::string::npos)
      << out;
#endif
}

TEST(RunCommand, WritesResolvedConfigMetricsAndSummary) {
  const fs::path dir = fresh_dir("run");
  std::string out;
  ASSERT_EQ(run("run " + kExample + kSmall + " --out " + dir.string(), &out), 0) << out;
  EXPECT_NE(out.find("40 iterations (max_iterations)"), std::string::npos) << out;
  // One metrics line per checkpoint: iterations 0, 10, 20, 30, 40.
  std::ifstream metrics(dir / "metrics.jsonl");
  std::string line;
  std::vector<nlohmann::json> lines;
  while (std::getline(metrics, line)) lines.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines.back()["iteration"], 40);
  EXPECT_LT(lines.back()["objective"].get<double>(), lines.front()["objective"].get<double>());
  EXPECT_EQ(lines.front()["samples"], 0);
  const auto summary = nlohmann::json::parse(read(dir / "summary.json"));
  EXPECT_EQ(summary["status"], "completed");
  EXPECT_EQ(summary["iterations"], 40);
  EXPECT_EQ(summary["lambda"].size(), 3u);
  EXPECT_EQ(summary["counts"]["samples_ul"], 40 * 16);
  // The resolved config names every value used, defaults included.
  const std::string config = read(dir / "config.toml");
  EXPECT_NE(config.find("max_iterations = 40"), std::string::npos) << config;
  EXPECT_NE(config.find("divergence_ratio"), std::string::npos) << config;
  fs::remove_all(dir);
}

// --trace-samples: one JSON line per minibatch drawn, whose ids add up to the run's counts; refused
// with --resume (a resumed run draws again from its last checkpoint); an unwritable path is named.
TEST(RunCommand, TraceSamplesRecordsEveryMinibatchOfTheRun) {
  const fs::path dir = fresh_dir("trace"), trace = fresh_dir("trace-file");
  std::string out;
  ASSERT_EQ(run("run " + kExample + kSmall + " --out " + dir.string() + " --trace-samples " + trace.string(), &out), 0)
      << out;
  std::ifstream in(trace);
  std::int64_t ll = 0, ul = 0, lines = 0;
  for (std::string line; std::getline(in, line); ++lines) {
    const auto j = nlohmann::json::parse(line);
    const std::string sampler = j["sampler"];
    const std::int64_t n = j.contains("all") ? j["all"].get<std::int64_t>() : static_cast<std::int64_t>(j["ids"].size());
    (sampler == "outer" || sampler == "ls_outer" ? ul : ll) += n;
  }
  const auto summary = nlohmann::json::parse(read(dir / "summary.json"));
  EXPECT_GT(lines, 40);
  EXPECT_EQ(ll, summary["counts"]["samples_ll"].get<std::int64_t>());
  EXPECT_EQ(ul, summary["counts"]["samples_ul"].get<std::int64_t>());

  EXPECT_EQ(run("run --resume " + dir.string() + " --trace-samples " + trace.string(), &out), 1);
  EXPECT_NE(out.find("excludes"), std::string::npos) << out;
  EXPECT_EQ(run("hypergrad " + kExample + " --trace-samples /nonexistent-dir/trace.jsonl", &out), 2);
  EXPECT_NE(out.find("/nonexistent-dir/trace.jsonl"), std::string::npos) << out;
  fs::remove_all(dir);
  fs::remove(trace);
}

TEST(RunCommand, ResolvedConfigReproducesTheRunBitForBit) {
  const fs::path a = fresh_dir("a"), b = fresh_dir("b");
  ASSERT_EQ(run("run " + kExample + kSmall + " --out " + a.string()), 0);
  ASSERT_EQ(run("run " + (a / "config.toml").string() + " --out " + b.string()), 0);
  const auto sa = nlohmann::json::parse(read(a / "summary.json"));
  const auto sb = nlohmann::json::parse(read(b / "summary.json"));
  EXPECT_EQ(sa["lambda"], sb["lambda"]);
  EXPECT_EQ(sa["counts"], sb["counts"]);
  EXPECT_EQ(read(a / "config.toml"), read(b / "config.toml"));
  fs::remove_all(a);
  fs::remove_all(b);
}

TEST(RunCommand, DivergenceKeepsTheMetricsAndWritesAFailedSummary) {
  const fs::path dir = fresh_dir("diverge");
  std::string out;
  EXPECT_EQ(run("run " + kExample + kSmall + " ul.step=1e4 --out " + dir.string(), &out), 3);
  EXPECT_NE(out.find("diverged"), std::string::npos) << out;
  EXPECT_TRUE(fs::exists(dir / "config.toml"));
  EXPECT_FALSE(read(dir / "metrics.jsonl").empty());
  const auto summary = nlohmann::json::parse(read(dir / "summary.json"));
  EXPECT_EQ(summary["status"], "failed");
  fs::remove_all(dir);
}

TEST(RunCommand, BadUpperLevelOptionsNameTheKey) {
  std::string out;
  EXPECT_EQ(run("run " + kExample + " ul.max_iterations=0 --out /tmp/never-written", &out), 2);
  EXPECT_NE(out.find("ul.max_iterations must be >= 1"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists("/tmp/never-written"));
  // Step sizes are named as the config names them (once "ul.step.step").
  for (const char* key : {"ul.step", "estimator.ll.step", "estimator.ls.step"}) {
    out.clear();
    EXPECT_EQ(run("run " + kExample + " " + key + "=0 --out /tmp/never-written", &out), 2);
    EXPECT_NE(out.find(std::string(key) + " must be a finite number > 0, got 0"), std::string::npos) << out;
    EXPECT_EQ(out.find(std::string(key) + ".step"), std::string::npos) << out;
  }
  EXPECT_FALSE(fs::exists("/tmp/never-written"));
}

TEST(ListCommand, NamesTheProblemsAndMethods) {
  std::string out;
  EXPECT_EQ(run("list", &out), 0);
  EXPECT_NE(out.find("quadratic"), std::string::npos);
  EXPECT_NE(out.find("neumann"), std::string::npos);
}

}  // namespace run_command_test
}  // namespace bilevel
