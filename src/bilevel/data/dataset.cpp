#include "bilevel/data/dataset.hpp"

#include <fmt/format.h>

#include "bilevel/core/error.hpp"
#include "bilevel/core/huge_pages.hpp"

namespace bilevel {

void Dataset::validate() const {
  if (static_cast<Index>(y.size()) != x.rows())
    throw DataError(fmt::format("{}: {} examples but {} labels", source, x.rows(), y.size()));
  if (num_classes < 1) throw DataError(fmt::format("{}: number of classes must be >= 1, got {}", source, num_classes));
  for (std::size_t i = 0; i < y.size(); ++i)
    if (y[i] < 0 || y[i] >= num_classes)
      throw DataError(fmt::format("{}: label {} of example {} is outside [0, {})", source, y[i], i, num_classes));
}

Dataset subset(const Dataset& d, std::span<const Index> rows, std::string source_suffix) {
  Dataset s;
  s.x.resize(static_cast<Index>(rows.size()), d.dim());
  advise_huge_pages(s.x.data(), sizeof(float) * static_cast<std::size_t>(s.x.size()));
  s.y.resize(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    s.x.row(static_cast<Index>(i)) = d.x.row(rows[i]);
    s.y[i] = d.y[static_cast<std::size_t>(rows[i])];
  }
  s.num_classes = d.num_classes;
  s.class_names = d.class_names;
  s.source = d.source + source_suffix;
  return s;
}

}  // namespace bilevel
