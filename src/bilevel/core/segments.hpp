#pragma once
// Elementwise work on long vectors (w, v, lambda, h), cut into fixed segments over the threads.
//
// Why: at two threads the oracles write the halves of their outputs on two cores (their chunks of
// examples or of columns), and a vector operation on the main thread alone then moves half of every
// vector between the cores first. For equilibrium at B = 256 (w 51 200 floats, lambda 199 010) the
// estimator's serial copies, axpys, norms, checks and memsets took about a quarter of a two-thread
// upper-level iteration while the other thread waited (perf, docs/performance.md). Cut into the
// same contiguous halves, each thread mostly touches what it wrote itself.
//
// As everywhere (core/parallel.hpp), the cut depends only on the length, never on the thread count,
// and sums are added segment by segment in order: the same bits at any thread count. Vectors
// shorter than two segments are one segment, computed on the calling thread.
#include <array>
#include <cmath>

#include "bilevel/core/parallel.hpp"
#include "bilevel/core/types.hpp"

namespace bilevel {

// Below this many values a second thread costs more than it saves (the UL step's measurement,
// methods/outer_loop.hpp).
inline constexpr Index kMinSegment = 16384;

inline RowChunks segments_of(Index n) { return chunks_of(n, kMinSegment); }

// Calls f(begin, length) for every segment of [0, n), in parallel.
template <class F>
void for_each_segment(Index n, F&& f) {
  for_each_chunk(segments_of(n), [&](Index, Index begin, Index length) { f(begin, length); });
}

// sum over segments, in segment order, of part(begin, length).
template <class T, class F>
T sum_over_segments(Index n, F&& part) {
  const RowChunks segments = segments_of(n);
  std::array<T, kMaxChunks> parts{};  // on the stack: nothing allocated
  for_each_chunk(segments, [&](Index c, Index begin, Index length) {
    parts[static_cast<std::size_t>(c)] = part(begin, length);
  });
  T total = parts[0];
  for (Index c = 1; c < segments.count; ++c) total += parts[static_cast<std::size_t>(c)];
  return total;
}

// A squared norm and a finiteness check, taken in the same pass as an update (sum_over_segments adds
// them segment by segment): the estimator's loops would otherwise read w, v or h once more, in a
// parallel region of their own, only to check them.
template <class S>
struct SquaredAndFinite {
  S squared = 0;  // the sum of squares
  S check = 0;    // the sum of x - x: exactly 0 when every entry is finite, NaN otherwise
  SquaredAndFinite& operator+=(const SquaredAndFinite& o) {
    squared += o.squared;
    check += o.check;
    return *this;
  }
  bool finite() const { return check == S(0); }
};

// SquaredAndFinite's check of a segment `x` (a vector expression or block).
template <class V>
typename V::Scalar finiteness_check(const V& x) {
  return (x.array() - x.array()).sum();
}
// The squared norm and finiteness of a segment `x`.
template <class V>
SquaredAndFinite<typename V::Scalar> squared_and_finite(const V& x) {
  return {x.squaredNorm(), finiteness_check(x)};
}

// ||x||, from the segments' squared norms.
template <class V>
typename V::Scalar segmented_norm(const V& x) {
  using S = typename V::Scalar;
  return std::sqrt(sum_over_segments<S>(x.size(), [&](Index b, Index l) { return x.segment(b, l).squaredNorm(); }));
}

// Whether every entry is finite (core/finite.hpp's test, segment by segment).
template <class V>
bool segmented_all_finite(const V& x) {
  using S = typename V::Scalar;
  return sum_over_segments<S>(x.size(), [&](Index b, Index l) { return finiteness_check(x.segment(b, l)); }) == S(0);
}

// dst = src (resized first when the sizes differ).
template <class V, class W>
void segmented_copy(V& dst, const W& src) {
  dst.resize(src.size());
  for_each_segment(src.size(), [&](Index b, Index l) { dst.segment(b, l) = src.segment(b, l); });
}

}  // namespace bilevel
