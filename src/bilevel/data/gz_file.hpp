#pragma once
// A file read through zlib, so gzip-compressed and plain files are read alike. Every failure is a
// DataError that names the file.
#include <zlib.h>

#include <cstddef>
#include <string>

namespace bilevel {

class GzFile {
 public:
  explicit GzFile(const std::string& path);
  ~GzFile();
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;

  const std::string& path() const { return path_; }
  // Reads exactly n bytes or throws, saying what was being read (truncated file, corrupt gzip).
  void read(void* out, std::size_t n, const char* what);
  // True when nothing is left to read.
  bool at_end();
  // The next line without its line ending ("\n" or "\r\n"); false at the end of the file.
  bool read_line(std::string& line);

 private:
  [[noreturn]] void fail_corrupt(const char* what);
  std::string path_;
  gzFile f_;
};

}  // namespace bilevel
