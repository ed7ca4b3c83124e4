// state.bin and metrics.jsonl of a run that is resumed (cli/run_on_problem.hpp).
#include <fstream>
#include <sstream>

#include "bilevel/cli/run_on_problem.hpp"

namespace bilevel::run_detail {

std::string encode_state(const SavedState& s) {
  ArchiveWriter a;
  a.tag("bilevel-state-file-1");
  a.string(s.config);
  a.i64(s.metrics_iteration);
  a.string(s.loop);
  return a.bytes();
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
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  std::string kept;
  std::size_t begin = 0;
  for (int line = 1;; ++line) {
    const std::size_t end = text.find('\n', begin);
    if (end == std::string::npos) break;  // a partial last line: the run was killed while writing it
    const std::string record = text.substr(begin, end - begin);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(record);
    } catch (const nlohmann::json::exception& e) {
      throw DataError(fmt::format("{}:{}: not a JSON object: {}", path.string(), line, e.what()));
    }
    if (j.value("iteration", std::int64_t{-1}) > last) break;
    kept += record + '\n';
    begin = end + 1;
  }
  write_file_atomically(path, kept);
}

}  // namespace bilevel::run_detail
