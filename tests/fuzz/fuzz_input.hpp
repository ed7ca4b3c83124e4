#pragma once
// What the fuzz targets share. The readers under test take file paths (they read plain and gzip files
// alike through zlib), so each input is written to a scratch file of this process first.
//
// A target returns normally when the reader accepts the input or rejects it with a bilevel::Error (the
// clear message users get). Anything else is a finding: another exception escapes and aborts, and the
// sanitizers report memory errors and undefined behaviour.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

#include "../process_scratch_dir.hpp"

namespace bilevel::fuzz {

inline const std::filesystem::path& scratch_dir() { return testing::process_scratch_dir(); }

// Writes `bytes` to scratch_dir()/name (replacing it) and returns the path.
inline std::string write_scratch(const std::string& name, std::string_view bytes) {
  const std::string path = (scratch_dir() / name).string();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size() || std::fclose(f) != 0) {
    std::perror(path.c_str());
    std::abort();  // the harness itself failed, not the reader
  }
  return path;
}

// The input as text, and a small cursor that takes leading control bytes off it.
struct Input {
  std::string_view rest;
  Input(const std::uint8_t* data, std::size_t size) : rest(reinterpret_cast<const char*>(data), size) {}
  // The next byte (0 when the input is used up).
  std::uint8_t byte() {
    if (rest.empty()) return 0;
    const auto b = static_cast<std::uint8_t>(rest.front());
    rest.remove_prefix(1);
    return b;
  }
  // The next four bytes as a little-endian number (missing bytes count as 0).
  std::uint32_t u32() {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= std::uint32_t{byte()} << (8 * i);
    return v;
  }
};

}  // namespace bilevel::fuzz
