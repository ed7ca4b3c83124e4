// gather_rows and checked_id (core/gather.hpp): the rows of a minibatch in its order, repeats allowed,
// and an id past the stored examples is an error that names the problem, the id and the count.
#include "bilevel/core/gather.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace bilevel {
namespace gather_test {

TEST(Gather, CopiesTheRowsOfABatchInItsOrder) {
  RowMatrix<float> x(4, 3);
  x << 0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32;
  const std::vector<SampleId> batch{3, 0, 3};
  RowMatrix<float> rows(3, 3);
  gather_rows(x, batch, "test", rows);
  RowMatrix<float> expected(3, 3);
  expected << 30, 31, 32, 0, 1, 2, 30, 31, 32;
  EXPECT_EQ(rows, expected);
}

TEST(Gather, AnIdPastTheExamplesNamesTheProblemTheIdAndTheCount) {
  const RowMatrix<double> x = RowMatrix<double>::Zero(4, 2);
  RowMatrix<double> rows(2, 2);
  const std::vector<SampleId> batch{1, 4};
  try {
    gather_rows(x, batch, "some-problem", rows);
    FAIL() << "no error for id 4 of 4 examples";
  } catch (const InvalidOptions& e) {
    EXPECT_EQ(std::string(e.what()), "some-problem: sample id 4 outside the 4 examples");
  }
  EXPECT_EQ(checked_id(3, 4, "p"), 3);
  EXPECT_THROW(checked_id(~SampleId{0}, 4, "p"), InvalidOptions);
}

}  // namespace gather_test
}  // namespace bilevel
