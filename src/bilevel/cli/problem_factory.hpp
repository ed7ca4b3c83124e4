#pragma once
// Builds the problem a config names and hands it to a generic callback, so commands are written
// once for every problem type and scalar type.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

#include "bilevel/cli/config.hpp"
#include "bilevel/cli/data_config.hpp"
#include "bilevel/data/splits.hpp"
#include "bilevel/problems/data_poisoning.hpp"
#include "bilevel/problems/hyper_cleaning.hpp"
#include "bilevel/problems/hyper_representation.hpp"
#include "bilevel/problems/logistic_ho.hpp"
#include "bilevel/problems/minimization_adapter.hpp"
#include "bilevel/problems/quadratic.hpp"

namespace bilevel {

inline QuadraticOptions read_quadratic_options(Config& c) {
  const QuadraticOptions d;
  QuadraticOptions o;
  o.dim_w = c.get_int("problem.dim_w", d.dim_w);
  o.dim_lambda = c.get_int("problem.dim_lambda", d.dim_lambda);
  o.contraction = c.get_double("problem.contraction", d.contraction);
  o.noise_ll = c.get_double("problem.noise_ll", d.noise_ll);
  o.noise_ul = c.get_double("problem.noise_ul", d.noise_ul);
  o.outer_reg = c.get_double("problem.outer_reg", d.outer_reg);
  o.seed = static_cast<std::uint64_t>(c.get_int("problem.seed", 0));
  if (o.dim_w <= 0 || o.dim_w > 100000) c.fail("problem.dim_w", fmt::format("must be in [1, 100000], got {}", o.dim_w));
  if (o.dim_lambda <= 0 || o.dim_lambda > 100000)
    c.fail("problem.dim_lambda", fmt::format("must be in [1, 100000], got {}", o.dim_lambda));
  if (!(o.contraction >= 0 && o.contraction < 1))
    c.fail("problem.contraction", fmt::format("must be in [0, 1) for the map to be a contraction, got {}", o.contraction));
  if (o.noise_ll < 0) c.fail("problem.noise_ll", fmt::format("must be >= 0, got {}", o.noise_ll));
  if (o.noise_ul < 0) c.fail("problem.noise_ul", fmt::format("must be >= 0, got {}", o.noise_ul));
  if (o.outer_reg < 0) c.fail("problem.outer_reg", fmt::format("must be >= 0, got {}", o.outer_reg));
  return o;
}

// The top-level `lambda`: one number for every coordinate, or an array of dim_lambda numbers.
template <class S>
Vector<S> read_lambda(Config& c, Index dim_lambda) {
  const std::vector<double> l = c.get_vector("lambda", 0.0, static_cast<std::size_t>(dim_lambda));
  return Eigen::Map<const Vector<double>>(l.data(), dim_lambda).template cast<S>();
}

// `problem.gamma` of a lower-level minimisation: a given step > 0, or 0 (the default) for `automatic`,
// the problem's own contraction-preserving choice.
inline double read_gamma(Config& c, double automatic) {
  const double gamma = c.get_double("problem.gamma", 0.0);
  if (gamma < 0) c.fail("problem.gamma", fmt::format("must be > 0 (or 0 for automatic), got {}", gamma));
  return gamma > 0 ? gamma : automatic;
}

// logistic-ho on a real dataset (keys in docs/problems.md). gamma defaults to 1 / (L_data +
// exp(lambda_max)), which keeps Phi a contraction on all of Lambda.
template <class S, class F>
decltype(auto) with_logistic_ho(Config& c, F&& f) {
  const DataSplits data = read_data_splits(c);
  LogisticHOOptions o;
  const auto reg = c.get_choice("problem.regularization", "per_feature", {"per_feature", "scalar"});
  o.regularization = reg == "scalar" ? Regularization::kScalar : Regularization::kPerFeature;
  o.lambda_min = c.get_double("problem.lambda_min", -10.0);
  o.lambda_max = c.get_double("problem.lambda_max", 1.0);
  if (!(o.lambda_min < o.lambda_max))
    c.fail("problem.lambda_max", fmt::format("must be > problem.lambda_min = {}, got {}", o.lambda_min, o.lambda_max));
  if (o.lambda_max > 20) c.fail("problem.lambda_max", fmt::format("must be <= 20 (exp(lambda) overflows float), got {}", o.lambda_max));
  LogisticHO<S> base(data.train, data.validation, data.test, o);
  const double auto_gamma = 1.0 / (base.data_smoothness() + std::exp(o.lambda_max));
  const MinimizationAdapter<LogisticHO<S>> p(std::move(base), static_cast<S>(read_gamma(c, auto_gamma)));
  return f(p);
}

// data-poisoning (keys in docs/problems.md): the first poisoned_fraction of the (shuffled) training
// split is poisoned. gamma defaults to 1 / (L + mu) with L bounding the smoothness for every feasible noise.
template <class S, class F>
decltype(auto) with_data_poisoning(Config& c, F&& f) {
  const DataSplits data = read_data_splits(c);
  DataPoisoningOptions o;
  const double fraction = c.get_double("problem.poisoned_fraction", 0.2);
  if (!(fraction > 0 && fraction <= 1)) c.fail("problem.poisoned_fraction", fmt::format("must be in (0, 1], got {}", fraction));
  o.epsilon = c.get_double("problem.epsilon", o.epsilon);
  if (!(o.epsilon > 0 && o.epsilon <= 1)) c.fail("problem.epsilon", fmt::format("must be in (0, 1], got {}", o.epsilon));
  o.regularization = c.get_double("problem.regularization", o.regularization);
  if (!(o.regularization > 0)) c.fail("problem.regularization", fmt::format("must be > 0, got {}", o.regularization));
  const auto poisoned = std::max<Index>(1, static_cast<Index>(std::llround(fraction * static_cast<double>(data.train.size()))));
  DataPoisoning<S> base(data.train, poisoned, data.validation, data.test, o);
  const double auto_gamma = 1.0 / (base.data_smoothness() + base.strong_convexity());
  const MinimizationAdapter<DataPoisoning<S>> p(std::move(base), static_cast<S>(read_gamma(c, auto_gamma)));
  return f(p);
}

// hyper-cleaning (keys in docs/problems.md): a seeded fraction of the training labels corrupted once.
template <class S, class F>
decltype(auto) with_hyper_cleaning(Config& c, F&& f) {
  DataSplits data = read_data_splits(c);
  const double corruption = c.get_double("problem.corruption", 0.4);
  if (!(corruption >= 0 && corruption < 1)) c.fail("problem.corruption", fmt::format("must be in [0, 1), got {}", corruption));
  const double reg = c.get_double("problem.regularization", 0.001);
  if (!(reg > 0)) c.fail("problem.regularization", fmt::format("must be > 0, got {}", reg));
  std::vector<bool> corrupted = corrupt_labels(data.train, corruption, static_cast<std::uint64_t>(c.get_int("problem.seed", 0)) + 7);
  HyperCleaning<S> base(data.train, std::move(corrupted), data.validation, data.test, reg);
  const double auto_gamma = 1.0 / (base.data_smoothness() + base.strong_convexity());
  const MinimizationAdapter<HyperCleaning<S>> p(std::move(base), static_cast<S>(read_gamma(c, auto_gamma)));
  return f(p);
}

// hyper-representation (synthetic; keys in docs/problems.md). gamma defaults to 1 / L with L the LL
// smoothness bound on all of Lambda.
template <class S, class F>
decltype(auto) with_hyper_representation(Config& c, F&& f) {
  HyperRepresentationOptions o;
  auto positive = [&](const char* key, Index fallback) {
    const auto v = c.get_int(key, fallback);
    if (v < 1 || v > 100000) c.fail(key, fmt::format("must be in [1, 100000], got {}", v));
    return static_cast<Index>(v);
  };
  o.input_dim = positive("problem.input_dim", o.input_dim);
  o.representation = positive("problem.representation", o.representation);
  o.train_size = positive("problem.train_size", o.train_size);
  o.validation_size = positive("problem.validation_size", o.validation_size);
  o.noise = c.get_double("problem.noise", o.noise);
  if (!(o.noise >= 0)) c.fail("problem.noise", fmt::format("must be >= 0, got {}", o.noise));
  o.mu = c.get_double("problem.mu", o.mu);
  if (!(o.mu > 0)) c.fail("problem.mu", fmt::format("must be > 0, got {}", o.mu));
  o.radius = c.get_double("problem.radius", o.radius);
  if (!(o.radius >= 0)) c.fail("problem.radius", fmt::format("must be > 0 (or 0 for 2 ||H_true||), got {}", o.radius));
  o.seed = static_cast<std::uint64_t>(c.get_int("problem.seed", 0));
  HyperRepresentation<S> base(o);
  const double auto_gamma = 1.0 / base.smoothness();
  const MinimizationAdapter<HyperRepresentation<S>> p(std::move(base), static_cast<S>(read_gamma(c, auto_gamma)));
  return f(p);
}

// Calls f(problem) with the problem of the config, in scalar type S.
template <class S, class F>
decltype(auto) with_problem(Config& c, F&& f) {
  const auto name =
      c.get_choice("problem.name", "quadratic",
                   {"quadratic", "logistic-ho", "data-poisoning", "hyper-cleaning", "hyper-representation"});
  if (name == "logistic-ho") return with_logistic_ho<S>(c, std::forward<F>(f));
  if (name == "data-poisoning") return with_data_poisoning<S>(c, std::forward<F>(f));
  if (name == "hyper-cleaning") return with_hyper_cleaning<S>(c, std::forward<F>(f));
  if (name == "hyper-representation") return with_hyper_representation<S>(c, std::forward<F>(f));
  // quadratic
  const auto form = c.get_choice("problem.form", "minimization", {"minimization", "fixed_point"});
  const QuadraticOptions o = read_quadratic_options(c);
  if (form == "fixed_point") {
    const QuadraticFixedPoint<S> p(o);
    return f(p);
  }
  const double gamma = c.get_double("problem.gamma", 1.0);
  if (!(gamma > 0 && gamma < 2))
    c.fail("problem.gamma", fmt::format("must be in (0, 2) (the eigenvalues of H lie in (0, 1]), got {}", gamma));
  const MinimizationAdapter<QuadraticMinimization<S>> p(QuadraticMinimization<S>(o), static_cast<S>(gamma));
  return f(p);
}

}  // namespace bilevel
