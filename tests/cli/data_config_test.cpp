// The splits of a user's file: a seeded shuffle by default, consecutive rows in file order with
// problem.shuffle = false; Fashion-MNIST's splits as rows of its files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <algorithm>
#include <numeric>

#include "bilevel/cli/data_config.hpp"
#include "bilevel/data/idx.hpp"
#include "run_executable.hpp"

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

// Fashion-MNIST's splits convert only the rows they take (IdxImages::select): each must still be,
// bit for bit, a row of the whole file with its label, train and validation disjoint, the test split
// the whole test file (test_size = 0) in file order without a shuffle.
class FashionSplits : public testing::FixtureFashion {};

TEST_F(FashionSplits, AreRowsOfTheWholeFileWithTheirLabels) {
  const Dataset whole = read_idx(std::string(BILEVEL_SOURCE_DIR) + "/tests/data/fixtures/fashion-train-200-images-idx3-ubyte.gz",
                                 std::string(BILEVEL_SOURCE_DIR) + "/tests/data/fixtures/fashion-train-200-labels-idx1-ubyte.gz");
  auto row_in_whole = [&](const Dataset& d, Index i) {
    for (Index r = 0; r < whole.size(); ++r)
      if (whole.x.row(r) == d.x.row(i)) return r;
    return Index{-1};
  };
  for (const char* shuffle : {"true", "false"}) {
    SCOPED_TRACE(shuffle);
    Config c = Config::parse(std::string("[problem]\ndataset = \"fashion-mnist\"\ntrain_size = 60\nvalidation_size = 40\n"
                                         "test_size = 0\nshuffle = ") + shuffle + "\n",
                             "test.toml");
    const DataSplits s = read_data_splits(c);
    ASSERT_EQ(s.train.size(), 60);
    ASSERT_EQ(s.validation.size(), 40);
    ASSERT_EQ(s.test.size(), 200);
    std::vector<Index> taken;
    for (const Dataset* d : {&s.train, &s.validation})
      for (Index i = 0; i < d->size(); ++i) {
        const Index r = row_in_whole(*d, i);
        ASSERT_GE(r, 0) << "row " << i << " is no row of the file";
        EXPECT_EQ(d->y[static_cast<std::size_t>(i)], whole.y[static_cast<std::size_t>(r)]);
        taken.push_back(r);
      }
    std::sort(taken.begin(), taken.end());
    EXPECT_EQ(std::adjacent_find(taken.begin(), taken.end()), taken.end());  // disjoint
    if (std::string(shuffle) == "false") {
      EXPECT_EQ(s.test.x, whole.x);
      EXPECT_EQ(s.test.y, whole.y);
      EXPECT_EQ(taken.back(), 99);  // the first 100 rows, in order
    }
  }
}

}  // namespace data_config_test
}  // namespace bilevel
