#include "bilevel/experiments/run_records.hpp"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "bilevel/core/error.hpp"

namespace bilevel {

std::string RunRecord::status() const {
  if (summary.is_object() && summary.contains("status")) return summary["status"].get<std::string>();
  return "missing";
}

std::string RunRecord::error() const {
  if (summary.is_object() && summary.contains("error")) return summary["error"].get<std::string>();
  return "";
}

RunRecord read_run(const std::filesystem::path& dir) {
  RunRecord r;
  r.dir = dir;
  for (JsonLine& line : read_jsonl(dir / "metrics.jsonl")) r.checkpoints.push_back(std::move(line.value));
  const auto summary = dir / "summary.json";
  if (std::ifstream in(summary, std::ios::binary); in) {
    try {
      r.summary = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
      throw DataError(fmt::format("{}: not JSON: {}", summary.string(), e.what()));
    }
  }
  return r;
}

std::vector<JsonLine> read_jsonl(const std::filesystem::path& path) {
  std::vector<JsonLine> lines;
  std::ifstream in(path, std::ios::binary);
  if (!in) return lines;
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  std::size_t begin = 0;
  for (int line = 1; begin < text.size(); ++line) {
    const std::size_t end = text.find('\n', begin);
    if (end == std::string::npos) break;  // a partial last line: the run was killed while writing it
    JsonLine l{text.substr(begin, end - begin), {}};
    try {
      l.value = nlohmann::json::parse(l.text);
    } catch (const nlohmann::json::exception& e) {
      throw DataError(fmt::format("{}:{}: not a JSON object: {}", path.string(), line, e.what()));
    }
    lines.push_back(std::move(l));
    begin = end + 1;
  }
  return lines;
}

std::string last_log_line(const std::filesystem::path& log) {
  std::ifstream in(log);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  return last;
}

std::optional<double> field(const nlohmann::json& checkpoint, std::string_view name, double examples_per_epoch) {
  if (name == "epochs") {
    const auto samples = field(checkpoint, "samples");
    if (!samples || examples_per_epoch <= 0) return std::nullopt;
    return *samples / examples_per_epoch;
  }
  if (name == "oracle_calls") {
    if (!checkpoint.contains("counts")) return std::nullopt;
    const auto& c = checkpoint["counts"];
    return c.value("gradients", 0.0) + c.value("matvecs", 0.0);
  }
  const auto it = checkpoint.find(std::string(name));
  if (it == checkpoint.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

}  // namespace bilevel
