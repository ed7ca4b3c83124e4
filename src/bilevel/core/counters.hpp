#pragma once
// What a computation spent. Every oracle call of an estimator goes through CountedOracle
// (problems/counted_oracle.hpp), which fills these in; nobody increments them by hand elsewhere.
#include <cstdint>

#include "bilevel/core/archive.hpp"

namespace bilevel {

struct OracleCounts {
  // Examples drawn from the lower-level randomness (zeta) and from the upper-level one (xi): one per
  // example of every minibatch drawn. This is the sample complexity of the warm-start paper.
  std::int64_t samples_ll = 0;
  std::int64_t samples_ul = 0;
  // Oracle calls, one per call whatever the batch size, as the loops paper counts them.
  std::int64_t map_evals = 0;            // Phi-hat(w, lambda); a gradient of g in minimisation form
  std::int64_t outer_evals = 0;          // E-hat with its gradients (one backward pass)
  std::int64_t jacobian_w_products = 0;  // u^T d_w Phi-hat  (Hessian-vector products in minimisation form)
  std::int64_t jacobian_lambda_products = 0;  // u^T d_lambda Phi-hat (mixed second derivatives)
  // Single-example oracle evaluations: the sum of batch sizes over all calls above. A budget of
  // "single-sample gradients and Hessian-vector products" (warm-start paper, section 6) counts this.
  std::int64_t example_evals = 0;

  // Gc of the loops paper: gradient computations (map evaluations and outer gradients).
  std::int64_t gradients() const { return map_evals + outer_evals; }
  // MV of the loops paper: Jacobian- and Hessian-vector products.
  std::int64_t matvecs() const { return jacobian_w_products + jacobian_lambda_products; }
  std::int64_t samples() const { return samples_ll + samples_ul; }

  OracleCounts& operator+=(const OracleCounts& o) {
    samples_ll += o.samples_ll;
    samples_ul += o.samples_ul;
    map_evals += o.map_evals;
    outer_evals += o.outer_evals;
    jacobian_w_products += o.jacobian_w_products;
    jacobian_lambda_products += o.jacobian_lambda_products;
    example_evals += o.example_evals;
    return *this;
  }
  friend OracleCounts operator-(OracleCounts a, const OracleCounts& b) {
    a.samples_ll -= b.samples_ll;
    a.samples_ul -= b.samples_ul;
    a.map_evals -= b.map_evals;
    a.outer_evals -= b.outer_evals;
    a.jacobian_w_products -= b.jacobian_w_products;
    a.jacobian_lambda_products -= b.jacobian_lambda_products;
    a.example_evals -= b.example_evals;
    return a;
  }
  friend bool operator==(const OracleCounts&, const OracleCounts&) = default;
};

inline void save_counts(ArchiveWriter& a, const OracleCounts& c) {
  for (std::int64_t v : {c.samples_ll, c.samples_ul, c.map_evals, c.outer_evals, c.jacobian_w_products,
                         c.jacobian_lambda_products, c.example_evals})
    a.i64(v);
}
// Counts are checked on reading: each in [0, 2^56], so that sums of them cannot overflow.
inline OracleCounts load_counts(ArchiveReader& a) {
  constexpr std::int64_t kLargest = std::int64_t{1} << 56;
  OracleCounts c;
  for (std::int64_t* v : {&c.samples_ll, &c.samples_ul, &c.map_evals, &c.outer_evals, &c.jacobian_w_products,
                          &c.jacobian_lambda_products, &c.example_evals}) {
    *v = a.i64();
    if (*v < 0 || *v > kLargest) a.fail(fmt::format("an oracle count of {} (a corrupted state?)", *v));
  }
  return c;
}

}  // namespace bilevel
