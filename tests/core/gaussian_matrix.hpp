#pragma once
// A matrix of standard normal draws from one seed, filled row by row: the operands of the core tests
// that check products against a reference.
#include <cstdint>

#include "bilevel/core/rng.hpp"
#include "bilevel/core/types.hpp"

namespace bilevel::testing {

template <class M>
M gaussian_matrix(Index rows, Index cols, std::uint64_t seed) {
  Rng rng(seed);
  M m(rows, cols);
  for (Index i = 0; i < rows; ++i)
    for (Index j = 0; j < cols; ++j) m(i, j) = static_cast<typename M::Scalar>(rng.normal());
  return m;
}

}  // namespace bilevel::testing
