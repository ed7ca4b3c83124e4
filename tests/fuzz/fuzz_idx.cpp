// Fuzzes the IDX reader (MNIST / Fashion-MNIST images and labels, plain or gzip).
// Input: the length of the images file (4 bytes, little-endian, clipped to what follows), then the two
// files' bytes. The seed corpus holds real Fashion-MNIST files (plain and gzip) cut down to a few images.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "bilevel/core/error.hpp"
#include "bilevel/data/idx.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  bilevel::fuzz::Input in(data, size);
  const std::size_t cut = std::min<std::size_t>(in.u32(), in.rest.size());
  const std::string images = bilevel::fuzz::write_scratch("images", in.rest.substr(0, cut));
  const std::string labels = bilevel::fuzz::write_scratch("labels", in.rest.substr(cut));
  try {
    const bilevel::Dataset d = bilevel::read_idx(images, labels);
    d.validate();  // what the reader returns must be a consistent dataset
  } catch (const bilevel::Error&) {
  }
  return 0;
}
