#include "bilevel/methods/upper_level.hpp"

#include <bit>

namespace bilevel {

std::string_view to_string(Growth g) {
  switch (g) {
    case Growth::kNone: return "none";
    case Growth::kLinear: return "linear";
    case Growth::kLogarithmic: return "logarithmic";
    case Growth::kHorizon: return "horizon";
  }
  return "?";
}

std::int64_t growth_factor(Growth g, std::int64_t s, std::int64_t max_iterations) {
  switch (g) {
    case Growth::kNone: return 1;
    case Growth::kLinear: return s + 1;
    case Growth::kLogarithmic: {
      // ceil(log2(s + 2)) = bit width of s + 1
      return static_cast<std::int64_t>(std::bit_width(static_cast<std::uint64_t>(s + 1)));
    }
    case Growth::kHorizon: return max_iterations;
  }
  return 1;
}

}  // namespace bilevel
