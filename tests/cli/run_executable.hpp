#pragma once
// Runs the built bilevel executable (BILEVEL_EXE) with arguments; returns its exit code and output.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <memory>
#include <string>

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

// Points the mnist-digits dataset at the 29 real digits of tests/data/fixtures/digits.
class FixtureDigits : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("BILEVEL_MNIST_DIGITS_DIR", (std::string(BILEVEL_SOURCE_DIR) + "/tests/data/fixtures/digits").c_str(), 1);
  }
  void TearDown() override { unsetenv("BILEVEL_MNIST_DIGITS_DIR"); }
};

}  // namespace bilevel::testing
