#pragma once
// A one-line progress bar on standard error, only when it is a terminal.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include <fmt/format.h>

#include "bilevel/methods/callbacks.hpp"

namespace bilevel {

template <class S>
class ProgressBar final : public Callback<S> {
 public:
  explicit ProgressBar(std::int64_t total) : total_(total), enabled_(isatty(STDERR_FILENO) == 1) {}

  void on_checkpoint(const Checkpoint<S>& c) override {
    objective_ = c.evaluation.objective;
    prox_ = c.evaluation.prox_gradient_norm;
  }
  bool on_iteration(std::int64_t s, const Vector<S>&, const OracleCounts& counts) override {
    if (!enabled_) return false;
    const auto now = std::chrono::steady_clock::now();
    if (s < total_ && now - last_ < std::chrono::milliseconds(100)) return false;
    last_ = now;
    const int width = 30;
    const int filled = static_cast<int>(width * s / std::max<std::int64_t>(total_, 1));
    fmt::print(stderr, "\r[{}{}] {}/{}  f {:.4g}  |G| {:.3g}  samples {}", std::string(filled, '='),
               std::string(width - filled, ' '), s, total_, objective_, prox_, counts.samples());
    std::fflush(stderr);
    return false;
  }
  void on_end(const RunSummary<S>&) override {
    if (enabled_) fmt::print(stderr, "\n");
  }

 private:
  std::int64_t total_;
  bool enabled_;
  double objective_ = 0, prox_ = 0;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace bilevel
