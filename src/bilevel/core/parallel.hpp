#pragma once
// Deterministic parallel loops over the examples of a batch.
//
// Bit-identical results at every thread count come from one rule: how the work is cut and in which
// order partial results are added depends only on the batch size, never on the number of threads.
// A batch of n rows is cut into row_chunks(n) chunks (at least kMinChunkRows rows each, at most
// kMaxChunks of them, a power of two); each chunk is computed whole by one thread, and sums over
// examples are kept per chunk and added in chunk order afterwards (sum_columns_in_order,
// core/scratch.hpp). The threads only decide who computes which chunk.
//
// Eigen itself stays single-threaded (EIGEN_DONT_PARALLELIZE, set by the build): its parallel GEMM
// chooses its blocking, and so its summation order, from the thread count.
#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <exception>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "bilevel/core/types.hpp"

namespace bilevel {

// Below this many rows a chunk costs more to hand out than it saves.
inline constexpr Index kMinChunkRows = 64;
// Enough chunks to balance 2 to 16 threads; few enough that per-chunk partial sums stay small.
inline constexpr Index kMaxChunks = 16;
static_assert(std::has_single_bit(static_cast<std::size_t>(kMaxChunks)));

// The chunking of n rows: `count` chunks of `size` rows (the last one shorter).
struct RowChunks {
  Index rows = 0, size = 0, count = 0;
  Index begin(Index c) const { return c * size; }
  Index length(Index c) const { return std::min(size, rows - c * size); }
};

// The chunking of n items (rows, tasks, columns) into chunks of at least min_items each (but one).
// Their number is a power of two, so that 2, 4, 8 or 16 threads get equal shares: with 9 chunks (600
// rows) two threads took 5 and 4, and the first one's fifth set the pace of every parallel loop.
inline RowChunks chunks_of(Index n, Index min_items) {
  if (n <= 0) return {0, 0, 1};  // one empty chunk: callers' sums stay defined
  const auto most = static_cast<std::size_t>(std::clamp<Index>(n / std::max<Index>(min_items, 1), 1, kMaxChunks));
  const auto count = static_cast<Index>(std::bit_floor(most));
  const Index size = (n + count - 1) / count;
  return {n, size, (n + size - 1) / size};
}

inline RowChunks row_chunks(Index rows) { return chunks_of(rows, kMinChunkRows); }

// The threads parallel loops use (the process-wide OpenMP setting); 1 without OpenMP.
inline int thread_count() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// Sets the threads of parallel loops; n <= 0 keeps OpenMP's default (OMP_NUM_THREADS, else the cores).
inline void set_thread_count(int n) {
#ifdef _OPENMP
  if (n > 0) omp_set_num_threads(n);
#else
  (void)n;
#endif
}

// Sets the thread count for its lifetime and restores the previous one (benchmarks and tests that
// compare thread counts in one process).
class ScopedThreadCount {
 public:
  explicit ScopedThreadCount(int n) : before_(thread_count()) { set_thread_count(n); }
  ~ScopedThreadCount() { set_thread_count(before_); }
  ScopedThreadCount(const ScopedThreadCount&) = delete;
  ScopedThreadCount& operator=(const ScopedThreadCount&) = delete;

 private:
  int before_;
};

// True inside a parallel loop's chunk: a loop nested in it runs on the calling thread.
inline bool in_parallel_loop() {
#ifdef _OPENMP
  return omp_in_parallel() != 0;
#else
  return false;
#endif
}

// Calls f(c, begin, length) for every chunk c, in parallel. f must write only what belongs to its
// chunk. An exception thrown by f is rethrown here (the first chunk's, by chunk order). Nested in
// another loop's chunk (meta-learning's tasks call the softmax kernels), it runs the chunks in order
// on the calling thread: the same results, without a team of threads per call.
template <class F>
void for_each_chunk(const RowChunks& chunks, F&& f) {
  if (chunks.count <= 1 || thread_count() <= 1 || in_parallel_loop()) {
    for (Index c = 0; c < chunks.count; ++c) f(c, chunks.begin(c), chunks.length(c));
    return;
  }
  std::array<std::exception_ptr, kMaxChunks> errors;  // on the stack: a parallel loop allocates nothing
#pragma omp parallel for schedule(static)
  for (Index c = 0; c < chunks.count; ++c) {
    try {
      f(c, chunks.begin(c), chunks.length(c));
    } catch (...) {
      errors[static_cast<std::size_t>(c)] = std::current_exception();
    }
  }
  for (Index c = 0; c < chunks.count; ++c)
    if (errors[static_cast<std::size_t>(c)]) std::rethrow_exception(errors[static_cast<std::size_t>(c)]);
}

}  // namespace bilevel
