// Reading a run's directory back: a partial last line (a run killed while writing) is ignored, a
// corrupt line in the middle is an error naming the file and line, derived fields are computed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "bilevel/core/error.hpp"
#include "bilevel/experiments/run_records.hpp"

namespace bilevel {
namespace run_records_test {

namespace fs = std::filesystem;

fs::path scratch(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("bilevel-records-" + std::to_string(getpid()) + "-" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

TEST(RunRecords, APartialLastLineIsIgnored) {
  const fs::path dir = scratch("partial");
  std::ofstream(dir / "metrics.jsonl") << R"({"iteration":0,"samples":0})" "\n"
                                       << R"({"iteration":10,"samples":500,"counts":{"gradients":3,"matvecs":4}})" "\n"
                                       << R"({"iteration":20,"sam)";
  const RunRecord r = read_run(dir);
  ASSERT_EQ(r.checkpoints.size(), 2u);
  EXPECT_EQ(r.status(), "missing");  // no summary.json
  EXPECT_EQ(field(r.checkpoints[1], "iteration"), 10.0);
  EXPECT_EQ(field(r.checkpoints[1], "epochs", 250), 2.0);
  EXPECT_EQ(field(r.checkpoints[1], "oracle_calls"), 7.0);
  EXPECT_FALSE(field(r.checkpoints[1], "epochs").has_value());  // no examples per epoch given
  EXPECT_FALSE(field(r.checkpoints[1], "test_accuracy").has_value());
  fs::remove_all(dir);
}

TEST(RunRecords, ACorruptLineIsAnErrorNamingFileAndLine) {
  const fs::path dir = scratch("corrupt");
  std::ofstream(dir / "metrics.jsonl") << R"({"iteration":0})" "\n" << "{oops\n" << R"({"iteration":2})" "\n";
  try {
    read_run(dir);
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("metrics.jsonl:2"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(RunRecords, ReadsTheSummaryStatusAndError) {
  const fs::path dir = scratch("summary");
  std::ofstream(dir / "summary.json") << R"({"status":"failed","error":"lambda became NaN"})";
  const RunRecord r = read_run(dir);
  EXPECT_EQ(r.status(), "failed");
  EXPECT_EQ(r.error(), "lambda became NaN");
  EXPECT_TRUE(r.checkpoints.empty());
  fs::remove_all(dir);
}

}  // namespace run_records_test
}  // namespace bilevel
