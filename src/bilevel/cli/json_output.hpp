#pragma once
// JSON forms of the library's result types, for the command's outputs.
#include <nlohmann/json.hpp>

#include "bilevel/core/counters.hpp"
#include "bilevel/core/types.hpp"
#include "bilevel/methods/callbacks.hpp"

namespace bilevel {

inline nlohmann::ordered_json to_json(const OracleCounts& c) {
  return {{"samples_ll", c.samples_ll},
          {"samples_ul", c.samples_ul},
          {"gradients", c.gradients()},
          {"matvecs", c.matvecs()},
          {"map_evals", c.map_evals},
          {"outer_evals", c.outer_evals},
          {"jacobian_w_products", c.jacobian_w_products},
          {"jacobian_lambda_products", c.jacobian_lambda_products},
          {"example_evals", c.example_evals}};
}

template <class Derived>
nlohmann::ordered_json to_json(const Eigen::MatrixBase<Derived>& v) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (Index i = 0; i < v.size(); ++i) a.push_back(static_cast<double>(v(i)));
  return a;
}

// One line of metrics.jsonl.
template <class S>
nlohmann::ordered_json to_json(const Checkpoint<S>& c) {
  nlohmann::ordered_json j = {{"iteration", c.iteration},
          {"seconds", c.seconds},
          {"objective", c.evaluation.objective},
          {"gradient_norm", c.evaluation.gradient_norm},
          {"prox_gradient_norm", c.evaluation.prox_gradient_norm},
          {"estimate_norm", c.estimate_norm},
          {"step", c.step},
          {"samples", c.counts.samples()},
          {"counts", to_json(c.counts)},
          {"evaluation_counts", to_json(c.evaluation_counts)},
          {"evaluation_exact", c.evaluation.exact},
          {"warm_start_bytes", c.warm_start_bytes}};
  if (!c.evaluation.exact) {
    j["evaluation_ll_residual"] = c.evaluation.ll_residual;
    j["evaluation_ll_steps"] = c.evaluation.ll_steps;
  }
  for (const auto& [name, value] : c.evaluation.metrics) j[name] = value;
  return j;
}

}  // namespace bilevel
