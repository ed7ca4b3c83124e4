// The splits of a user's file: a seeded shuffle by default, consecutive rows in file order with
// problem.shuffle = false.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <algorithm>
#include <numeric>

#include "bilevel/cli/data_config.hpp"

namespace bilevel {
namespace data_config_test {

namespace fs = std::filesystem;

// A CSV of 20 rows whose single feature is the row number and whose label is row mod 2.
fs::path numbered_csv() {
  const fs::path path = fs::temp_directory_path() / ("bilevel-rows-" + std::to_string(getpid()) + ".csv");
  std::ofstream out(path);
  for (int i = 0; i < 20; ++i) out << i % 2 << ',' << i << '\n';
  return path;
}

std::vector<int> rows_of(const Dataset& d) {
  std::vector<int> rows;
  for (Index i = 0; i < d.size(); ++i) rows.push_back(static_cast<int>(d.x(i, 0)));
  return rows;
}

DataSplits splits(const fs::path& csv, const std::string& extra) {
  Config c = Config::parse("[problem]\ndataset = \"csv\"\ndata_path = \"" + csv.string() +
                               "\"\ntrain_size = 5\nvalidation_size = 4\ntest_size = 6\n" + extra,
                           "test.toml");
  return read_data_splits(c);
}

TEST(DataSplits, WithoutShuffleTheSplitsAreConsecutiveRowsInFileOrder) {
  const fs::path csv = numbered_csv();
  const DataSplits s = splits(csv, "shuffle = false\n");
  EXPECT_EQ(rows_of(s.train), (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(rows_of(s.validation), (std::vector<int>{5, 6, 7, 8}));
  EXPECT_EQ(rows_of(s.test), (std::vector<int>{9, 10, 11, 12, 13, 14}));
  EXPECT_EQ(s.train.y, (std::vector<std::int32_t>{0, 1, 0, 1, 0}));
  fs::remove(csv);
}

TEST(DataSplits, ByDefaultTheSplitsAreADisjointSeededShuffle) {
  const fs::path csv = numbered_csv();
  const DataSplits a = splits(csv, ""), b = splits(csv, ""), other = splits(csv, "seed = 1\n");
  EXPECT_EQ(rows_of(a.train), rows_of(b.train));           // seeded
  EXPECT_NE(rows_of(a.train), rows_of(other.train));       // another seed, another split
  EXPECT_NE(rows_of(a.train), (std::vector<int>{0, 1, 2, 3, 4}));
  std::vector<int> all = rows_of(a.train);
  for (const Dataset* d : {&a.validation, &a.test})
    for (int r : rows_of(*d)) all.push_back(r);
  std::sort(all.begin(), all.end());
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end());  // disjoint
  fs::remove(csv);
}

}  // namespace data_config_test
}  // namespace bilevel
