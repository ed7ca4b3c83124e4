// bilevel run: the outer loop on a problem, with metrics written as it goes.
#include <chrono>
#include <ctime>
#include <filesystem>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bilevel/cli/commands.hpp"
#include "bilevel/cli/config.hpp"
#include "bilevel/cli/files.hpp"
#include "bilevel/cli/json_output.hpp"
#include "bilevel/cli/options_config.hpp"
#include "bilevel/cli/problem_factory.hpp"
#include "bilevel/cli/progress.hpp"
#include "bilevel/methods/outer_loop.hpp"
#include "bilevel/data/catalog.hpp"
#include "bilevel/methods/presets.hpp"

namespace bilevel {
namespace {

namespace fs = std::filesystem;

// Writes every checkpoint to metrics.jsonl as it happens.
template <class S>
class MetricsWriter final : public Callback<S> {
 public:
  explicit MetricsWriter(const fs::path& path) : log_(path) {}
  void on_checkpoint(const Checkpoint<S>& c) override { log_.write(to_json(c).dump()); }

 private:
  LineLog log_;
};

std::string default_out_dir(const std::string& config_path) {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  return (fs::path("runs") / (fs::path(config_path).stem().string() + "-" + stamp)).string();
}

template <class S>
nlohmann::ordered_json point_metrics(const Checkpoint<S>& c) {
  nlohmann::ordered_json j = {{"iteration", c.iteration},
                              {"objective", c.evaluation.objective},
                              {"gradient_norm", c.evaluation.gradient_norm},
                              {"prox_gradient_norm", c.evaluation.prox_gradient_norm}};
  for (const auto& [name, value] : c.evaluation.metrics) j[name] = value;
  return j;
}

template <class S>
int run(Config& c, const std::string& out_dir, std::ostream& out) {
  const auto seed = static_cast<std::uint64_t>(c.get_int("seed", 0));
  return with_problem<S>(c, [&](const auto& problem) {
    using P = std::decay_t<decltype(problem)>;
    const Vector<S> lambda = read_lambda<S>(c, problem.dim_lambda());
    const MethodOptions method = read_method_options(c, problem.ll_population(), problem.ul_population());
    const EstimatorOptions& estimator = method.estimator;
    const UpperLevelOptions& ul = method.ul;
    EvaluationOptions evaluation;
    evaluation.iterations = static_cast<int>(c.get_int("evaluation.iterations", evaluation.iterations));
    if (evaluation.iterations < 1) c.fail("evaluation.iterations", "must be >= 1");
    evaluation.tolerance = c.get_double("evaluation.tolerance", evaluation.tolerance);
    if (!(evaluation.tolerance >= 0)) c.fail("evaluation.tolerance", "must be >= 0");
    c.finish();

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
    write_file_atomically(dir / "config.toml", resolved.str());

    MetricsWriter<S> metrics(dir / "metrics.jsonl");
    ProgressBar<S> progress(ul.max_iterations);
    Callback<S>* callbacks[] = {&metrics, &progress};

    nlohmann::ordered_json summary;
    summary["problem"] = c.get_string("problem.name", "quadratic");
    summary["method"] = method.method;
    if constexpr (requires { problem.gamma(); }) summary["gamma"] = static_cast<double>(problem.gamma());
    RunSummary<S> result;
    try {
      result = loop->run(lambda, callbacks);
    } catch (const NumericalError& e) {
      summary["status"] = "failed";
      summary["error"] = e.what();
      write_file_atomically(dir / "summary.json", summary.dump(2) + "\n");
      throw NumericalError(fmt::format("{} (metrics up to the failure are in {})", e.what(), dir.string()));
    }
    summary["status"] = "completed";
    summary["stop_reason"] = result.stop_reason;
    summary["iterations"] = result.iterations;
    summary["seconds"] = result.seconds;
    summary["counts"] = to_json(result.counts);
    summary["evaluation_counts"] = to_json(result.last->evaluation_counts);
    const Checkpoint<S>& first = *result.first;
    summary["initial"] = point_metrics(first);
    summary["final"] = point_metrics(*result.last);
    summary["lambda"] = to_json(result.lambda);
    write_file_atomically(dir / "summary.json", summary.dump(2) + "\n");

    out << fmt::format(
        "{} iterations ({}), {:.3f} s\n"
        "  f       {:.6g} -> {:.6g}\n"
        "  ||G||   {:.4g} -> {:.4g}\n"
        "  spent   {} samples (ll {}, ul {}), {} gradients, {} matvecs\n"
        "  wrote   {}/{{config.toml, metrics.jsonl, summary.json}}\n",
        result.iterations, result.stop_reason, result.seconds, first.evaluation.objective,
        result.last->evaluation.objective, first.evaluation.prox_gradient_norm,
        result.last->evaluation.prox_gradient_norm, result.counts.samples(), result.counts.samples_ll,
        result.counts.samples_ul, result.counts.gradients(), result.counts.matvecs(), dir.string());
    // The problem's own metrics (loss and accuracy per split), start -> end.
    const auto& before = first.evaluation.metrics;
    const auto& after = result.last->evaluation.metrics;
    for (std::size_t i = 0; i < before.size() && i < after.size(); ++i)
      out << fmt::format("  {:<20} {:.4g} -> {:.4g}\n", before[i].first, before[i].second, after[i].second);
    return 0;
  });
}

}  // namespace

int run_command(const std::string& config_path, const std::vector<std::string>& overrides, std::string out_dir,
                std::ostream& out) {
  Config c = Config::load(config_path, overrides);
  if (out_dir.empty()) out_dir = default_out_dir(config_path);
  const auto precision = c.get_choice("precision", "double", {"double", "float"});
  return precision == "float" ? run<float>(c, out_dir, out) : run<double>(c, out_dir, out);
}

int list_command(std::ostream& out, bool markdown) {
  if (markdown) {
    out << presets_markdown_table();
    return 0;
  }
  out << "problems (problem.name):\n"
         "  quadratic         synthetic quadratic bilevel problem with a closed-form hypergradient\n"
         "                    (problem.form = minimization | fixed_point; problem.noise_ll / noise_ul for the stochastic version)\n"
         "  logistic-ho       per-feature L2 regularisation of multinomial logistic regression, tuned on validation data\n"
         "  data-poisoning    noise on training images that maximises a linear classifier's validation loss\n"
         "  hyper-cleaning    per-example weights that undo corrupted training labels\n"
         "                    (the last three on a dataset below; keys in docs/problems.md)\n"
         "  hyper-representation  synthetic regression with a learned linear representation (loops paper, Table 3)\n"
         "methods (method = ...; docs/methods.md):\n"
         "  custom            the estimator's own defaults: deterministic AID, fixed-point LS, t = k = 100\n";
  for (const MethodPreset& p : method_presets())
    out << fmt::format("  {:<17} {}\n  {:<17} [{}]\n", p.name, p.description, "", p.citation);
  out << "linear-system solvers (estimator.ls.method):\n"
         "  fixed_point       v <- (1 - eta) v + eta (d_w Phi^T v + g), fresh minibatch per step (SID)\n"
         "  cg                conjugate gradient, symmetric d_w Phi only\n"
         "  neumann           truncated Neumann series (stocBiO, BSA)\n"
         "  reverse           ITD: reverse mode through the lower-level trajectory\n"
         "datasets:\n";
  for (const DatasetInfo& d : known_datasets())
    out << fmt::format("  {:<17} {}\n  {:<17} splits: {}\n", d.name, d.description, "", d.splits);
  return 0;
}

}  // namespace bilevel
