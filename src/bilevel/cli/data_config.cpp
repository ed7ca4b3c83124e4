#include "bilevel/cli/data_config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <span>
#include <utility>
#include <vector>

#include "bilevel/data/catalog.hpp"
#include "bilevel/data/splits.hpp"
#include "bilevel/data/text_formats.hpp"

namespace bilevel {
namespace {

// Rows of a dataset as indices into it: the first `n` of a seeded shuffle of `rows` (or of `rows` as
// they are), and the rest. Splits are chosen as indices and copied out once each, so that no
// intermediate copy of the data (the rest of a split, cut again) is ever alive.
// 0, 1, ..., n - 1.
std::vector<Index> identity(Index n) {
  std::vector<Index> rows(static_cast<std::size_t>(n));
  std::iota(rows.begin(), rows.end(), Index{0});
  return rows;
}

std::pair<std::vector<Index>, std::vector<Index>> take(std::span<const Index> rows, Index n, std::uint64_t seed,
                                                       bool shuffle) {
  const auto size = static_cast<Index>(rows.size());
  const std::vector<Index> order = shuffle ? shuffled_indices(size, seed) : identity(size);
  std::vector<Index> first, rest;
  first.reserve(static_cast<std::size_t>(std::min(n, size)));
  for (std::size_t i = 0; i < rows.size(); ++i)
    (static_cast<Index>(i) < n ? first : rest).push_back(rows[static_cast<std::size_t>(order[i])]);
  return {std::move(first), std::move(rest)};
}

std::vector<Index> all_rows(const Dataset& d) { return identity(d.size()); }

// problem.dataset = "libsvm" or "csv": the file at problem.data_path (relative to the working directory).
Dataset read_data_file(Config& c, const std::string& format) {
  const std::string path = c.get_string("problem.data_path", "");
  if (path.empty()) c.fail("problem.data_path", fmt::format("is required when problem.dataset = \"{}\"", format));
  if (format == "libsvm") {
    const auto features = c.get_int("problem.num_features", 0);
    if (features < 0) c.fail("problem.num_features", fmt::format("must be >= 0 (0 = the largest index), got {}", features));
    return read_libsvm(path, static_cast<Index>(features));
  }
  CsvOptions o;
  o.label_column = static_cast<int>(c.get_int("problem.label_column", 0));
  return read_csv(path, o);
}

}  // namespace

DataSplits read_data_splits(Config& c) {
  const auto name = c.get_choice("problem.dataset", "fashion-mnist", {"fashion-mnist", "mnist-digits", "libsvm", "csv"});
  const auto train_size = c.get_int("problem.train_size", 5000);
  const auto validation_size = c.get_int("problem.validation_size", 5000);
  const auto test_size = c.get_int("problem.test_size", 0);
  const auto seed = static_cast<std::uint64_t>(c.get_int("problem.seed", 0));
  // false: the splits are consecutive rows in file order (data split beforehand, or another program
  // that must see the same examples, such as the PyTorch benchmark).
  const bool shuffle = c.get_bool("problem.shuffle", true);
  if (train_size < 1) c.fail("problem.train_size", fmt::format("must be >= 1, got {}", train_size));
  if (validation_size < 1) c.fail("problem.validation_size", fmt::format("must be >= 1, got {}", validation_size));
  if (test_size < 0) c.fail("problem.test_size", fmt::format("must be >= 0 (0 = all that is left), got {}", test_size));

  auto too_many = [&](const char* key, Index wanted, Index available, const std::string& from) {
    if (wanted > available)
      c.fail(key, fmt::format("asks for {} examples but {} has only {} left", wanted, from, available));
  };
  DataSplits s;
  try {
    if (name == "fashion-mnist") {
      // Only the rows taken become floats (IdxImages): the rest of the 60 000 training images stay bytes.
      {
        const IdxImages train = load_fashion_mnist("train");
        too_many("problem.train_size", train_size + validation_size, train.size(),
                 "the Fashion-MNIST training split (train_size + validation_size)");
        const auto [t, rest] = take(identity(train.size()), train_size, seed, shuffle);
        s.train = train.select(t);
        s.validation = train.select(take(rest, validation_size, seed + 1, shuffle).first);
      }
      const IdxImages test = load_fashion_mnist("test");
      too_many("problem.test_size", test_size, test.size(), "the Fashion-MNIST test split");
      s.test = test_size == 0 ? test.all() : test.select(take(identity(test.size()), test_size, seed + 2, shuffle).first);
    } else {
      const Dataset all = name == "mnist-digits" ? load_dataset(name, "all") : read_data_file(c, name);
      too_many("problem.train_size", train_size + validation_size + test_size, all.size(),
               fmt::format("{} (train_size + validation_size + test_size)", all.source));
      const auto [t, rest] = take(all_rows(all), train_size, seed, shuffle);
      const auto [v, rest2] = take(rest, validation_size, seed + 1, shuffle);
      s.train = subset(all, t);
      s.validation = subset(all, v);
      s.test = subset(all, test_size == 0 ? rest2 : take(rest2, test_size, seed + 2, shuffle).first);
    }
  } catch (const DataError& e) {
    throw DataError(fmt::format("{} (problem.dataset = \"{}\" in {})", e.what(), name, c.source()));
  }
  s.train.source = fmt::format("{} train ({} examples)", name, s.train.size());
  s.validation.source = fmt::format("{} validation ({} examples)", name, s.validation.size());
  s.test.source = fmt::format("{} test ({} examples)", name, s.test.size());
  return s;
}

}  // namespace bilevel
