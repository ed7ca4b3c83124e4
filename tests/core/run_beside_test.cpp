// run_beside and run_in_team (core/parallel.hpp): the serial part and the work both run, at the same
// time, the work's parallel loops visit every chunk once and are shared with the thread that ran the
// serial part, results are the same bits as without it, and exceptions from either side reach the
// caller; all of it on its own and inside a team (run_in_team, where the serial part goes to a
// helper thread and the work stays on the calling one), whose body's loops are shared too.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "bilevel/core/parallel.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace bilevel {
namespace run_beside_test {

int this_thread() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

// Sums of i^2 over every chunk of a loop, one per chunk.
std::vector<double> chunk_sums(const RowChunks& chunks) {
  std::vector<double> sums(static_cast<std::size_t>(chunks.count), 0.0);
  for_each_chunk(chunks, [&](Index c, Index begin, Index length) {
    for (Index i = begin; i < begin + length; ++i) sums[static_cast<std::size_t>(c)] += 0.5 * static_cast<double>(i * i);
  });
  return sums;
}

// Counts one arrival in `arrived` and waits until `n` have arrived, for at most 20 s: false if it gave
// up (the others did not run at the same time).
bool meet(std::atomic<int>& arrived, int n) {
  arrived.fetch_add(1);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (arrived.load() < n)
    if (std::chrono::steady_clock::now() > give_up) return false;
  return true;
}

// A loop of two chunks that can only end (before the give-up) if two threads run its chunks at the
// same time, and the threads that ran them.
struct TwoChunksAtOnce {
  std::atomic<int> arrived{0};
  std::atomic<bool> met{true};
  std::vector<int> ran_on = std::vector<int>(2, -1);
  void operator()() {
    for_each_chunk(chunks_of(2, 1), [&](Index c, Index, Index) {
      ran_on[static_cast<std::size_t>(c)] = this_thread();
      if (!meet(arrived, 2)) met = false;
    });
  }
};

// f() on its own, or as the body of a team.
template <class F>
void maybe_in_team(bool team, F&& f) {
  if (team) run_in_team(f);
  else f();
}

class RunBeside : public ::testing::TestWithParam<bool> {};  // inside a team or not
INSTANTIATE_TEST_SUITE_P(OnItsOwnAndInATeam, RunBeside, ::testing::Values(false, true));

TEST_P(RunBeside, BothPartsRunAndEveryChunkOfEveryLoopOnceAtOneAndTwoThreads) {
  for (const int threads : {1, 2}) {
    const ScopedThreadCount at(threads);
    const RowChunks chunks = chunks_of(1000, 10);
    const std::vector<double> expected = chunk_sums(chunks);
    std::vector<int> visits(1000, 0);
    std::vector<std::vector<double>> sums;
    bool serial_ran = false;
    std::vector<int> serial_visits(300, 0);
    maybe_in_team(GetParam(), [&] {
      run_beside(
          [&] {
            serial_ran = true;
            // A loop in the serial part runs there, whole.
            for_each_chunk(chunks_of(300, 10), [&](Index, Index begin, Index length) {
              for (Index i = begin; i < begin + length; ++i) ++serial_visits[static_cast<std::size_t>(i)];
            });
          },
          [&] {
            for (int loop = 0; loop < 50; ++loop) sums.push_back(chunk_sums(chunks));
            for_each_chunk(chunks, [&](Index, Index begin, Index length) {
              for (Index i = begin; i < begin + length; ++i) ++visits[static_cast<std::size_t>(i)];
            });
          });
    });
    EXPECT_TRUE(serial_ran);
    for (int v : visits) ASSERT_EQ(v, 1) << threads << " threads";
    for (int v : serial_visits) ASSERT_EQ(v, 1) << threads << " threads";
    for (const auto& s : sums) ASSERT_EQ(s, expected) << threads << " threads";  // the same bits
  }
}

// The work's loop of two chunks can only end if two threads run its chunks at the same time: each
// chunk waits (for at most 20 s) until both have started. Without sharing it would time out.
TEST_P(RunBeside, TheThreadDoneWithTheSerialPartRunsChunksOfTheWork) {
  const ScopedThreadCount at(2);
  TwoChunksAtOnce loop;
  maybe_in_team(GetParam(), [&] { run_beside([] {}, [&] { loop(); }); });
  EXPECT_TRUE(loop.met.load());
  EXPECT_NE(loop.ran_on[0], loop.ran_on[1]);
}

// The serial part and the work run at the same time: each waits (for at most 20 s) until the other
// has started.
TEST_P(RunBeside, TheSerialPartAndTheWorkRunAtTheSameTime) {
  const ScopedThreadCount at(2);
  std::atomic<int> arrived{0};
  std::atomic<bool> waited_in_vain{false};
  auto start_and_wait = [&] {
    if (!meet(arrived, 2)) waited_in_vain = true;
  };
  maybe_in_team(GetParam(), [&] { run_beside(start_and_wait, start_and_wait); });
  EXPECT_FALSE(waited_in_vain.load());
}

// A loop nested in a chunk of a shared loop runs on the chunk's thread.
TEST_P(RunBeside, ALoopNestedInASharedChunkRunsOnItsThread) {
  const ScopedThreadCount at(2);
  std::vector<int> outer(8, -1), inner(8 * 4, -2);
  maybe_in_team(GetParam(), [&] {
    run_beside([] {},
               [&] {
                 for_each_chunk(chunks_of(8, 1), [&](Index c, Index, Index) {
                   outer[static_cast<std::size_t>(c)] = this_thread();
                   for_each_chunk(chunks_of(4, 1), [&](Index i, Index, Index) {
                     inner[static_cast<std::size_t>(4 * c + i)] = this_thread();
                   });
                 });
               });
  });
  for (std::size_t c = 0; c < 8; ++c)
    for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(inner[4 * c + i], outer[c]) << "chunk " << c;
}

TEST_P(RunBeside, AnExceptionOfEitherPartReachesTheCallerTheSerialOneFirst) {
  for (const int threads : {1, 2}) {
    const ScopedThreadCount at(threads);
    auto throwing_loop = [] {
      for_each_chunk(chunks_of(64, 4), [](Index c, Index, Index) {
        if (c == 3) throw std::runtime_error("work");
      });
    };
    try {
      maybe_in_team(GetParam(), [&] { run_beside([] {}, throwing_loop); });
      ADD_FAILURE() << "no exception";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "work");
    }
    try {
      maybe_in_team(GetParam(), [&] { run_beside([] { throw std::runtime_error("serial"); }, throwing_loop); });
      ADD_FAILURE() << "no exception";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "serial");
    }
    // The threads still work afterwards, and a team after a failed one.
    EXPECT_EQ(chunk_sums(chunks_of(100, 10)).size(), 8u);
    maybe_in_team(GetParam(), [&] { EXPECT_EQ(chunk_sums(chunks_of(100, 10)), chunk_sums(chunks_of(100, 10))); });
  }
}

