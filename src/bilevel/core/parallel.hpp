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
#include <initializer_list>

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

// The parallel loops of one thread (the publisher: run_in_team's body, or run_beside's `work`), handed
// out to the other threads of its OpenMP team, which wait for them spinning: a loop costs a few
// cache-line transfers instead of an OpenMP region of its own (an empty two-thread region took 3.4 us
// here, a shared loop 0.3 us; docs/performance.md). The publisher posts one loop at a time (its chunk
// function and a claim word) and waits for all its chunks. Two ways of sharing a loop:
// - fixed shares (a team whose helpers are all free): thread t of T runs the chunks
//   [t count / T, (t + 1) count / T), as OpenMP's static schedule gave them, so that each thread runs
//   the same chunks in every iteration: what it wrote in one loop it mostly reads itself in the next,
//   and its scratch memory (core/scratch.hpp) is sized once (a hot loop allocates nothing). A helper
//   claims its share by setting its bit in the word.
// - chunk by chunk (run_beside's work, while a helper runs the serial part): the publisher claims
//   chunks from the front and the helpers from the back, whoever is free.
// Either way a claim is a compare-and-swap on a word that also holds the loop's generation, so that a
// claim that succeeds is one of the loop whose function it read: a loop ends only after every chunk
// was claimed and run.
// One task at a time can also be posted, which one helper runs whole (run_beside's serial part).
class SharedLoops {
 public:
  using Run = void (*)(void* loop, Index chunk);
  using Task = void (*)(void* task);

  // The publisher: runs the chunks 0..count-1 of run(loop, c) over the team, returns when all are done.
  void run(Run run, void* loop, Index count) {
    done_.store(0, std::memory_order_relaxed);
    run_.store(run, std::memory_order_relaxed);
    loop_.store(loop, std::memory_order_relaxed);
    generation_ = (generation_ + 1) & 0xffff;
    const bool fixed = helpers_ > 0 && helpers_ < kMaxFixedThreads && task_free();
    const auto c = static_cast<std::uint64_t>(count);
    word_.store(generation_ << 48 | (fixed ? kFixed | c << 32 : c), std::memory_order_release);
    if (fixed) {
      run_share(run, loop, 0, helpers_ + 1, count);
    } else {
      while (help(/*from_back=*/false)) {
      }
    }
    while (done_.load(std::memory_order_acquire) < count) pause();
  }
  // Claims and runs one chunk of the loop in progress (shared chunk by chunk), the first unclaimed one
  // or the last; false when none is left to claim.
  bool help(bool from_back) {
    std::uint64_t word = word_.load(std::memory_order_acquire);
    if (word & kFixed) return false;
    const std::uint64_t front = word >> 16 & 0xffff, back = word & 0xffff;
    if (front >= back) return false;
    const Run run = run_.load(std::memory_order_relaxed);
    void* loop = loop_.load(std::memory_order_relaxed);
    const std::uint64_t claimed = from_back ? word - 1 : word + (std::uint64_t{1} << 16);
    if (!word_.compare_exchange_strong(word, claimed, std::memory_order_acq_rel)) return true;  // taken: again
    run_chunk(run, loop, static_cast<Index>(from_back ? back - 1 : front));
    done_.fetch_add(1, std::memory_order_release);
    return true;
  }
  // Helper `thread` of `threads` (the team's size): claims and runs its share of the loop in progress
  // (shared in fixed shares) if it has not yet; false when there is nothing to claim.
  bool take_share(int thread, int threads) {
    std::uint64_t word = word_.load(std::memory_order_acquire);
    const std::uint64_t bit = std::uint64_t{1} << thread;
    if (!(word & kFixed) || (word & bit)) return false;
    const auto count = static_cast<Index>(word >> 32 & 0x7fff);
    if (share_begin(thread, threads, count) == share_begin(thread + 1, threads, count)) return false;
    const Run run = run_.load(std::memory_order_relaxed);
    void* loop = loop_.load(std::memory_order_relaxed);
    if (!word_.compare_exchange_strong(word, word | bit, std::memory_order_acq_rel)) return true;  // changed: again
    run_share(run, loop, thread, threads, count);
    return true;
  }
  // The helpers (`thread` of `threads`): the posted task, or chunks as they come, until the publisher
  // has ended.
  void help_until_finished(int thread, int threads) {
    while (!finished_.load(std::memory_order_acquire))
      if (!run_task() && !take_share(thread, threads) && !help(/*from_back=*/true)) pause();
  }
  void finish() { finished_.store(true, std::memory_order_release); }

