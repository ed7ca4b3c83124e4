// Fuzzes the LIBSVM and CSV readers (plain or gzip text).
// Input: one byte that picks the format and its option (LIBSVM: a given number of features or 0 for the
// largest index seen; CSV: label column and separator), then the file's bytes.
#include <cstddef>
#include <cstdint>

#include "bilevel/core/error.hpp"
#include "bilevel/data/text_formats.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  bilevel::fuzz::Input in(data, size);
  const std::uint8_t mode = in.byte();
  const std::string path = bilevel::fuzz::write_scratch("data.txt", in.rest);
  try {
    bilevel::Dataset d;
    if (mode % 2 == 0) {
      d = bilevel::read_libsvm(path, (mode / 2) % 16);  // 0: the largest index; else a fixed width
    } else {
      bilevel::CsvOptions o;
      o.label_column = static_cast<int>((mode / 2) % 8) - 4;  // first columns and, negative, from the end
      o.separator = (mode & 0x80) ? ';' : ',';
      d = bilevel::read_csv(path, o);
    }
    d.validate();
  } catch (const bilevel::Error&) {
  }
  return 0;
}
