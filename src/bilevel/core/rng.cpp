#include "bilevel/core/rng.hpp"

namespace bilevel {

void Rng::reseed(std::uint64_t key) {
  // Expand the key with SplitMix64, as the xoshiro authors recommend; never all-zero.
  std::uint64_t x = key;
  for (auto& s : s_) {
    x += 0x9e3779b97f4a7c15ULL;
    s = mix64(x);
  }
  if (s_[0] == 0 && s_[1] == 0 && s_[2] == 0 && s_[3] == 0) s_[0] = 1;
}

namespace {
__extension__ using Uint128 = unsigned __int128;  // GCC/Clang extension: a 64 x 64 -> 128-bit product
}  // namespace

std::uint64_t Rng::below(std::uint64_t n) {
  // Lemire, "Fast random integer generation in an interval" (2019).
  Uint128 m = static_cast<Uint128>((*this)()) * n;
  auto low = static_cast<std::uint64_t>(m);
  if (low < n) {
    const std::uint64_t threshold = (0 - n) % n;
    while (low < threshold) {
      m = static_cast<Uint128>((*this)()) * n;
      low = static_cast<std::uint64_t>(m);
    }
  }
  return static_cast<std::uint64_t>(m >> 64);
}

}  // namespace bilevel
