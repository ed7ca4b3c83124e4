#include "bilevel/data/mnist_json.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "bilevel/core/error.hpp"

namespace bilevel {

Dataset read_mnist_json_digits(const std::string& digits_dir) {
  constexpr Index kPixels = 784;
  std::vector<std::vector<float>> per_class(10);
  for (int label = 0; label < 10; ++label) {
    const std::string path = (std::filesystem::path(digits_dir) / fmt::format("{}.json", label)).string();
    std::ifstream in(path);
    if (!in) throw DataError(fmt::format("{}: cannot open (does the file exist?)", path));
    nlohmann::json j;
    try {
      in >> j;
    } catch (const nlohmann::json::exception& e) {
      throw DataError(fmt::format("{}: not valid JSON: {}", path, e.what()));
    }
    if (!j.is_object() || !j.contains("data") || !j["data"].is_array())
      throw DataError(fmt::format("{}: expected an object with an array \"data\"", path));
    const auto& data = j["data"];
    if (data.empty() || data.size() % kPixels != 0)
      throw DataError(fmt::format("{}: \"data\" has {} values, not a positive multiple of {} (28 x 28 pixels)", path,
                                  data.size(), kPixels));
    auto& values = per_class[static_cast<std::size_t>(label)];
    values.reserve(data.size());
    for (std::size_t i = 0; i < data.size(); ++i) {
      if (!data[i].is_number())
        throw DataError(fmt::format("{}: \"data\"[{}] is not a number", path, i));
      const double v = data[i].get<double>();
      if (!(v >= 0 && v <= 1)) throw DataError(fmt::format("{}: \"data\"[{}] = {} is outside [0, 1]", path, i, v));
      values.push_back(static_cast<float>(v));
    }
  }
  Dataset d;
  d.source = digits_dir;
  d.num_classes = 10;
  Index n = 0;
  for (const auto& v : per_class) n += static_cast<Index>(v.size()) / kPixels;
  d.x.resize(n, kPixels);
  d.y.reserve(static_cast<std::size_t>(n));
  Index row = 0;
  for (int label = 0; label < 10; ++label) {
    const auto& v = per_class[static_cast<std::size_t>(label)];
    const Index count = static_cast<Index>(v.size()) / kPixels;
    d.x.middleRows(row, count) = Eigen::Map<const RowMatrix<float>>(v.data(), count, kPixels);
    d.y.insert(d.y.end(), static_cast<std::size_t>(count), label);
    row += count;
  }
  return d;
}

}  // namespace bilevel
