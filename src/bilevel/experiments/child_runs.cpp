#include "bilevel/experiments/child_runs.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "bilevel/core/error.hpp"
#include "bilevel/core/parallel.hpp"

extern char** environ;

namespace bilevel {
namespace {

using Clock = std::chrono::steady_clock;

// This process's environment with OMP_NUM_THREADS set to `threads`.
std::vector<std::string> environment_with_threads(int threads) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e)
    if (std::strncmp(*e, "OMP_NUM_THREADS=", 16) != 0) env.emplace_back(*e);
  env.push_back(fmt::format("OMP_NUM_THREADS={}", threads));
  return env;
}

// NULL-terminated pointers into `text`, as posix_spawn takes them.
std::vector<char*> pointers(std::vector<std::string>& text) {
  std::vector<char*> out;
  for (std::string& t : text) out.push_back(t.data());
  out.push_back(nullptr);
  return out;
}

pid_t spawn(const std::filesystem::path& executable, const ChildRun& run, std::vector<std::string>& env_text) {
  std::vector<std::string> argv_text;
  argv_text.push_back(executable.string());
  argv_text.insert(argv_text.end(), run.args.begin(), run.args.end());
  std::vector<char*> argv = pointers(argv_text), env = pointers(env_text);

  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_addopen(&files, STDOUT_FILENO, run.log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&files, STDOUT_FILENO, STDERR_FILENO);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attributes, 0);  // its own process group

  pid_t pid = 0;
  const int error = posix_spawn(&pid, executable.c_str(), &files, &attributes, argv.data(), env.data());
  posix_spawn_file_actions_destroy(&files);
  posix_spawnattr_destroy(&attributes);
  if (error != 0)
    throw Error(fmt::format("cannot start {} (log {}): {}", executable.string(), run.log.string(), std::strerror(error)));
  return pid;
}

}  // namespace

std::filesystem::path this_executable() {
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw Error("cannot find the running executable (/proc/self/exe): " + ec.message());
  return path;
}

std::vector<ChildOutcome> run_children(const std::filesystem::path& executable, const std::vector<ChildRun>& runs,
                                       const ChildRunOptions& options) {
  if (options.parallel < 1) throw InvalidOptions(fmt::format("jobs must be >= 1, got {}", options.parallel));
  std::vector<ChildOutcome> outcomes(runs.size());
  // Each child gets its share of this process's threads, so parallel children do not oversubscribe
  // the cores (bilevel reads OMP_NUM_THREADS when --threads is not given).
  std::vector<std::string> env = environment_with_threads(std::max(1, thread_count() / options.parallel));
  std::map<pid_t, std::pair<std::size_t, Clock::time_point>> running;
  std::size_t next = 0;
  bool stopping = false;
  while (next < runs.size() || !running.empty()) {
    if (!stopping && options.stop_requested && options.stop_requested()) {
      stopping = true;
      for (const auto& [pid, entry] : running) kill(pid, SIGINT);
    }
    while (!stopping && next < runs.size() && running.size() < static_cast<std::size_t>(options.parallel)) {
      const pid_t pid = spawn(executable, runs[next], env);
      outcomes[next].started = true;
      running.emplace(pid, std::make_pair(next, Clock::now()));
      ++next;
    }
    if (stopping && running.empty()) break;
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid == 0 || (pid < 0 && errno == EINTR)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    if (pid < 0) throw Error(fmt::format("waiting for child runs failed: {}", std::strerror(errno)));
    const auto it = running.find(pid);
    if (it == running.end()) continue;  // not one of ours
    const auto [index, start] = it->second;
    running.erase(it);
    ChildOutcome& o = outcomes[index];
    o.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (WIFEXITED(status)) o.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) o.signal = WTERMSIG(status);
    if (options.on_exit) options.on_exit(index, o);
  }
  return outcomes;
}

}  // namespace bilevel
