#pragma once
// Output files that survive a kill at any moment: whole files are written to a temporary name and
// renamed (atomic on POSIX), and line logs are flushed line by line.
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "bilevel/core/error.hpp"

namespace bilevel {

// The file is the concatenation of `parts` (a large part is written where it is, never copied).
inline void write_file_atomically(const std::filesystem::path& path, std::span<const std::string_view> parts) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error("cannot write " + tmp.string());
    for (std::string_view part : parts) out.write(part.data(), static_cast<std::streamsize>(part.size()));
    out.flush();
    if (!out) throw Error("failed writing " + tmp.string() + " (disk full?)");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw Error("cannot rename " + tmp.string() + " to " + path.string() + ": " + ec.message());
}
inline void write_file_atomically(const std::filesystem::path& path, std::initializer_list<std::string_view> parts) {
  write_file_atomically(path, std::span<const std::string_view>(parts.begin(), parts.size()));
}
inline void write_file_atomically(const std::filesystem::path& path, std::string_view content) {
  write_file_atomically(path, {content});
}

// Appends one line per record, flushed at once, so a killed run keeps every record written before.
class LineLog {
 public:
  explicit LineLog(const std::filesystem::path& path, bool append = false)
      : path_(path), out_(path, std::ios::binary | (append ? std::ios::app : std::ios::trunc)) {
    if (!out_) throw Error("cannot write " + path.string());
  }
  void write(const std::string& line) {
    out_ << line << '\n';
    out_.flush();
    if (!out_) throw Error("failed writing " + path_.string() + " (disk full?)");
  }

 private:
  std::filesystem::path path_;
  std::ofstream out_;
};

}  // namespace bilevel