  // The publisher: has one helper run task(arg) (wait_task() waits for its end). One at a time.
  void post(Task task, void* arg) {
    task_.store(task, std::memory_order_relaxed);
    task_arg_.store(arg, std::memory_order_relaxed);
    task_state_.store(kPosted, std::memory_order_release);
  }
  bool task_free() const { return task_state_.load(std::memory_order_acquire) == kIdle; }
  void wait_task() {
    while (task_state_.load(std::memory_order_acquire) != kDone) pause();
    task_state_.store(kIdle, std::memory_order_relaxed);
  }
  // The threads spinning in help_until_finished besides the publisher (set by run_in_team; run_beside's
  // worker has none free: its one helper runs the serial part first).
  int helpers() const { return helpers_; }
  void set_helpers(int n) { helpers_ = n; }

  // The SharedLoops this thread's loops go to (a publisher's), else nullptr.
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
  static constexpr int kIdle = 0, kPosted = 1, kTaken = 2, kDone = 3;
  // The word of a loop in fixed shares: this bit, the chunk count in bits 32-46, and one bit per helper
  // that has claimed its share (bits 1-31).
  static constexpr std::uint64_t kFixed = std::uint64_t{1} << 47;
  static constexpr int kMaxFixedThreads = 32;
  static void run_chunk(Run run, void* loop, Index chunk) {
    in_chunk() = true;
    run(loop, chunk);
    in_chunk() = false;
  }
  // Thread t of T's share of `count` chunks in fixed shares is [share_begin(t), share_begin(t + 1)).
  static Index share_begin(int thread, int threads, Index count) { return thread * count / threads; }
  // Runs thread t of T's share of the loop and counts it done (the publisher is thread 0).
  void run_share(Run run, void* loop, int thread, int threads, Index count) {
    const Index begin = share_begin(thread, threads, count), end = share_begin(thread + 1, threads, count);
    for (Index k = begin; k < end; ++k) run_chunk(run, loop, k);
    done_.fetch_add(end - begin, std::memory_order_release);
  }
  // Runs the posted task if no other helper took it first.
  bool run_task() {
    int posted = kPosted;
    if (task_state_.load(std::memory_order_relaxed) != kPosted ||
        !task_state_.compare_exchange_strong(posted, kTaken, std::memory_order_acq_rel))
      return false;
    task_.load(std::memory_order_relaxed)(task_arg_.load(std::memory_order_relaxed));
    task_state_.store(kDone, std::memory_order_release);
    return true;
  }

  // Three cache lines: what the publisher writes once per loop and the helpers spin on; the count of
  // chunks done, which the publisher spins on; the end and the task.
  // generation (16 bits) | 0 (16) | front (16) | back (16), or in fixed shares (kFixed) generation |
  // kFixed | count (15) | claimed shares (32)
  alignas(64) std::atomic<std::uint64_t> word_{0};
  std::atomic<Run> run_{nullptr};
  std::atomic<void*> loop_{nullptr};
  alignas(64) std::atomic<Index> done_{0};
  alignas(64) std::atomic<bool> finished_{false};
  std::atomic<Task> task_{nullptr};
  std::atomic<void*> task_arg_{nullptr};
  std::atomic<int> task_state_{kIdle};
  std::uint64_t generation_ = 0;  // the publisher's alone
  int helpers_ = 0;               // the publisher's alone
};

// Runs f(), keeping its exception in `error` for the caller to rethrow once every thread is done.
template <class F>
void capture(F&& f, std::exception_ptr& error) {
  try {
    f();
  } catch (...) {
    error = std::current_exception();
  }
}

// Runs f() as the publisher of `loops` (its parallel loops go to the team), then ends the helpers' wait.
template <class F>
void publish(SharedLoops& loops, F&& f, std::exception_ptr& error) {
  SharedLoops::of_this_thread() = &loops;
  capture(f, error);
  SharedLoops::of_this_thread() = nullptr;
  loops.finish();
}

