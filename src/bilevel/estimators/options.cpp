#include "bilevel/estimators/options.hpp"

#include <fmt/format.h>

namespace bilevel {

std::string_view to_string(LinearSystemMethod m) {
  switch (m) {
    case LinearSystemMethod::kFixedPoint: return "fixed_point";
    case LinearSystemMethod::kConjugateGradient: return "cg";
    case LinearSystemMethod::kNeumann: return "neumann";
    case LinearSystemMethod::kReverseMode: return "reverse";
  }
  return "?";
}

std::string_view to_string(LinearSystemStart s) {
  return s == LinearSystemStart::kZero ? "zero" : "outer_gradient";
}

std::string_view to_string(Sampling s) {
  return s == Sampling::kWithoutReplacement ? "without_replacement" : "with_replacement";
}

namespace {

void check_batch(const char* field, Index batch, Index population) {
  if (batch < 0) throw InvalidOptions(fmt::format("{} must be >= 0 (0 = full batch), got {}", field, batch));
  if (batch == 0 && population == kUnboundedPopulation)
    throw InvalidOptions(fmt::format(
        "{} must be set (> 0): this problem draws from an unbounded stream of samples, so there is no full batch", field));
  if (population != kUnboundedPopulation && batch > population)
    throw InvalidOptions(fmt::format("{} = {} exceeds the {} examples available", field, batch, population));
}

}  // namespace

void EstimatorOptions::validate(Index ll_population, Index ul_population, bool jacobian_symmetric) const {
  if (ll.iterations < 1) throw InvalidOptions(fmt::format("ll.iterations must be >= 1, got {}", ll.iterations));
  ll.step.validate("ll");
  check_batch("ll.batch_size", ll.batch_size, ll_population);
  if (!(ll.tolerance >= 0)) throw InvalidOptions(fmt::format("ll.tolerance must be >= 0, got {}", ll.tolerance));
  if (ll.warm_start_schedule && ll.step.constant())
    throw InvalidOptions("ll.warm_start_schedule needs a decaying ll.step (decay_power > 0); with a constant step it does nothing");

  const bool reverse = ls.method == LinearSystemMethod::kReverseMode;
  if (!reverse && ls.iterations < 0) throw InvalidOptions(fmt::format("ls.iterations must be >= 0, got {}", ls.iterations));
  ls.step.validate("ls");
  if (!reverse) check_batch("ls.batch_size", ls.batch_size, ll_population);
  if (ls.method == LinearSystemMethod::kNeumann && !ls.step.constant())
    throw InvalidOptions("ls.step of the Neumann series must be constant (decay_power = 0)");
  if (ls.method == LinearSystemMethod::kConjugateGradient && !jacobian_symmetric)
    throw InvalidOptions("ls.method = cg needs a symmetric d_w Phi (a lower-level minimisation); this problem's is not: "
                         "use fixed_point or neumann");
  if (ls.method == LinearSystemMethod::kConjugateGradient && !ls.step.constant())
    throw InvalidOptions("ls.step does not apply to cg; leave decay_power at 0");
  if (!(ls.tolerance >= 0)) throw InvalidOptions(fmt::format("ls.tolerance must be >= 0, got {}", ls.tolerance));
  if (reverse && ls.warm_start)
    throw InvalidOptions("ls.warm_start has no meaning with ls.method = reverse (there is no linear system to warm-start)");
  if (ls.method == LinearSystemMethod::kNeumann && ls.warm_start)
    throw InvalidOptions("ls.warm_start has no meaning with ls.method = neumann (the series always starts at grad_w E)");
  if (ls.resample_outer_gradient && ls.method != LinearSystemMethod::kFixedPoint)
    throw InvalidOptions("ls.resample_outer_gradient applies only to ls.method = fixed_point");

  check_batch("outer_batch_size", outer_batch_size, ul_population);
  if (!reverse) check_batch("cross_batch_size", cross_batch_size, ll_population);
}

}  // namespace bilevel
