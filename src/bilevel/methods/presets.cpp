#include "bilevel/methods/presets.hpp"

#include <fmt/format.h>

#include <array>

namespace bilevel {
namespace {

// Building blocks, so each preset below reads as the sentence that defines it.
StepSchedule constant_step() { return {1.0, 0.0, 1.0}; }
// eta_i = 1 / (1 + i / 10): the O(1/i) decrease that the stochastic theory of the LL solver needs.
StepSchedule decreasing_step() { return {1.0, 1.0, 10.0}; }

struct Shape {
  int t = 10, k = 10;
  bool resample_outer = false;  // a fresh xi for grad_w E at every LS step
  LinearSystemMethod ls = LinearSystemMethod::kFixedPoint;
  LinearSystemStart start = LinearSystemStart::kZero;
  bool warm_ll = false, warm_ls = false;
  StepSchedule ll_step = constant_step(), ls_step = constant_step();
};

EstimatorOptions estimator(const Shape& s) {
  EstimatorOptions o;
  o.ll.iterations = s.t;
  o.ll.step = s.ll_step;
  o.ll.warm_start = s.warm_ll;
  o.ls.method = s.ls;
  o.ls.iterations = s.k;
  o.ls.step = s.ls_step;
  o.ls.start = s.start;
  o.ls.warm_start = s.warm_ls;
  o.ls.resample_outer_gradient = s.resample_outer;
  return o;
}

UpperLevelOptions ul(Growth growth = Growth::kNone, double decay_power = 0.0) {
  UpperLevelOptions o;
  o.growth = growth;
  o.step.decay_power = decay_power;
  return o;
}

MethodPreset preset(std::string_view name, std::string_view citation, std::string_view description, bool stochastic,
                    int j, EstimatorOptions e, UpperLevelOptions u) {
  MethodPreset p;
  p.name = name;
  p.citation = citation;
  p.description = description;
  p.stochastic = stochastic;
  p.cross_minibatches = j;
  p.estimator = std::move(e);
  p.ul = u;
  return p;
}

constexpr std::string_view kWarmStartPaper = "Grazzi, Pontil, Salzo, JMLR 2023 (arXiv:2202.03397)";
constexpr std::string_view kLoopsPaper = "Ji, Liu, Liang, Ying, NeurIPS 2022";

std::vector<MethodPreset> build_presets() {
  using enum LinearSystemMethod;
  const auto g = LinearSystemStart::kOuterGradient;
  std::vector<MethodPreset> v;
  // --- the warm-start paper: BSGM (Algorithm 2, SID hypergradients, no warm start) and its baselines
  v.push_back(preset("bsgm", kWarmStartPaper,
                     "SID without warm start; the theory's growing t = k = J = s + 1 and decreasing LL/LS steps",
                     true, 1, estimator({.t = 1, .k = 1, .resample_outer = true, .ll_step = decreasing_step(), .ls_step = decreasing_step()}),
                     ul(Growth::kLinear)));
  v.push_back(preset("bsgm-horizon", kWarmStartPaper,
                     "SID without warm start; the finite-horizon choice t = k = J = S (the number of UL steps)", true, 1,
                     estimator({.t = 1, .k = 1, .resample_outer = true, .ll_step = decreasing_step(), .ls_step = decreasing_step()}),
                     ul(Growth::kHorizon)));
  v.push_back(preset("bsgm-fixed", kWarmStartPaper,
                     "SID without warm start, fixed t = k = J = 10 and constant steps (the paper's experiments)", true, 10,
                     estimator({.t = 10, .k = 10, .start = g}), ul()));
  v.push_back(preset("bsgm-det", kWarmStartPaper,
                     "deterministic BSGM: full batches, t = k = 4 ceil(log2(s + 2)), so q^t <= 1/(s + 2) for q <= 0.84",
                     false, 1, estimator({.t = 4, .k = 4}), ul(Growth::kLogarithmic)));
  v.push_back(preset("stocbio", "Ji, Yang, Liang, ICML 2021",
                     "LL warm start, truncated Neumann series for the LS", true, 1,
                     estimator({.t = 10, .k = 10, .ls = kNeumann, .warm_ll = true}), ul()));
  v.push_back(preset("amigo", "Arbel, Mairal, ICLR 2022",
                     "warm start of both the LL and the LS (stochastic fixed-point LS)", true, 1,
                     estimator({.t = 10, .k = 10, .start = g, .warm_ll = true, .warm_ls = true}), ul()));
  v.push_back(preset("alset", "Chen, Sun, Yin, NeurIPS 2021",
                     "LL warm start, one LL step, J = 1", true, 1,
                     estimator({.t = 1, .k = 10, .start = g, .warm_ll = true}), ul()));
  v.push_back(preset("alset-dagger", kWarmStartPaper,
                     "ALSET with warm LL and LS and t = k = J = 1 (the warm-start paper's ALSET-dagger)", true, 1,
                     estimator({.t = 1, .k = 1, .start = g, .warm_ll = true, .warm_ls = true}), ul()));
  v.push_back(preset("alset-dagger-det", kWarmStartPaper, "ALSET-dagger on full batches", false, 1,
                     estimator({.t = 1, .k = 1, .start = g, .warm_ll = true, .warm_ls = true}), ul()));
  v.push_back(preset("bsa", "Ghadimi, Wang, 2018",
                     "no warm start, LL SGD with decreasing steps, truncated Neumann series", true, 1,
                     estimator({.t = 10, .k = 10, .ls = kNeumann, .ll_step = decreasing_step()}), ul()));
  {
    // Two time scales: one LL step per UL step, LL steps ~ s^-2/5 continuing across calls, UL steps ~ s^-3/5.
    EstimatorOptions e = estimator({.t = 1, .k = 10, .ls = kNeumann, .warm_ll = true, .ll_step = {1.0, 0.4, 1.0}});
    e.ll.warm_start_schedule = true;
    v.push_back(preset("ttsa", "Hong, Wai, Wang, Yang, SIAM J. Optim. 2023",
                       "two time scales: t = 1 with warm start, LL step ~ s^-0.4, UL step ~ s^-0.6", true, 1, e,
                       ul(Growth::kNone, 0.6)));
  }
  // --- the loops paper: deterministic AID-BiO with double warm start, and ITD-BiO with LL warm start
  struct Loop {
    std::string_view name, description;
    int n, q;
  };
  for (const Loop& l : {Loop{"aid-bio-n-loop", "AID-BiO, double warm start, N = 20, Q = 1", 20, 1},
                        Loop{"aid-bio-q-loop", "AID-BiO, double warm start, N = 1, Q = 20", 1, 20},
                        Loop{"aid-bio-nq-loop", "AID-BiO, double warm start, N = Q = 20", 20, 20},
                        Loop{"aid-bio-no-loop", "AID-BiO, double warm start, N = Q = 1", 1, 1}})
    v.push_back(preset(l.name, kLoopsPaper, l.description, false, 1,
                       estimator({.t = l.n, .k = l.q, .warm_ll = true, .warm_ls = true}), ul()));
  v.push_back(preset("itd-bio-nn-loop", kLoopsPaper, "ITD-BiO (reverse mode through N = 20 LL steps), LL warm start",
                     false, 1, estimator({.t = 20, .k = 0, .ls = kReverseMode, .warm_ll = true}), ul()));
  v.push_back(preset("itd-bio-no-loop", kLoopsPaper, "ITD-BiO with N = 1, LL warm start", false, 1,
                     estimator({.t = 1, .k = 0, .ls = kReverseMode, .warm_ll = true}), ul()));
  return v;
}

std::string step_text(const StepSchedule& s) {
  if (s.constant()) return fmt::format("{:g}", s.step);
  return fmt::format("{:g}/(1+i/{:g})^{:g}", s.step, s.decay_offset, s.decay_power);
}

}  // namespace

EstimatorOptions MethodPreset::estimator_options(Index batch) const {
  EstimatorOptions o = estimator;
  if (stochastic) {
    o.ll.batch_size = batch;
    o.ls.batch_size = batch;
    o.outer_batch_size = batch * cross_minibatches;
    o.cross_batch_size = batch * cross_minibatches;
  }
  return o;
}

std::span<const MethodPreset> method_presets() {
  static const std::vector<MethodPreset> presets = build_presets();
  return presets;
}

const MethodPreset& find_preset(std::string_view name) {
  std::string known;
  for (const MethodPreset& p : method_presets()) {
    if (p.name == name) return p;
    known += fmt::format("{}{}", known.empty() ? "" : ", ", p.name);
  }
  throw InvalidOptions(fmt::format("unknown method '{}'; the presets are: {}", name, known));
}

std::string presets_markdown_table() {
  std::string t =
      "| method | batches | LL warm | LS warm | t (N) | k (Q) | LS solver | v₀ | ξ in the LS | J | growth of t, k, J | LL step η_i | LS step | UL step α_s | source |\n"
      "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const MethodPreset& p : method_presets()) {
    const EstimatorOptions& e = p.estimator;
    const bool reverse = e.ls.method == LinearSystemMethod::kReverseMode;
    const std::string warm_ll = e.ll.warm_start ? (e.ll.warm_start_schedule ? "yes, and schedule" : "yes") : "no";
    t += fmt::format("| `{}` | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", p.name,
                     p.stochastic ? "B" : "full", warm_ll, e.ls.warm_start ? "yes" : "no", e.ll.iterations,
                     reverse ? "–" : std::to_string(e.ls.iterations), to_string(e.ls.method),
                     reverse || e.ls.method == LinearSystemMethod::kNeumann ? "–" : std::string(to_string(e.ls.start)),
                     reverse ? "–" : (e.ls.resample_outer_gradient ? "fresh per step" : "one per solve"),
                     reverse ? "–" : (p.stochastic ? fmt::format("{} B", p.cross_minibatches) : "full"),
                     to_string(p.ul.growth), step_text(e.ll.step), reverse ? "–" : step_text(e.ls.step),
                     p.ul.step.constant() ? "α" : fmt::format("α/(1+s)^{:g}", p.ul.step.decay_power), p.citation);
  }
  return t;
}

}  // namespace bilevel
