// The byte format of a run's saved state (core/archive.hpp): what is written reads back, and a damaged
// file is refused with a DataError naming it, never misread or allowed to allocate what it claims.
#include "bilevel/core/archive.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bilevel/core/counters.hpp"

namespace bilevel {
namespace archive_test {

// Runs f and returns the DataError's message ("" when nothing was thrown).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const DataError& e) {
    return e.what();
  }
  return "";
}

TEST(Archive, WhatIsWrittenReadsBack) {
  ArchiveWriter w;
  w.tag("section");
  w.i64(-7);
  w.f64(0.25);
  w.vector(std::vector<std::uint32_t>{1, 2, 3});
  Vector<float> v(2);
  v << 1.5f, -2.0f;
  w.vector(v);
  ArchiveReader r(w.bytes(), "state.bin");
  r.tag("section");
  EXPECT_EQ(r.i64(), -7);
  EXPECT_EQ(r.f64(), 0.25);
  EXPECT_EQ(r.vector<std::uint32_t>(3), (std::vector<std::uint32_t>{1, 2, 3}));
  Vector<float> back;
  r.vector_into(back);
  EXPECT_EQ(back, v);
  EXPECT_TRUE(r.done());
}

// Large values are borrowed, not copied: the pieces are the writer's own bytes and views of the values
// themselves, and together they are exactly the bytes a reader reads back.
TEST(Archive, LargeValuesAreWrittenFromWhereTheyAre) {
  const std::vector<std::uint32_t> small(1000, 7);  // 4 000 bytes: copied
  const Vector<double> large = Vector<double>::LinSpaced(ArchiveWriter::kBorrowBytes / 8, 0, 1);  // borrowed
  ArchiveWriter w;
  w.tag("section");
  w.vector(small);
  w.vector(large);
  w.u64(3);
  const auto pieces = w.pieces();
  ASSERT_EQ(pieces.size(), 3u);  // own bytes, the large vector, own bytes
  EXPECT_EQ(pieces[1].data(), reinterpret_cast<const char*>(large.data()));
  EXPECT_EQ(pieces[1].size(), ArchiveWriter::kBorrowBytes);
  std::size_t total = 0;
  for (std::string_view p : pieces) total += p.size();
  EXPECT_EQ(total, w.size());
  EXPECT_EQ(w.bytes().size(), w.size());
  ArchiveReader r(w.bytes(), "state.bin");
  r.tag("section");
  EXPECT_EQ(r.vector<std::uint32_t>(1000), small);
  Vector<double> back;
  r.vector_into(back);
  EXPECT_EQ(back, large);
  EXPECT_EQ(r.u64(), 3u);
  EXPECT_TRUE(r.done());
}

TEST(Archive, ATruncatedFileIsRefusedWithItsName) {
  ArchiveWriter w;
  w.vector(std::vector<double>{1, 2, 3});
  const std::string cut = w.bytes().substr(0, w.bytes().size() - 1);
  ArchiveReader r(cut, "runs/a/state.bin");
  const std::string message = error_of([&] { r.vector<double>(); });
  EXPECT_NE(message.find("runs/a/state.bin: truncated"), std::string::npos) << message;
}

// A count whose size in bytes overflows 64 bits (2^62 values of 8 bytes) once passed the length check
// and asked for the whole vector; found by fuzz_state's kind of input.
TEST(Archive, AnImpossibleCountIsRefusedBeforeAllocating) {
  ArchiveWriter w;
  w.u64(sizeof(double));
  w.u64(std::uint64_t{1} << 62);
  w.f64(1.0);
  ArchiveReader r(w.bytes(), "state.bin");
  Vector<double> v;
  const std::string message = error_of([&] { r.vector_into(v); });
  EXPECT_NE(message.find("truncated: a vector of 4611686018427387904 values"), std::string::npos) << message;
}

TEST(Archive, AnotherPrecisionOrSectionIsNamed) {
  ArchiveWriter w;
  w.tag("estimator");
  w.vector(std::vector<double>{1.0});
  ArchiveReader r(w.bytes(), "state.bin");
  EXPECT_NE(error_of([&] { r.tag("evaluator"); }).find("expected section 'evaluator', found 'estimator'"), std::string::npos);
  ArchiveReader again(w.bytes(), "state.bin");
  again.tag("estimator");
  Vector<float> v;
  EXPECT_NE(error_of([&] { again.vector_into(v); }).find("values of 8 bytes where 4 were expected"), std::string::npos);
}

// Counts out of [0, 2^56] would overflow the budget checks' sums (found by fuzz_state: UBSan reported
// the signed overflow).
TEST(Archive, ImplausibleOracleCountsAreRefused) {
  for (std::int64_t bad : {std::int64_t{-1}, (std::int64_t{1} << 56) + 1}) {
    OracleCounts c;
    c.map_evals = bad;
    ArchiveWriter w;
    save_counts(w, c);
    ArchiveReader r(w.bytes(), "state.bin");
    const std::string message = error_of([&] { load_counts(r); });
    EXPECT_NE(message.find("an oracle count of " + std::to_string(bad)), std::string::npos) << message;
  }
  OracleCounts fine;
  fine.map_evals = std::int64_t{1} << 56;
  ArchiveWriter w;
  save_counts(w, fine);
  ArchiveReader r(w.bytes(), "state.bin");
  EXPECT_EQ(load_counts(r), fine);
}

}  // namespace archive_test
}  // namespace bilevel