// Rethrows the first exception kept, in the order given.
inline void rethrow_first(std::initializer_list<std::exception_ptr> errors) {
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace parallel_detail

// Calls f(c, begin, length) for every chunk c, in parallel. f must write only what belongs to its
// chunk. An exception thrown by f is rethrown here (the first chunk's, by chunk order). Nested in
// another loop's chunk (meta-learning's tasks call the softmax kernels), it runs the chunks in order
// on the calling thread: the same results, without a team of threads per call.
// Inside run_in_team's body or run_beside's `work`, the chunks are shared with the team's other
// threads (SharedLoops) instead of an OpenMP region of their own.
template <class F>
void for_each_chunk(const RowChunks& chunks, F&& f) {
  using parallel_detail::SharedLoops;
  SharedLoops* shared = SharedLoops::of_this_thread();
  const bool share = shared && !SharedLoops::in_chunk() && chunks.count <= 0x7fff;  // the claim word's bits
  if (chunks.count <= 1 || (!share && (thread_count() <= 1 || in_parallel_loop()))) {
    for (Index c = 0; c < chunks.count; ++c) f(c, chunks.begin(c), chunks.length(c));
    return;
  }
  std::array<std::exception_ptr, kMaxChunks> errors;  // on the stack: a parallel loop allocates nothing
  auto run = [&](Index c) {
    parallel_detail::capture([&] { f(c, chunks.begin(c), chunks.length(c)); }, errors[static_cast<std::size_t>(c)]);
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

// Runs body() on the calling thread while the other threads of an OpenMP team wait beside it,
// spinning, for its parallel loops (for_each_chunk) and its run_beside's serial part (SharedLoops): one
// OpenMP region for all of them. For a stretch of many short loops, as an upper-level iteration at a
// minibatch is (equilibrium at B = 256: 28 loops in about 2 ms), not for long serial work, during
// which the other threads would spin. With one thread, or inside a parallel loop or another team,
// body() runs as it is. An exception from body() is rethrown here.
template <class Body>
void run_in_team(Body&& body) {
  using parallel_detail::SharedLoops;
  if (thread_count() < 2 || in_parallel_loop() || SharedLoops::of_this_thread()) {
    body();
    return;
  }
  SharedLoops loops;
  std::exception_ptr error;
#ifdef _OPENMP
#pragma omp parallel
  {
    if (omp_get_thread_num() == 0) {
      loops.set_helpers(omp_get_num_threads() - 1);
      parallel_detail::publish(loops, body, error);
    } else {
      loops.help_until_finished(omp_get_thread_num(), omp_get_num_threads());
    }
  }
#else
  body();
#endif
  if (error) std::rethrow_exception(error);
}

// Runs serial() on one thread while another runs work(), whose parallel loops (for_each_chunk) are
// shared with the first thread once serial() has returned, chunk by chunk: work that does not wait
// for serial() fills the time a serial step would leave a thread idle (the outer loop projects lambda
// beside the next minibatch's first products). Which thread computes a chunk changes nothing: each
// chunk is computed whole, as in any parallel loop. serial() and work() must not touch the same
// memory. Outside a team serial() runs on the calling thread and work() on a second one; in
// run_in_team's body, work() on the calling thread and serial() on a helper of the team. With one
// thread, or inside a parallel loop, serial() then work(). An exception from either is rethrown here
// (serial()'s first) after both have ended.
template <class Serial, class Work>
void run_beside(Serial&& serial, Work&& work) {
  using parallel_detail::capture;
  using parallel_detail::SharedLoops;
  std::exception_ptr serial_error, work_error;
  if (SharedLoops* team = SharedLoops::of_this_thread();
      team && !SharedLoops::in_chunk() && team->helpers() > 0 && team->task_free()) {
    auto task = [&] { capture(serial, serial_error); };
    using Task = decltype(task);
    team->post([](void* t) { (*static_cast<Task*>(t))(); }, &task);
    capture(work, work_error);
    team->wait_task();
    parallel_detail::rethrow_first({serial_error, work_error});
    return;
  }
  if (thread_count() < 2 || in_parallel_loop() || SharedLoops::of_this_thread()) {
    serial();
    work();
    return;
  }
  SharedLoops loops;
#ifdef _OPENMP
#pragma omp parallel
  {
    const int thread = omp_get_thread_num();
    if (omp_get_num_threads() < 2) {  // the runtime gave one thread: in order
      capture(serial, serial_error);
      if (!serial_error) capture(work, work_error);
    } else if (thread == 1) {
      parallel_detail::publish(loops, work, work_error);
    } else {
      if (thread == 0) capture(serial, serial_error);
      loops.help_until_finished(thread, omp_get_num_threads());
    }
  }
#endif
  parallel_detail::rethrow_first({serial_error, work_error});
}

}  // namespace bilevel
