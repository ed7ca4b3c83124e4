#pragma once
// A folder of this test process's own under the temporary directory, for the files a test writes. It
// is made on first use and removed, with everything in it, when the process exits normally, so that
// repeated runs of the suite leave nothing behind (a crashed process leaves its files for a look).
#include <unistd.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace bilevel::testing {

inline const std::filesystem::path& process_scratch_dir() {
  struct Folder {
    std::filesystem::path path;
    Folder() : path(std::filesystem::temp_directory_path() / ("bilevel-scratch-" + std::to_string(::getpid()))) {
      std::filesystem::create_directories(path);
    }
    ~Folder() {
      std::error_code ignored;  // nothing to do about a failure at exit
      std::filesystem::remove_all(path, ignored);
    }
  };
  static const Folder folder;
  return folder.path;
}

}  // namespace bilevel::testing
