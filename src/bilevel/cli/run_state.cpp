// state.bin and metrics.jsonl of a run that is resumed (cli/run_on_problem.hpp).
#include <fstream>
#include <sstream>

#include "bilevel/cli/run_on_problem.hpp"
#include "bilevel/experiments/run_records.hpp"

namespace bilevel::run_detail {

void write_state(const std::filesystem::path& path, const std::string& config, std::int64_t metrics_iteration,
                 const ArchiveWriter& loop) {
  ArchiveWriter header;
  header.tag("bilevel-state-file-1");
  header.string(config);
  header.i64(metrics_iteration);
  header.u64(loop.size());  // with the bytes that follow: ArchiveWriter::string(loop), as decode_state reads it
  std::vector<std::string_view> parts = header.pieces();  // small: nothing borrowed
  for (std::string_view p : loop.pieces()) parts.push_back(p);
  write_file_atomically(path, parts);
}

SavedState decode_state(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw ConfigError(fmt::format("cannot resume: {} does not exist (a run keeps its state only until it completes; "
                                  "it is written at every checkpoint, ul.eval_every)", path.string()));
  std::stringstream buffer;
  buffer << in.rdbuf();
  ArchiveReader a(buffer.str(), path.string());
  a.tag("bilevel-state-file-1");
  SavedState s;
  s.config = a.string();
  s.metrics_iteration = a.i64();
  s.loop = a.string();
  if (!a.done()) a.fail("trailing bytes");
  return s;
}

void truncate_metrics(const std::filesystem::path& path, std::int64_t last) {
  std::string kept;
  for (const JsonLine& line : read_jsonl(path)) {
    if (line.value.value("iteration", std::int64_t{-1}) > last) break;
    kept += line.text + '\n';
  }
  write_file_atomically(path, kept);
}

}  // namespace bilevel::run_detail
