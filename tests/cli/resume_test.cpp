// bilevel run --resume: runs killed at random moments (SIGINT: a clean stop; SIGKILL: no warning at all)
// and resumed until they complete give the uninterrupted run's metrics and final lambda, bit for bit.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "run_executable.hpp"

namespace bilevel {
namespace resume_test {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

pid_t start(const std::vector<std::string>& args) {
  const pid_t pid = fork();
  if (pid == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    std::vector<char*> argv{const_cast<char*>(BILEVEL_EXE)};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(BILEVEL_EXE, argv.data());
    _exit(127);
  }
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

// Runs `args` once uninterrupted, then `trials` times killed at a random moment of its duration and
// resumed (killed again, sometimes, while resuming) until it completes; each must equal the first.
void expect_kills_and_resumes_match(const std::vector<std::string>& args, int trials, const std::string& name) {
  const fs::path reference = fs::temp_directory_path() / ("bilevel-resume-" + std::to_string(getpid()) + "-" + name + "-ref");
  fs::remove_all(reference);
  std::vector<std::string> run = args;
  run.insert(run.end(), {"--out", reference.string()});
  const auto t0 = Clock::now();
  ASSERT_EQ(wait_for(start(run)), 0);
  const double duration = std::chrono::duration<double>(Clock::now() - t0).count();
  const testing::RunOutcome expected = testing::read_outcome(reference);
  ASSERT_GT(expected.checkpoints.size(), 2u);
  EXPECT_FALSE(fs::exists(reference / "state.bin")) << "a completed run keeps no state";

  std::mt19937 random(12345);  // fixed: the same moments on every test run
  std::uniform_real_distribution<double> moment(0.0, duration);
  for (int trial = 0; trial < trials; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    const fs::path dir = fs::temp_directory_path() / ("bilevel-resume-" + std::to_string(getpid()) + "-" + name);
    fs::remove_all(dir);
    run = args;
    run.insert(run.end(), {"--out", dir.string()});
    int kills = 0, code = -1;
    for (int attempt = 0; attempt < 10 && code != 0; ++attempt) {
      // Without a state (killed before the first one was written) the run starts again from scratch.
      const bool resumable = fs::exists(dir / "state.bin");
      const pid_t pid = start(resumable ? std::vector<std::string>{"run", "--resume", dir.string()} : run);
      if (kills < 2) {  // at most two kills per trial, the second one while resuming
        std::this_thread::sleep_for(std::chrono::duration<double>(moment(random)));
        kill(pid, (trial + kills) % 2 ? SIGKILL : SIGINT);
        ++kills;
      }
      code = wait_for(pid);
      // A SIGINT that lands before the run has started (config and data loading) ends the process by
      // the signal's default action, before anything of the run is written: also a valid outcome.
      EXPECT_TRUE(code == 0 || code == 130 || code == -SIGKILL || code == -SIGINT) << "exit " << code;
    }
    ASSERT_EQ(code, 0);
    const testing::RunOutcome got = testing::read_outcome(dir);
    EXPECT_EQ(got.checkpoints, expected.checkpoints);
    EXPECT_EQ(got.lambda, expected.lambda);
    for (const auto& entry : fs::directory_iterator(dir))
      EXPECT_NE(entry.path().extension(), ".tmp") << entry.path();
    fs::remove_all(dir);
  }
  fs::remove_all(reference);
}

using Resume = testing::FixtureDigits;

// Under the sanitizers (./dev harden) a run is about 40 times slower: fewer and shorter runs there,
// which still cover every path of saving and resuming.
#ifdef BILEVEL_SANITIZED
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

TEST_F(Resume, AStochasticRunKilledAtRandomMomentsResumesToTheSameResult) {
  // stocBiO on logistic-ho (fixture digits): LL warm start, minibatches drawn without replacement (the
  // samplers' permutations carry over), the evaluator's warm-started accurate solves.
  expect_kills_and_resumes_match({"run", std::string(BILEVEL_SOURCE_DIR) + "/examples/logistic-ho.toml",
                                  "problem.dataset=mnist-digits", "problem.train_size=12", "problem.validation_size=10",
                                  "problem.test_size=7", "precision=double", "method=stocbio", "estimator.batch_size=4",
                                  "ul.step=100", kSanitized ? "ul.max_iterations=200" : "ul.max_iterations=1000",
                                  kSanitized ? "ul.eval_every=20" : "ul.eval_every=100"},
                                 kSanitized ? 2 : 6, "logistic-ho");
}

TEST_F(Resume, TheWarmStartStoreOfASeparableRunIsResumedToo) {
  // Equilibrium on the fixture digits: one stored z per example, minibatches of 4 examples.
  expect_kills_and_resumes_match({"run", std::string(BILEVEL_SOURCE_DIR) + "/examples/equilibrium.toml",
                                  "problem.train_size=16", "problem.validation_size=7", "problem.test_size=6",
                                  "problem.hidden=20", "precision=double", "estimator.outer_batch_size=4",
                                  kSanitized ? "ul.max_iterations=150" : "ul.max_iterations=600",
                                  kSanitized ? "ul.eval_every=25" : "ul.eval_every=50"},
                                 kSanitized ? 2 : 4, "equilibrium");
}

TEST_F(Resume, BadResumesAreClearErrors) {
  const fs::path dir = fs::temp_directory_path() / ("bilevel-resume-bad-" + std::to_string(getpid()));
  fs::remove_all(dir);
  const std::string config = std::string(BILEVEL_SOURCE_DIR) + "/examples/quadratic-method.toml";
  ASSERT_EQ(testing::run_bilevel("run " + config + " method=stocbio ul.max_iterations=20 --out " + dir.string()).status, 0);
  auto r = testing::run_bilevel("run --resume " + dir.string());
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("cannot resume: " + (dir / "state.bin").string() + " does not exist"), std::string::npos) << r.out;
  r = testing::run_bilevel("run --resume " + (dir / "nowhere").string());
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("is not a run directory"), std::string::npos) << r.out;

  // An interrupted run whose config was edited, or whose state is cut short, is refused.
  const pid_t pid = start({"run", config, "method=stocbio", "ul.max_iterations=100000000", "ul.eval_every=1000", "--out", dir.string()});
  while (!fs::exists(dir / "state.bin")) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  kill(pid, SIGINT);
  ASSERT_EQ(wait_for(pid), 130);
  {  // change a value (a comment alone would not change the run)
    std::ifstream in(dir / "config.toml");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto at = text.find("\nseed = 0\n");
    ASSERT_NE(at, std::string::npos) << text;
    text.replace(at, 10, "\nseed = 7\n");
    std::ofstream(dir / "config.toml") << text;
  }
  r = testing::run_bilevel("run --resume " + dir.string());
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("the config differs from the one"), std::string::npos) << r.out;
  fs::resize_file(dir / "state.bin", fs::file_size(dir / "state.bin") / 2);
  r = testing::run_bilevel("run --resume " + dir.string());
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("state.bin: truncated"), std::string::npos) << r.out;
  r = testing::run_bilevel("run " + config + " --resume " + dir.string());
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("excludes"), std::string::npos) << r.out;
  fs::remove_all(dir);
}

}  // namespace resume_test
}  // namespace bilevel
