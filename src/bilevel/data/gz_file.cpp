#include "bilevel/data/gz_file.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "bilevel/core/error.hpp"

namespace bilevel {

GzFile::GzFile(const std::string& path) : path_(path), f_(gzopen(path.c_str(), "rb")) {
  if (!f_) throw DataError(fmt::format("{}: cannot open (does the file exist?)", path));
}

GzFile::~GzFile() {
  if (f_) gzclose(f_);
}

void GzFile::fail_corrupt(const char* what) {
  int code = 0;
  const char* msg = gzerror(f_, &code);
  throw DataError(fmt::format("{}: corrupt or unreadable while reading {}: {}", path_, what, msg));
}

void GzFile::read(void* out, std::size_t n, const char* what) {
  auto* p = static_cast<unsigned char*>(out);
  std::size_t got = 0;
  while (got < n) {
    const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n - got, 1u << 30));
    const int r = gzread(f_, p + got, chunk);
    if (r < 0) fail_corrupt(what);
    if (r == 0)
      throw DataError(fmt::format("{}: truncated: the file ends after {} of the {} bytes of {}", path_, got, n, what));
    got += static_cast<std::size_t>(r);
  }
}

bool GzFile::at_end() {
  unsigned char b;
  const int r = gzread(f_, &b, 1);
  if (r < 0) fail_corrupt("the end of the file");
  return r == 0;
}

bool GzFile::read_line(std::string& line) {
  line.clear();
  char buf[4096];
  while (true) {
    if (!gzgets(f_, buf, sizeof buf)) {
      int code = 0;
      gzerror(f_, &code);
      if (code != Z_OK && code != Z_BUF_ERROR) fail_corrupt("a line");
      if (code == Z_BUF_ERROR) throw DataError(fmt::format("{}: truncated gzip stream", path_));
      return !line.empty();
    }
    line += buf;
    if (!line.empty() && line.back() == '\n') {
      line.pop_back();
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return true;
    }
  }
}

}  // namespace bilevel
