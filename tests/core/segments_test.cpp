// The segmented vector operations (core/segments.hpp): every value is visited once, sums and checks
// agree with the serial ones, and the results are the same bits at one and two threads.
#include "bilevel/core/segments.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <vector>

#include "bilevel/core/rng.hpp"

namespace bilevel {
namespace segments_test {

// Lengths around the segment size, and equilibrium's w and lambda at B = 256.
const std::vector<Index> kLengths = {0, 1, kMinSegment - 1, kMinSegment, 2 * kMinSegment - 1, 2 * kMinSegment,
                                     51'200, 199'010, 20 * kMinSegment + 3};

template <class S>
Vector<S> gaussian(Index n, std::uint64_t seed) {
  Rng rng = RandomStreams(seed).stream("segments_test");
  Vector<S> x(n);
  for (Index i = 0; i < n; ++i) x(i) = static_cast<S>(rng.normal());
  return x;
}

TEST(Segments, EveryValueIsVisitedOnceAtOneAndTwoThreads) {
  for (const int threads : {1, 2}) {
    const ScopedThreadCount at(threads);
    for (const Index n : kLengths) {
      std::vector<int> visits(static_cast<std::size_t>(n), 0);
      for_each_segment(n, [&](Index b, Index l) {
        for (Index i = b; i < b + l; ++i) ++visits[static_cast<std::size_t>(i)];
      });
      for (Index i = 0; i < n; ++i) ASSERT_EQ(visits[static_cast<std::size_t>(i)], 1) << "n = " << n << ", value " << i;
    }
  }
}

TEST(Segments, NormIsTheSerialNormAndTheSameBitsAtAnyThreadCount) {
  for (const Index n : kLengths) {
    const Vector<float> x = gaussian<float>(n, static_cast<std::uint64_t>(n));
    float at_one = 0, at_two = 0;
    {
      const ScopedThreadCount one(1);
      at_one = segmented_norm(x);
    }
    {
      const ScopedThreadCount two(2);
      at_two = segmented_norm(x);
    }
    EXPECT_EQ(at_one, at_two) << "n = " << n;
    const double exact = x.cast<double>().norm();
    EXPECT_NEAR(at_one, exact, 1e-6 * (1 + exact)) << "n = " << n;
  }
}

TEST(Segments, AllFiniteFindsANonFiniteValueInEverySegment) {
  const ScopedThreadCount two(2);
  const Index n = 5 * kMinSegment + 17;
  Vector<double> x = Vector<double>::Constant(n, std::numeric_limits<double>::max());
  EXPECT_TRUE(segmented_all_finite(x));
  for (const Index i : {Index{0}, kMinSegment - 1, kMinSegment, 3 * kMinSegment + 5, n - 1}) {
    for (const double bad : {std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()}) {
      const double kept = x(i);
      x(i) = bad;
      EXPECT_FALSE(segmented_all_finite(x)) << "value " << i << " = " << bad;
      x(i) = kept;
    }
  }
  EXPECT_TRUE(segmented_all_finite(Vector<float>()));
}

TEST(Segments, CopyResizesAndCopiesEveryValue) {
  const ScopedThreadCount two(2);
  for (const Index n : kLengths) {
    const Vector<float> x = gaussian<float>(n, 7);
    Vector<float> y(3);
    segmented_copy(y, x);
    ASSERT_EQ(y.size(), n);
    EXPECT_TRUE(y == x) << "n = " << n;
  }
}

}  // namespace segments_test
}  // namespace bilevel
