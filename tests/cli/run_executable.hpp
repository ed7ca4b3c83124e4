#pragma once
// Runs the built bilevel executable (BILEVEL_EXE) with arguments; returns its exit code and output.
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

}  // namespace bilevel::testing