// A team's body: its loops visit every chunk once with the same bits as without a team, at one and
// two threads; a loop of two chunks can only end if the helper runs one (each waits, for at most
// 20 s, until both have started); a team inside a team is the body alone; an exception reaches the
// caller.
TEST(RunInTeam, TheBodysLoopsAreSharedWithTheTeam) {
  const RowChunks chunks = chunks_of(1000, 10);
  const std::vector<double> expected = chunk_sums(chunks);
  for (const int threads : {1, 2}) {
    const ScopedThreadCount at(threads);
    std::vector<int> visits(1000, 0);
    std::vector<std::vector<double>> sums;
    run_in_team([&] {
      for (int loop = 0; loop < 50; ++loop) sums.push_back(chunk_sums(chunks));
      run_in_team([&] {  // nested: the body alone
        for_each_chunk(chunks, [&](Index, Index begin, Index length) {
          for (Index i = begin; i < begin + length; ++i) ++visits[static_cast<std::size_t>(i)];
        });
      });
    });
    for (int v : visits) ASSERT_EQ(v, 1) << threads << " threads";
    for (const auto& s : sums) ASSERT_EQ(s, expected) << threads << " threads";
  }
  const ScopedThreadCount at(2);
  TwoChunksAtOnce loop;
  run_in_team([&] { loop(); });
  EXPECT_TRUE(loop.met.load());
  EXPECT_NE(loop.ran_on[0], loop.ran_on[1]);
  EXPECT_THROW(run_in_team([] { throw std::runtime_error("body"); }), std::runtime_error);
}

}  // namespace run_beside_test
}  // namespace bilevel
