#pragma once
// Class labels of text formats (LIBSVM, CSV) are free-form: "-1"/"+1", "3", "cat". They become classes
// 0..K-1 in sorted order (numeric order when every label is a number), and Dataset::class_names keeps
// the original text of each class.
#include <cstdint>
#include <string>
#include <vector>

namespace bilevel {

struct EncodedLabels {
  std::vector<std::int32_t> y;
  std::vector<std::string> class_names;
};

EncodedLabels encode_labels(const std::vector<std::string>& raw);

// Parses a whole token as a finite double; false when it is not one (empty, trailing text, inf, nan).
bool parse_number(std::string_view token, double& value);

}  // namespace bilevel
