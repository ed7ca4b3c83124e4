#pragma once
// Runs the built bilevel executable (BILEVEL_EXE) with arguments; returns its exit code and output.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <memory>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace bilevel::testing {

struct CommandResult {
  int status;
  std::string out;  // standard output and standard error
};

inline CommandResult run_bilevel(const std::string& args) {
  const std::string cmd = std::string(BILEVEL_EXE) + " " + args + " 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  std::string out;
  std::array<char, 4096> buf{};
  while (fgets(buf.data(), buf.size(), pipe.get())) out += buf.data();
  const int status = pclose(pipe.release());
  return {WEXITSTATUS(status), out};
}

// `bilevel run ARGS --out <fresh scratch folder>`: the result, summary.json and the last line of
// metrics.jsonl (null when absent); the folder is removed afterwards.
struct RunOutput {
  CommandResult result;
  nlohmann::json summary, last_checkpoint;
};
inline RunOutput run_and_read(const std::string& args) {
  namespace fs = std::filesystem;
  static int counter = 0;
  const fs::path dir = fs::temp_directory_path() / ("bilevel-run-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
  fs::remove_all(dir);
  RunOutput o{run_bilevel("run " + args + " --out " + dir.string()), nullptr, nullptr};
  if (std::ifstream in(dir / "summary.json"); in) o.summary = nlohmann::json::parse(in);
  std::ifstream metrics(dir / "metrics.jsonl");
  for (std::string line; std::getline(metrics, line);) o.last_checkpoint = nlohmann::json::parse(line);
  fs::remove_all(dir);
  return o;
}

// What two runs that must agree are compared by: metrics.jsonl without the timings (which differ
// between any two runs), and the final lambda of summary.json.
struct RunOutcome {
  std::vector<nlohmann::json> checkpoints;
  nlohmann::json lambda;
};
inline RunOutcome read_outcome(const std::filesystem::path& dir) {
  RunOutcome o;
  std::ifstream metrics(dir / "metrics.jsonl");
  for (std::string line; std::getline(metrics, line);) {
    auto j = nlohmann::json::parse(line);
    j.erase("seconds");
    o.checkpoints.push_back(std::move(j));
  }
  std::ifstream summary(dir / "summary.json");
  if (summary) o.lambda = nlohmann::json::parse(summary)["lambda"];
  return o;
}

// Points the mnist-digits dataset at the 29 real digits of tests/data/fixtures/digits.
class FixtureDigits : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("BILEVEL_MNIST_DIGITS_DIR", (std::string(BILEVEL_SOURCE_DIR) + "/tests/data/fixtures/digits").c_str(), 1);
  }
  void TearDown() override { unsetenv("BILEVEL_MNIST_DIGITS_DIR"); }
};

// Points fashion-mnist at a scratch folder whose train and test files are both the 200 real images of
// tests/data/fixtures (links named as the Debian package names them).
class FixtureFashion : public ::testing::Test {
 protected:
  void SetUp() override {
    namespace fs = std::filesystem;
    dir_ = fs::temp_directory_path() / ("bilevel-fashion-" + std::to_string(getpid()));
    fs::create_directories(dir_);
    const fs::path fixtures = fs::path(BILEVEL_SOURCE_DIR) / "tests/data/fixtures";
    for (const char* split : {"train", "t10k"})
      for (const char* kind : {"images-idx3", "labels-idx1"}) {
        const fs::path link = dir_ / (std::string(split) + "-" + kind + "-ubyte.gz");
        fs::remove(link);
        fs::create_symlink(fixtures / (std::string("fashion-train-200-") + kind + "-ubyte.gz"), link);
      }
    setenv("BILEVEL_FASHION_MNIST_DIR", dir_.c_str(), 1);
  }
  void TearDown() override {
    unsetenv("BILEVEL_FASHION_MNIST_DIR");
    std::filesystem::remove_all(dir_);
  }

 private:
  std::filesystem::path dir_;
};

}  // namespace bilevel::testing
