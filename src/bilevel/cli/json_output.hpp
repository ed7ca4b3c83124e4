#pragma once
// JSON forms of the library's result types, for the command's outputs.
#include <nlohmann/json.hpp>

#include "bilevel/core/counters.hpp"
#include "bilevel/core/types.hpp"

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

}  // namespace bilevel
