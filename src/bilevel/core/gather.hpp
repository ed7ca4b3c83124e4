#pragma once
// The examples of a minibatch out of a problem's stored data. Every id an oracle is given is checked
// (a sample trace or a resumed state could hold any), with an error that names the problem.
#include <fmt/format.h>

#include <string_view>

#include "bilevel/core/error.hpp"
#include "bilevel/core/types.hpp"

namespace bilevel {

// The row of sample `id` among the n stored examples, or InvalidOptions naming `problem`.
inline Index checked_id(SampleId id, Index n, std::string_view problem) {
  if (id >= static_cast<SampleId>(n))
    throw InvalidOptions(fmt::format("{}: sample id {} outside the {} examples", problem, id, n));
  return static_cast<Index>(id);
}

// Row k of `to` = row batch[k] of `from` (both row-major), every id checked.
template <class From, class To>
void gather_rows(const From& from, Batch batch, std::string_view problem, To&& to) {
  for (std::size_t k = 0; k < batch.size(); ++k)
    to.row(static_cast<Index>(k)) = from.row(checked_id(batch[k], from.rows(), problem));
}

}  // namespace bilevel
