#pragma once
// Runs of the bilevel executable as child processes, at most `parallel` at a time. A search or a
// reproduction is many independent runs: each child has its own address space (problem instances
// keep caches that are not thread-safe), its own output directory and its own log, and a run that
// fails or crashes costs only itself. Each child's environment has OMP_NUM_THREADS set to its share
// of this process's threads (at least one).
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace bilevel {

struct ChildRun {
  std::vector<std::string> args;  // after the executable, e.g. {"run", "a.toml", "ul.step=2", "--out", "d"}
  std::filesystem::path log;      // receives the child's stdout and stderr
};

struct ChildOutcome {
  bool started = false;
  int exit_code = -1;  // the child's exit status; -1 when it did not start or was killed by a signal
  int signal = 0;      // the signal that killed it, or 0
  double seconds = 0;  // wall time, start to exit
};

struct ChildRunOptions {
  int parallel = 1;                        // children at a time (>= 1)
  std::function<bool()> stop_requested;    // polled: once true, no new child starts and the running
                                           // ones get SIGINT (they stop after their current iteration)
  std::function<void(std::size_t, const ChildOutcome&)> on_exit;  // called as each child exits
};

// The path of the running executable (/proc/self/exe).
std::filesystem::path this_executable();

// Runs `executable` once per entry of `runs`, in order of start; returns one outcome per entry.
// Children run in their own process group, so a Ctrl-C at the terminal reaches the parent only,
// which forwards it once.
std::vector<ChildOutcome> run_children(const std::filesystem::path& executable, const std::vector<ChildRun>& runs,
                                       const ChildRunOptions& options);

}  // namespace bilevel
