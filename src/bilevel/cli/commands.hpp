#pragma once
// The subcommands of the bilevel executable. Each returns the process exit code and throws
// bilevel::Error (with a message naming the file, field and value) on bad input.
#include <ostream>
#include <string>
#include <vector>

namespace bilevel {

// bilevel hypergrad CONFIG [key=value ...]: one JSON object on `out` (see docs/cli.md).
int hypergrad_command(const std::string& config_path, const std::vector<std::string>& overrides, std::ostream& out);

}  // namespace bilevel
