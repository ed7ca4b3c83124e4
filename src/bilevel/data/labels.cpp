#include "bilevel/data/labels.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

namespace bilevel {

bool parse_number(std::string_view token, double& value) {
  if (!token.empty() && token.front() == '+') token.remove_prefix(1);  // from_chars rejects a leading +
  if (token.empty()) return false;
  const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
  return ec == std::errc() && end == token.data() + token.size() && std::isfinite(value);
}

EncodedLabels encode_labels(const std::vector<std::string>& raw) {
  EncodedLabels e;
  e.y.reserve(raw.size());
  std::vector<double> values(raw.size());
  bool numeric = true;
  for (std::size_t i = 0; i < raw.size() && numeric; ++i) numeric = parse_number(raw[i], values[i]);
  if (numeric) {  // "1", "1.0" and "+1" name the same class
    std::vector<double> classes(values);
    std::sort(classes.begin(), classes.end());
    classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
    for (double c : classes) e.class_names.push_back(fmt::format("{}", c));
    for (double v : values)
      e.y.push_back(static_cast<std::int32_t>(std::lower_bound(classes.begin(), classes.end(), v) - classes.begin()));
    return e;
  }
  e.class_names = raw;
  std::sort(e.class_names.begin(), e.class_names.end());
  e.class_names.erase(std::unique(e.class_names.begin(), e.class_names.end()), e.class_names.end());
  for (const auto& r : raw)
    e.y.push_back(static_cast<std::int32_t>(
        std::lower_bound(e.class_names.begin(), e.class_names.end(), r) - e.class_names.begin()));
  return e;
}

}  // namespace bilevel
