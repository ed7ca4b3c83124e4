#include "bilevel/data/mnist_json.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <system_error>
#include <nlohmann/json.hpp>

#include "bilevel/core/error.hpp"
#include "bilevel/core/huge_pages.hpp"
#include "bilevel/core/parallel.hpp"

namespace bilevel {
namespace {

constexpr Index kPixels = 784;

// Collects the numbers of {"data": [...]} straight into `values` as the parser meets them (SAX), instead
// of building the document first: the ten files' tree held 7.8 million JSON values, one allocation each,
// which made loading the digits about two seconds of every run. Other keys of the object are skipped;
// the first fault stops the parse and is kept, in the words of the error message.
class DigitValues final : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit DigitValues(std::vector<float>& values) : values_(values) {}

  std::string fault;       // empty while there is none
  bool saw_data = false;   // an array "data" was found in the top-level object

  bool null() override { return other_value(); }
  bool boolean(bool) override { return other_value(); }
  bool number_integer(number_integer_t v) override { return number(static_cast<double>(v)); }
  bool number_unsigned(number_unsigned_t v) override { return number(static_cast<double>(v)); }
  bool number_float(number_float_t v, const string_t&) override { return number(v); }
  bool string(string_t&) override { return other_value(); }
  bool binary(binary_t&) override { return other_value(); }

  bool start_object(std::size_t) override {
    if (!container_allowed()) return false;
    ++depth_;
    return true;
  }
  bool end_object() override {
    --depth_;
    return true;
  }
  bool key(string_t& k) override {
    if (depth_ == 1) data_next_ = k == "data";
    return true;
  }
  bool start_array(std::size_t) override {
    if (depth_ == 0) return fail_shape();  // a top-level array
    if (depth_ == 1 && data_next_) {
      in_data_ = saw_data = true;
      values_.clear();  // a repeated key: the last one counts, as in a parsed document
      index_ = 0;
    } else if (!container_allowed()) {
      return false;
    }
    ++depth_;
    return true;
  }
  bool end_array() override {
    --depth_;
    if (depth_ == 1) in_data_ = false;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    fault = fmt::format("not valid JSON: {}", e.what());
    return false;
  }

 private:
  bool fail_shape() {
    fault = "expected an object with an array \"data\"";
    return false;
  }
  bool fail_not_a_number() {
    fault = fmt::format("\"data\"[{}] is not a number", index_);
    return false;
  }
  // An object, or an array other than "data": allowed anywhere but as "data" or one of its values.
  bool container_allowed() {
    if (in_data_ && depth_ == 2) return fail_not_a_number();
    if (depth_ == 1 && data_next_) return fail_shape();
    return true;
  }
  bool other_value() {
    if (depth_ == 0 || (depth_ == 1 && data_next_)) return fail_shape();
    if (in_data_ && depth_ == 2) return fail_not_a_number();
    return true;
  }
  bool number(double v) {
    if (depth_ == 0 || (depth_ == 1 && data_next_)) return fail_shape();
    if (!(in_data_ && depth_ == 2)) return true;
    if (!(v >= 0 && v <= 1)) {
      fault = fmt::format("\"data\"[{}] = {} is outside [0, 1]", index_, v);
      return false;
    }
    values_.push_back(static_cast<float>(v));
    ++index_;
    return true;
  }

  std::vector<float>& values_;
  int depth_ = 0;           // containers open
  bool data_next_ = false;  // the last key of the top-level object was "data"
  bool in_data_ = false;    // inside the array "data"
  std::size_t index_ = 0;   // of the next value of "data"
};

// The values of one digit file, checked.
std::vector<float> read_digit_file(const std::string& path) {
  // Read whole into a buffer of the file's size, on huge pages as the values are: a process touches
  // each page of them once, and with 4 kB pages the faults were a third of the time spent loading.
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error))
    throw DataError(fmt::format("{}: cannot open (does the file exist? is it a file?)", path));
  const std::size_t size = std::filesystem::file_size(path, error);
  std::ifstream in(path, std::ios::binary);
  if (error || !in) throw DataError(fmt::format("{}: cannot open (does the file exist?)", path));
  std::vector<char> text;
  text.reserve(size);
  advise_huge_pages(text.data(), size);
  text.resize(size);
  if (!in.read(text.data(), static_cast<std::streamsize>(size)))
    throw DataError(fmt::format("{}: cannot read its {} bytes", path, size));
  std::vector<float> values;
  values.reserve(size / 2);  // at most one value per two characters ("0,"): no regrowth
  advise_huge_pages(values.data(), sizeof(float) * values.capacity());
  DigitValues handler(values);
  if (!nlohmann::json::sax_parse(text.begin(), text.end(), &handler)) throw DataError(fmt::format("{}: {}", path, handler.fault));
  if (!handler.saw_data) throw DataError(fmt::format("{}: expected an object with an array \"data\"", path));
  if (values.empty() || values.size() % kPixels != 0)
    throw DataError(fmt::format("{}: \"data\" has {} values, not a positive multiple of {} (28 x 28 pixels)", path,
                                values.size(), kPixels));
  return values;
}

}  // namespace

Dataset read_mnist_json_digits(const std::string& digits_dir) {
  // The ten files are parsed in parallel, one chunk each (parsing is about 0.3 s of a process on one
  // core); a fault is that of the lowest-numbered broken file, as when they are read in turn.
  std::vector<std::vector<float>> per_class(10);
  for_each_chunk(RowChunks{10, 1, 10}, [&](Index label, Index, Index) {
    per_class[static_cast<std::size_t>(label)] =
        read_digit_file((std::filesystem::path(digits_dir) / fmt::format("{}.json", label)).string());
  });
  Dataset d;
  d.source = digits_dir;
  d.num_classes = 10;
  Index n = 0;
  for (const auto& v : per_class) n += static_cast<Index>(v.size()) / kPixels;
  d.x.resize(n, kPixels);
  advise_huge_pages(d.x.data(), sizeof(float) * static_cast<std::size_t>(d.x.size()));
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
