#pragma once
// What a finished `bilevel run` left in its directory, read back: the checkpoints of metrics.jsonl
// and summary.json.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace bilevel {

struct RunRecord {
  std::filesystem::path dir;
  std::vector<nlohmann::json> checkpoints;  // metrics.jsonl, one object per checkpoint
  nlohmann::json summary;                   // summary.json, or null when the run wrote none
  std::string status() const;               // summary's status ("completed", "interrupted", "failed"), or "missing"
  std::string error() const;                // summary's error message, if any
};

// Reads `dir` (metrics.jsonl through read_jsonl).
RunRecord read_run(const std::filesystem::path& dir);

// The records of a JSON-lines file such as metrics.jsonl, each with its text as written; none when the
// file does not exist. A last line without its newline (a run killed while writing it) is ignored;
// any other line that is not JSON is an error naming the file and line.
struct JsonLine {
  std::string text;
  nlohmann::json value;
};
std::vector<JsonLine> read_jsonl(const std::filesystem::path& path);

// The last non-empty line of a child run's log: where `bilevel` prints its error.
std::string last_log_line(const std::filesystem::path& log);

// A checkpoint's numeric field; "epochs" is samples / examples_per_epoch. nullopt when absent or null.
std::optional<double> field(const nlohmann::json& checkpoint, std::string_view name, double examples_per_epoch = 0);

}  // namespace bilevel
