#pragma once
// The body of `bilevel run` for one built problem, erased (problems/any_problem.hpp): reads the method
// and evaluation keys, runs the outer loop and writes config.toml, metrics.jsonl and summary.json into
// the output directory.
#include <filesystem>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bilevel/cli/config.hpp"
#include "bilevel/core/files.hpp"
#include "bilevel/cli/interrupt.hpp"
#include "bilevel/cli/json_output.hpp"
#include "bilevel/cli/options_config.hpp"
#include "bilevel/cli/problem_config.hpp"
#include "bilevel/cli/progress.hpp"
#include "bilevel/cli/sample_trace_file.hpp"
#include "bilevel/core/archive.hpp"
#include "bilevel/methods/outer_loop.hpp"

namespace bilevel {
namespace run_detail {

// Writes every checkpoint to metrics.jsonl as it happens (appending when a run resumes).
template <class S>
class MetricsWriter final : public Callback<S> {
 public:
  MetricsWriter(const std::filesystem::path& path, bool append) : log_(path, append) {}
  void on_checkpoint(const Checkpoint<S>& c) override { log_.write(to_json(c).dump()); }

 private:
  LineLog log_;
};

// state.bin: the resolved config it belongs to, the iteration of the last checkpoint (line of
// metrics.jsonl) it accounts for, and the outer loop's state (OuterLoop::on_state).
struct SavedState {
  std::string config;
  std::int64_t metrics_iteration = -1;
  std::string loop;
};
// Writes state.bin (atomically) from its parts; the loop's state, the bulk of it (a warm-start store
// holds a vector per example), goes to the file from where its values are, without a copy.
void write_state(const std::filesystem::path& path, const std::string& config, std::int64_t metrics_iteration,
                 const ArchiveWriter& loop);
SavedState decode_state(const std::filesystem::path& path);
// Keeps the complete lines of metrics.jsonl up to iteration `last` (a resumed run rewrites the rest).
void truncate_metrics(const std::filesystem::path& path, std::int64_t last);

template <class S>
nlohmann::ordered_json point_metrics(const Checkpoint<S>& c) {
  nlohmann::ordered_json j = {{"iteration", c.iteration},
                              {"objective", c.evaluation.objective},
                              {"gradient_norm", c.evaluation.gradient_norm},
                              {"prox_gradient_norm", c.evaluation.prox_gradient_norm}};
  for (const auto& [name, value] : c.evaluation.metrics) j[name] = value;
  return j;
}

}  // namespace run_detail

template <class P>
int run_on_problem(const P& problem, Config& c, const std::string& out_dir, std::ostream& out, bool resume = false,
                   const std::string& trace_path = "") {
  namespace fs = std::filesystem;
  using S = typename P::Scalar;
  const auto seed = static_cast<std::uint64_t>(c.get_int("seed", 0));
  const Vector<S> lambda = read_initial_lambda(c, problem);
  const MethodOptions method = read_method_options(c, EngineFor<P>::ll_population(problem), EngineFor<P>::ul_population(problem));
  const EstimatorOptions& estimator = method.estimator;
  const UpperLevelOptions& ul = method.ul;
  const EvaluationOptions evaluation = read_evaluation_options(c);
  c.finish();

  try {  // the estimator's options against this problem, named as the config names them
    estimator.validate(EngineFor<P>::ll_population(problem), EngineFor<P>::ul_population(problem),
                       problem.jacobian_w_symmetric());
  } catch (const InvalidOptions& e) {
    throw ConfigError(fmt::format("{}: estimator.{}", c.source(), e.what()));
  }
  std::optional<OuterLoop<P>> loop;
  try {
    loop.emplace(problem, estimator, ul, seed, evaluation);
  } catch (const InvalidOptions& e) {
    throw ConfigError(fmt::format("{}: {}", c.source(), e.what()));
  }

  // The resolved config goes first, so even a run killed at once says what it was.
  const fs::path dir(out_dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(fmt::format("cannot create the output directory {}: {}", dir.string(), ec.message()));
  std::ostringstream resolved;
  resolved << c.resolved() << '\n';
  const fs::path state_path = dir / "state.bin";
  std::optional<run_detail::SavedState> saved;
  if (resume) {
    saved = run_detail::decode_state(state_path);
    if (saved->config != resolved.str())
      throw ConfigError(fmt::format("{}: the config differs from the one {} was saved with; a resumed run must "
                                    "keep its config (start a new run to change it)", c.source(), state_path.string()));
    run_detail::truncate_metrics(dir / "metrics.jsonl", saved->metrics_iteration);
  } else {
    write_file_atomically(dir / "config.toml", resolved.str());
    fs::remove(state_path, ec);  // a state from an earlier run in this folder is not this run's
  }

  auto trace = open_sample_trace(trace_path);
  if (trace) loop->trace_samples(&*trace);
  run_detail::MetricsWriter<S> metrics(dir / "metrics.jsonl", resume);
  loop->on_state([&](const ArchiveWriter& state, std::int64_t last_checkpoint) {
    run_detail::write_state(state_path, resolved.str(), last_checkpoint, state);
  });
  ProgressBar<S> progress(ul.max_iterations);
  const InterruptGuard interrupt;
  StopOnInterrupt<S> stop_on_interrupt(interrupt);
  Callback<S>* callbacks[] = {&metrics, &progress, &stop_on_interrupt};

  nlohmann::ordered_json summary;
  summary["problem"] = c.get_string("problem.name", "quadratic");
  summary["method"] = method.method;
  if (const auto gamma = problem.gamma()) summary["gamma"] = *gamma;
  RunSummary<S> result;
  try {
    result = saved ? loop->resume(saved->loop, state_path.string(), callbacks) : loop->run(lambda, callbacks);
  } catch (const NumericalError& e) {
    summary["status"] = "failed";
    summary["error"] = e.what();
    write_file_atomically(dir / "summary.json", summary.dump(2) + "\n");
    throw NumericalError(fmt::format("{} (metrics up to the failure are in {})", e.what(), dir.string()));
  }
  const int signal = interrupt.signal();
  const std::string stop_reason =
      signal == SIGINT ? "signal:SIGINT" : signal == SIGTERM ? "signal:SIGTERM" : result.stop_reason;
  summary["status"] = signal != 0 ? "interrupted" : "completed";
  summary["stop_reason"] = stop_reason;
  summary["iterations"] = result.iterations;
  summary["seconds"] = result.seconds;
  summary["counts"] = to_json(result.counts);
  summary["evaluation_counts"] = to_json(result.last->evaluation_counts);
  // Without a checkpoint at the start (evaluation.at_start = false) the report shows the end only.
  const bool has_start = evaluation.at_start;
  const Checkpoint<S>& first = has_start ? *result.first : *result.last;
  summary["initial"] = has_start ? run_detail::point_metrics(first) : nlohmann::ordered_json(nullptr);
  summary["final"] = run_detail::point_metrics(*result.last);
  summary["lambda"] = to_json(result.lambda);
  if (resume) summary["resumed"] = true;
  write_file_atomically(dir / "summary.json", summary.dump(2) + "\n");
  // The state is kept only while the run can still be continued.
  if (signal == 0) fs::remove(state_path, ec);

  // "start -> end", or the end alone without a checkpoint at the start.
  auto change = [has_start](double start, double end, const char* format) {
    const std::string e = fmt::format(fmt::runtime(format), end);
    return has_start ? fmt::format(fmt::runtime(format), start) + " -> " + e : e;
  };
  out << fmt::format(
      "{} iterations ({}), {:.3f} s\n"
      "  f       {}\n"
      "  ||G||   {}\n"
      "  spent   {} samples (ll {}, ul {}), {} gradients, {} matvecs\n"
      "  wrote   {}/{{config.toml, metrics.jsonl, summary.json}}\n",
      result.iterations, stop_reason, result.seconds,
      change(first.evaluation.objective, result.last->evaluation.objective, "{:.6g}"),
      change(first.evaluation.prox_gradient_norm, result.last->evaluation.prox_gradient_norm, "{:.4g}"),
      result.counts.samples(), result.counts.samples_ll, result.counts.samples_ul, result.counts.gradients(),
      result.counts.matvecs(), dir.string());
  // The problem's own metrics (loss and accuracy per split), start -> end.
  const auto& before = first.evaluation.metrics;
  const auto& after = result.last->evaluation.metrics;
  for (std::size_t i = 0; i < before.size() && i < after.size(); ++i)
    out << fmt::format("  {:<20} {}\n", before[i].first, change(before[i].second, after[i].second, "{:.4g}"));
  if (signal != 0) {
    out << fmt::format("  interrupted by {} after iteration {}: the files above hold the run up to there\n",
                       signal == SIGINT ? "SIGINT" : "SIGTERM", result.iterations);
    return 128 + signal;
  }
  return 0;
}

}  // namespace bilevel
