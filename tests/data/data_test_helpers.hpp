#pragma once
// Helpers of the data tests: the Fashion-MNIST fixture, a per-process scratch folder for the files the tests write, and the
// check that an error is a DataError whose message names what it should.
#include <gtest/gtest.h>
#include <filesystem>
#include <string>
#include <vector>

#include "bilevel/core/error.hpp"
#include "bilevel/data/idx.hpp"
#include "../process_scratch_dir.hpp"

namespace bilevel::testing {

namespace fs = std::filesystem;

inline const fs::path kFixtures = fs::path(BILEVEL_SOURCE_DIR) / "tests/data/fixtures";

// The first 200 real Fashion-MNIST training images.
inline Dataset fashion200() {
  return read_idx((kFixtures / "fashion-train-200-images-idx3-ubyte.gz").string(),
                  (kFixtures / "fashion-train-200-labels-idx1-ubyte.gz").string());
}

inline fs::path scratch(const std::string& name) { return process_scratch_dir() / name; }

// Expects a DataError whose message contains every one of `parts`.
template <class F>
void expect_data_error(F&& f, const std::vector<std::string>& parts) {
  try {
    f();
    FAIL() << "expected a DataError";
  } catch (const DataError& e) {
    const std::string msg = e.what();
    for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
}

}  // namespace bilevel::testing
