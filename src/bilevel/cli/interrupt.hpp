#pragma once
// SIGINT and SIGTERM during `bilevel run`: the first one asks the outer loop to stop after the current
// upper-level iteration, so the run ends as it would at its last iteration (final checkpoint, summary
// with status "interrupted") and the process exits with 128 + the signal's number; a second one ends
// the process at once (everything written so far stays: files are written atomically or line by line).
#include <csignal>

#include "bilevel/methods/callbacks.hpp"

namespace bilevel {

// Installs the handlers for its lifetime (one at a time) and restores the previous ones after.
class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

  // The signal received (SIGINT, SIGTERM), or 0.
  int signal() const;

 private:
  struct sigaction previous_int_ {}, previous_term_ {};
};

// Stops the outer loop once the guard has seen a signal.
template <class S>
class StopOnInterrupt final : public Callback<S> {
 public:
  explicit StopOnInterrupt(const InterruptGuard& guard) : guard_(guard) {}
  bool on_iteration(std::int64_t, const Vector<S>&, const OracleCounts&) override { return guard_.signal() != 0; }

 private:
  const InterruptGuard& guard_;
};

}  // namespace bilevel
