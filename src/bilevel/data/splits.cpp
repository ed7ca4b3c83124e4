#include "bilevel/data/splits.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "bilevel/core/error.hpp"
#include "bilevel/core/rng.hpp"

namespace bilevel {

std::vector<Index> shuffled_indices(Index n, std::uint64_t seed) {
  std::vector<Index> idx(static_cast<std::size_t>(n));
  std::iota(idx.begin(), idx.end(), Index{0});
  Rng rng = RandomStreams(seed).stream("data/shuffle");
  for (std::size_t i = idx.size(); i > 1; --i) std::swap(idx[i - 1], idx[rng.below(i)]);  // Fisher-Yates
  return idx;
}

std::pair<Dataset, Dataset> stratified_split(const Dataset& d, double fraction, std::uint64_t seed) {
  if (!(fraction > 0 && fraction < 1)) throw InvalidOptions(fmt::format("split fraction must be in (0, 1), got {}", fraction));
  std::vector<std::vector<Index>> by_class(static_cast<std::size_t>(d.num_classes));
  for (Index i : shuffled_indices(d.size(), seed)) by_class[static_cast<std::size_t>(d.y[static_cast<std::size_t>(i)])].push_back(i);
  std::vector<Index> first, second;
  for (const auto& rows : by_class) {
    const auto k = static_cast<std::size_t>(std::llround(fraction * static_cast<double>(rows.size())));
    first.insert(first.end(), rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(k));
    second.insert(second.end(), rows.begin() + static_cast<std::ptrdiff_t>(k), rows.end());
  }
  // Interleave the classes again, so any prefix of a part is a mixed sample.
  auto reshuffle = [&](std::vector<Index>& v, std::uint64_t salt) {
    const auto order = shuffled_indices(static_cast<Index>(v.size()), seed ^ salt);
    std::vector<Index> out(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) out[i] = v[static_cast<std::size_t>(order[i])];
    v = std::move(out);
  };
  reshuffle(first, 0x9e3779b97f4a7c15ULL);
  reshuffle(second, 0xbf58476d1ce4e5b9ULL);
  return {subset(d, first, fmt::format(" [split {:g}, part 1]", fraction)),
          subset(d, second, fmt::format(" [split {:g}, part 2]", fraction))};
}

Dataset random_subset(const Dataset& d, Index n, std::uint64_t seed) {
  if (n >= d.size()) return d;
  auto idx = shuffled_indices(d.size(), seed);
  idx.resize(static_cast<std::size_t>(n));
  return subset(d, idx, fmt::format(" [{} random examples]", n));
}

Dataset select_classes(const Dataset& d, const std::vector<int>& classes) {
  std::vector<int> relabel(static_cast<std::size_t>(d.num_classes), -1);
  for (std::size_t k = 0; k < classes.size(); ++k) {
    const int c = classes[k];
    if (c < 0 || c >= d.num_classes)
      throw InvalidOptions(fmt::format("{}: class {} is outside [0, {})", d.source, c, d.num_classes));
    relabel[static_cast<std::size_t>(c)] = static_cast<int>(k);
  }
  std::vector<Index> rows;
  for (Index i = 0; i < d.size(); ++i)
    if (relabel[static_cast<std::size_t>(d.y[static_cast<std::size_t>(i)])] >= 0) rows.push_back(i);
  Dataset s = subset(d, rows, " [selected classes]");
  for (auto& y : s.y) y = relabel[static_cast<std::size_t>(y)];
  s.num_classes = static_cast<int>(classes.size());
  return s;
}

void standardize(Dataset& d, const Dataset& reference) {
  if (d.dim() != reference.dim())
    throw InvalidOptions(fmt::format("cannot standardise {} ({} features) with {} ({} features)", d.source, d.dim(),
                                     reference.source, reference.dim()));
  const Eigen::RowVectorXd mean = reference.x.cast<double>().colwise().mean();
  const Eigen::RowVectorXd var =
      (reference.x.cast<double>().rowwise() - mean).array().square().colwise().mean();
  Eigen::RowVectorXd scale = var.array().sqrt();
  for (Index j = 0; j < scale.size(); ++j) scale(j) = scale(j) > 1e-12 ? 1.0 / scale(j) : 1.0;
  d.x = ((d.x.cast<double>().rowwise() - mean).array().rowwise() * scale.array()).cast<float>();
}

std::vector<bool> corrupt_labels(Dataset& d, double fraction, std::uint64_t seed) {
  if (!(fraction >= 0 && fraction <= 1)) throw InvalidOptions(fmt::format("corruption fraction must be in [0, 1], got {}", fraction));
  if (d.num_classes < 2) throw InvalidOptions("corrupting labels needs at least two classes");
  std::vector<bool> changed(static_cast<std::size_t>(d.size()), false);
  const auto order = shuffled_indices(d.size(), seed);
  const auto count = static_cast<std::size_t>(std::llround(fraction * static_cast<double>(d.size())));
  Rng rng = RandomStreams(seed).stream("data/corrupt_labels");
  for (std::size_t k = 0; k < count; ++k) {
    const auto i = static_cast<std::size_t>(order[k]);
    // A uniformly drawn class other than the true one.
    auto label = static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(d.num_classes - 1)));
    if (label >= d.y[i]) ++label;
    d.y[i] = label;
    changed[i] = true;
  }
  return changed;
}

}  // namespace bilevel
