// SIGINT and SIGTERM during `bilevel run`: the run stops after the current iteration, writes its final
// checkpoint and a summary marked "interrupted", and exits with 128 + the signal.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

namespace bilevel {
namespace interrupt_test {

namespace fs = std::filesystem;

// Starts a long quadratic run, waits until its first checkpoint is on disk, sends `sig`, and returns
// the exit code; the run's folder is `dir`.
int interrupt_run(const fs::path& dir, int sig) {
  fs::remove_all(dir);
  const std::string config = std::string(BILEVEL_SOURCE_DIR) + "/examples/quadratic-run.toml";
  const pid_t pid = fork();
  if (pid == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    execl(BILEVEL_EXE, BILEVEL_EXE, "run", config.c_str(), "ul.max_iterations=100000000", "ul.eval_every=0", "--out",
          dir.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!fs::exists(dir / "metrics.jsonl") || fs::file_size(dir / "metrics.jsonl") == 0) {
    if (std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let it take some steps
  kill(pid, sig);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

void expect_clean_interruption(int sig, const char* reason) {
  const fs::path dir = fs::temp_directory_path() / ("bilevel-test-interrupt-" + std::to_string(getpid()));
  EXPECT_EQ(interrupt_run(dir, sig), 128 + sig);
  std::ifstream in(dir / "summary.json");
  ASSERT_TRUE(in) << "no summary.json";
  const auto summary = nlohmann::json::parse(in);
  EXPECT_EQ(summary["status"], "interrupted");
  EXPECT_EQ(summary["stop_reason"], reason);
  const auto iterations = summary["iterations"].get<std::int64_t>();
  EXPECT_GT(iterations, 0);
  EXPECT_LT(iterations, 100000000);
  // The final checkpoint is the last line of metrics.jsonl, at the iteration the summary reports.
  std::ifstream metrics(dir / "metrics.jsonl");
  std::string line, last;
  while (std::getline(metrics, line)) last = line;
  EXPECT_EQ(nlohmann::json::parse(last)["iteration"].get<std::int64_t>(), iterations);
  EXPECT_FALSE(fs::exists(dir / "summary.json.tmp"));
  fs::remove_all(dir);
}

TEST(Interrupt, SigintStopsAfterTheCurrentIterationAndKeepsEverything) {
  expect_clean_interruption(SIGINT, "signal:SIGINT");
}

TEST(Interrupt, SigtermDoesTheSame) { expect_clean_interruption(SIGTERM, "signal:SIGTERM"); }

}  // namespace interrupt_test
}  // namespace bilevel
