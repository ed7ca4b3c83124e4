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
  return sum_over_segments<S>(x.size(), [&](Index b, Index l) {
           const auto a = x.segment(b, l).array();
           return (a - a).sum();
         }) == S(0);
}

// dst = src (resized first when the sizes differ).
template <class V, class W>
void segmented_copy(V& dst, const W& src) {
  dst.resize(src.size());
  for_each_segment(src.size(), [&](Index b, Index l) { dst.segment(b, l) = src.segment(b, l); });
}

}  // namespace bilevel
