#pragma once
// Config readers shared by the problem commands of cli/problem_commands/.
#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <string_view>
#include <utility>

#include "bilevel/cli/config.hpp"
#include "bilevel/core/types.hpp"

namespace bilevel {

// The top-level `lambda`: one number for every coordinate, or an array of dim_lambda numbers.
template <class S>
Vector<S> read_lambda(Config& c, Index dim_lambda) {
  const std::vector<double> l = c.get_vector("lambda", 0.0, static_cast<std::size_t>(dim_lambda));
  return Eigen::Map<const Vector<double>>(l.data(), dim_lambda).template cast<S>();
}

// The starting lambda: the top-level `lambda` when given, else the problem's own initialisation where
// it has one (equilibrium models: seeded small random weights), else 0. P is an erased problem
// (problems/any_problem.hpp), whose initial_lambda() is empty when the problem has none.
template <class P>
Vector<typename P::Scalar> read_initial_lambda(Config& c, const P& problem) {
  if (!c.has("lambda")) {
    if (auto own = problem.initial_lambda()) return std::move(*own);
  }
  return read_lambda<typename P::Scalar>(c, problem.dim_lambda());
}

// A number key that must lie in an interval: `bounds` is "[]", "(]", "[)" or "()" (open or closed ends);
// hi = infinity leaves it unbounded above. The error names the key, the interval, `note` (what a
// special value means, or why the bound) and the value found.
inline double read_double_in(Config& c, const char* key, double fallback, double lo, double hi,
                             std::string_view bounds = "[]", std::string_view note = "") {
  const double v = c.get_double(key, fallback);
  const bool lo_open = bounds[0] == '(', hi_open = bounds[1] == ')';
  const bool ok = (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
  if (!ok) {
    const std::string range = std::isinf(hi) ? fmt::format("must be {} {}", lo_open ? ">" : ">=", lo)
                                             : fmt::format("must be in {}{}, {}{}", bounds[0], lo, hi, bounds[1]);
    c.fail(key, fmt::format("{}{}{}, got {}", range, note.empty() ? "" : " ", note, v));
  }
  return v;
}
inline constexpr double kUnbounded = std::numeric_limits<double>::infinity();

// `problem.gamma` of a lower-level minimisation: a given step > 0, or 0 (the default) for `automatic`,
// the problem's own contraction-preserving choice.
inline double read_gamma(Config& c, double automatic) {
  const double gamma = read_double_in(c, "problem.gamma", 0.0, 0, kUnbounded, "[]", "(0 = automatic)");
  return gamma > 0 ? gamma : automatic;
}

// An integer key in [lo, hi].
inline Index read_int_in(Config& c, const char* key, Index fallback, Index lo, Index hi) {
  const auto v = c.get_int(key, fallback);
  if (v < lo || v > hi) c.fail(key, fmt::format("must be in [{}, {}], got {}", lo, hi, v));
  return static_cast<Index>(v);
}
// An integer key in [1, 100000] (sizes, dimensions, counts).
inline Index read_size(Config& c, const char* key, Index fallback) { return read_int_in(c, key, fallback, 1, 100000); }

}  // namespace bilevel
