#pragma once
// Config readers shared by the problem commands of cli/problem_commands/.
#include <fmt/format.h>

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
// it has one (equilibrium models: seeded small random weights), else 0.
template <class P>
Vector<typename P::Scalar> read_initial_lambda(Config& c, const P& problem) {
  if constexpr (requires { problem.initial_lambda(); }) {
    if (!c.has("lambda")) return problem.initial_lambda();
  }
  return read_lambda<typename P::Scalar>(c, problem.dim_lambda());
}

// `problem.gamma` of a lower-level minimisation: a given step > 0, or 0 (the default) for `automatic`,
// the problem's own contraction-preserving choice.
inline double read_gamma(Config& c, double automatic) {
  const double gamma = c.get_double("problem.gamma", 0.0);
  if (gamma < 0) c.fail("problem.gamma", fmt::format("must be > 0 (or 0 for automatic), got {}", gamma));
  return gamma > 0 ? gamma : automatic;
}

// An integer key in [1, 100000] (sizes and dimensions of synthetic problems).
inline Index read_size(Config& c, const char* key, Index fallback) {
  const auto v = c.get_int(key, fallback);
  if (v < 1 || v > 100000) c.fail(key, fmt::format("must be in [1, 100000], got {}", v));
  return static_cast<Index>(v);
}

}  // namespace bilevel
