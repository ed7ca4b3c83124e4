// all_finite (core/finite.hpp): every position of a non-finite entry is found, in vectors whose length
// is and is not a multiple of the SIMD width, in float and double, and in matrices.
#include "bilevel/core/finite.hpp"

#include <gtest/gtest.h>

#include <limits>

#include "bilevel/core/types.hpp"

namespace bilevel {
namespace finite_test {

template <class S>
void expect_every_position_found(Index n) {
  Vector<S> x = Vector<S>::LinSpaced(n, S(-1e30), S(1e30));  // large but finite: x - x is still 0
  EXPECT_TRUE(all_finite(x)) << n;
  for (const S bad : {std::numeric_limits<S>::infinity(), -std::numeric_limits<S>::infinity(),
                      std::numeric_limits<S>::quiet_NaN()}) {
    for (Index i = 0; i < n; ++i) {
      const S kept = x(i);
      x(i) = bad;
      EXPECT_FALSE(all_finite(x)) << "n = " << n << ", entry " << i << " = " << bad;
      x(i) = kept;
    }
  }
  EXPECT_TRUE(all_finite(x));
}

TEST(AllFinite, FindsEveryNonFiniteEntryInFloatAndDouble) {
  for (const Index n : {1, 7, 16, 17, 33, 100}) {
    expect_every_position_found<float>(n);
    expect_every_position_found<double>(n);
  }
}

TEST(AllFinite, EmptyAndMatrices) {
  EXPECT_TRUE(all_finite(Vector<float>()));
  Matrix<double> m = Matrix<double>::Constant(5, 3, std::numeric_limits<double>::max());
  EXPECT_TRUE(all_finite(m));
  m(4, 2) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_FALSE(all_finite(m));
  EXPECT_TRUE(all_finite(m.topRows(4)));  // expressions too
}

}  // namespace finite_test
}  // namespace bilevel
