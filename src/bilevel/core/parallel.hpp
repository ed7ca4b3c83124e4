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
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
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

namespace parallel_detail {

inline void pause() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// The parallel loops of run_beside's `work`, handed out chunk by chunk to every thread of its team.
// The worker thread publishes one loop at a time (its chunk function and a claim word) and waits for
// all its chunks; the other threads claim chunks by a compare-and-swap on the word. The word holds the
// loop's generation, its chunk count and the next chunk together, so that a claim that succeeds is
// one of the loop whose function it read: a loop ends only after every chunk was claimed and run.
class SharedLoops {
 public:
  using Run = void (*)(void* loop, Index chunk);

  // The worker: runs the chunks 0..count-1 of run(loop, c) over the team, returns when all are done.
  void run(Run run, void* loop, Index count) {
    done_.store(0, std::memory_order_relaxed);
    run_.store(run, std::memory_order_relaxed);
    loop_.store(loop, std::memory_order_relaxed);
    generation_ = (generation_ + 1) & 0xffff;
    word_.store(generation_ << 48 | static_cast<std::uint64_t>(count) << 32, std::memory_order_release);
    while (help()) {
    }
    while (done_.load(std::memory_order_acquire) < count) pause();
  }
  // Claims and runs one chunk of the loop in progress; false when none is left to claim.
  bool help() {
    std::uint64_t word = word_.load(std::memory_order_acquire);
    const std::uint64_t count = word >> 32 & 0xffff, next = word & 0xffffffff;
    if (next >= count) return false;
    const Run run = run_.load(std::memory_order_relaxed);
    void* loop = loop_.load(std::memory_order_relaxed);
    if (!word_.compare_exchange_strong(word, word + 1, std::memory_order_acq_rel)) return true;  // taken: again
    in_chunk() = true;
    run(loop, static_cast<Index>(next));
    in_chunk() = false;
    done_.fetch_add(1, std::memory_order_release);
    return true;
  }
  // The helpers: chunks as they come, until the worker's work has ended.
  void help_until_finished() {
    while (!finished_.load(std::memory_order_acquire))
      if (!help()) pause();
  }
  void finish() { finished_.store(true, std::memory_order_release); }

  // The SharedLoops this thread's loops go to (run_beside's worker), else nullptr.
  static SharedLoops*& of_this_thread() {
    thread_local SharedLoops* loops = nullptr;
    return loops;
  }
  // Whether this thread is running a chunk of a shared loop (a loop nested in it runs serially).
  static bool& in_chunk() {
    thread_local bool inside = false;
    return inside;
  }

 private:
  std::atomic<std::uint64_t> word_{0};  // generation (16 bits) | count (16) | next chunk (32)
  std::atomic<Run> run_{nullptr};
  std::atomic<void*> loop_{nullptr};
  std::atomic<Index> done_{0};
  std::atomic<bool> finished_{false};
  std::uint64_t generation_ = 0;  // the worker's alone
};

}  // namespace parallel_detail

// Calls f(c, begin, length) for every chunk c, in parallel. f must write only what belongs to its
// chunk. An exception thrown by f is rethrown here (the first chunk's, by chunk order). Nested in
// another loop's chunk (meta-learning's tasks call the softmax kernels), it runs the chunks in order
// on the calling thread: the same results, without a team of threads per call.
// Inside run_beside's `work`, the chunks are shared with the threads that are done with `serial`.
template <class F>
void for_each_chunk(const RowChunks& chunks, F&& f) {
  using parallel_detail::SharedLoops;
  SharedLoops* shared = SharedLoops::of_this_thread();
  const bool share = shared && !SharedLoops::in_chunk();
  if (chunks.count <= 1 || (!share && (thread_count() <= 1 || in_parallel_loop()))) {
    for (Index c = 0; c < chunks.count; ++c) f(c, chunks.begin(c), chunks.length(c));
    return;
  }
  std::array<std::exception_ptr, kMaxChunks> errors;  // on the stack: a parallel loop allocates nothing
  auto run = [&](Index c) {
    try {
      f(c, chunks.begin(c), chunks.length(c));
    } catch (...) {
      errors[static_cast<std::size_t>(c)] = std::current_exception();
    }
  };
  if (share) {
    using Run = decltype(run);
    shared->run([](void* loop, Index c) { (*static_cast<Run*>(loop))(c); }, &run, chunks.count);
  } else {
#pragma omp parallel for schedule(static)
    for (Index c = 0; c < chunks.count; ++c) run(c);
  }
  for (Index c = 0; c < chunks.count; ++c)
    if (errors[static_cast<std::size_t>(c)]) std::rethrow_exception(errors[static_cast<std::size_t>(c)]);
}

// Runs serial() on the calling thread while a second thread runs work(), whose parallel loops
// (for_each_chunk) are shared with the calling thread once serial() has returned, chunk by chunk:
// work that does not wait for serial() fills the time a serial step would leave a thread idle (the
// outer loop projects lambda beside the next minibatch's first products). Which thread computes a
// chunk changes nothing: each chunk is computed whole, as in any parallel loop. serial() and work()
// must not touch the same memory. With one thread, or inside a parallel loop, serial() then work().
// An exception from either is rethrown here (serial()'s first) after both have ended.
template <class Serial, class Work>
void run_beside(Serial&& serial, Work&& work) {
  using parallel_detail::SharedLoops;
  if (thread_count() < 2 || in_parallel_loop() || SharedLoops::of_this_thread()) {
    serial();
    work();
    return;
  }
  SharedLoops loops;
  std::exception_ptr serial_error, work_error;
#ifdef _OPENMP
#pragma omp parallel
  {
    const int thread = omp_get_thread_num();
    if (omp_get_num_threads() < 2) {  // the runtime gave one thread: in order
      try {
        serial();
      } catch (...) {
        serial_error = std::current_exception();
      }
      try {
        if (!serial_error) work();
      } catch (...) {
        work_error = std::current_exception();
      }
    } else if (thread == 1) {
      SharedLoops::of_this_thread() = &loops;
      try {
        work();
      } catch (...) {
        work_error = std::current_exception();
      }
      SharedLoops::of_this_thread() = nullptr;
      loops.finish();
    } else {
      if (thread == 0) {
        try {
          serial();
        } catch (...) {
          serial_error = std::current_exception();
        }
      }
      loops.help_until_finished();
    }
  }
#endif
  if (serial_error) std::rethrow_exception(serial_error);
  if (work_error) std::rethrow_exception(work_error);
}

}  // namespace bilevel
