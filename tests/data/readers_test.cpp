// Dataset readers on small real fixtures, and every kind of broken file, each with a message that
// names the file and what is wrong.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "bilevel/core/error.hpp"
#include "bilevel/data/catalog.hpp"
#include "bilevel/data/idx.hpp"
#include "bilevel/data/mnist_json.hpp"
#include "data_test_helpers.hpp"

namespace bilevel {
namespace readers_test {

using testing::expect_data_error;
using testing::scratch;

namespace fs = std::filesystem;

using testing::kFixtures;
const std::string kImages = (kFixtures / "fashion-train-200-images-idx3-ubyte.gz").string();
const std::string kLabels = (kFixtures / "fashion-train-200-labels-idx1-ubyte.gz").string();

std::vector<unsigned char> gunzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  std::vector<unsigned char> out;
  unsigned char buf[65536];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.insert(out.end(), buf, buf + n);
  gzclose(f);
  return out;
}

void write_plain(const fs::path& p, const std::vector<unsigned char>& bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

TEST(Idx, ReadsRealFashionMnistImagesScaledToTheUnitInterval) {
  const Dataset d = read_idx(kImages, kLabels);
  EXPECT_EQ(d.size(), 200);
  EXPECT_EQ(d.dim(), 784);
  EXPECT_EQ(d.num_classes, 10);
  EXPECT_GE(d.x.minCoeff(), 0.0f);
  EXPECT_LE(d.x.maxCoeff(), 1.0f);
  EXPECT_GT(d.x.maxCoeff(), 0.99f);  // bytes 255 exist
  // The first two training labels of Fashion-MNIST are 9 (ankle boot) and 0 (T-shirt/top).
  EXPECT_EQ(d.y[0], 9);
  EXPECT_EQ(d.y[1], 0);
  EXPECT_NO_THROW(d.validate());
}

// The rows a split takes, converted from the file's bytes, in the order asked, repeats allowed: the
// same floats as the whole dataset's rows.
TEST(Idx, SelectedRowsAreTheWholeDatasetsRowsInTheOrderAsked) {
  const IdxImages images = read_idx_images(kImages, kLabels);
  const Dataset whole = read_idx(kImages, kLabels);
  ASSERT_EQ(images.size(), 200);
  const std::vector<Index> rows = {199, 0, 7, 7, 42};
  const Dataset d = images.select(rows);
  ASSERT_EQ(d.size(), 5);
  ASSERT_EQ(d.dim(), 784);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(d.x.row(static_cast<Index>(i)), whole.x.row(rows[i])) << "row " << rows[i];
    EXPECT_EQ(d.y[i], whole.y[static_cast<std::size_t>(rows[i])]);
    EXPECT_EQ(d.x(static_cast<Index>(i), 300), static_cast<float>(images.pixels[static_cast<std::size_t>(rows[i]) * 784 + 300]) / 255.0f);
  }
  EXPECT_EQ(d.num_classes, 10);
  EXPECT_NO_THROW(d.validate());
  EXPECT_EQ(images.select({}).size(), 0);
  const std::vector<Index> outside = {3, 200};
  EXPECT_THROW(images.select(outside), std::out_of_range);
}

TEST(Idx, PlainAndGzipFilesGiveTheSameData) {
  const fs::path images = scratch("plain-images"), labels = scratch("plain-labels");
  write_plain(images, gunzip(kImages));
  write_plain(labels, gunzip(kLabels));
  const Dataset a = read_idx(kImages, kLabels), b = read_idx(images.string(), labels.string());
  EXPECT_EQ(a.x, b.x);
  EXPECT_EQ(a.y, b.y);
}

TEST(Idx, BrokenFilesAreErrorsNamingTheFileAndTheFault) {
  const auto images = gunzip(kImages), labels = gunzip(kLabels);
  const fs::path bad = scratch("bad-images"), bad_labels = scratch("bad-labels");

  auto magic = images;
  magic[2] = 0x0d;  // float data instead of unsigned bytes
  write_plain(bad, magic);
  expect_data_error([&] { read_idx(bad.string(), kLabels); }, {bad.string(), "bad magic"});

  write_plain(bad, std::vector<unsigned char>(images.begin(), images.begin() + 16 + 784 * 10));
  expect_data_error([&] { read_idx(bad.string(), kLabels); }, {bad.string(), "truncated", "pixels"});

  write_plain(bad, std::vector<unsigned char>(images.begin(), images.begin() + 6));
  expect_data_error([&] { read_idx(bad.string(), kLabels); }, {bad.string(), "truncated"});

  write_plain(bad, {});
  expect_data_error([&] { read_idx(bad.string(), kLabels); }, {bad.string(), "truncated"});

  auto extra = images;
  extra.push_back(0);
  write_plain(bad, extra);
  expect_data_error([&] { read_idx(bad.string(), kLabels); }, {bad.string(), "trailing"});

  auto fewer = labels;
  fewer[7] = 199;  // header says 199 labels
  fewer.pop_back();
  write_plain(bad_labels, fewer);
  expect_data_error([&] { read_idx(kImages, bad_labels.string()); }, {bad_labels.string(), "199 labels", "200 images"});

  auto out_of_range = labels;
  out_of_range[8 + 5] = 10;
  write_plain(bad_labels, out_of_range);
  expect_data_error([&] { read_idx(kImages, bad_labels.string()); }, {bad_labels.string(), "label 10", "example 5"});

  // A gzip stream cut in the middle.
  std::ifstream gz(kImages, std::ios::binary);
  std::vector<unsigned char> compressed((std::istreambuf_iterator<char>(gz)), std::istreambuf_iterator<char>());
  compressed.resize(compressed.size() / 2);
  write_plain(bad, compressed);
  expect_data_error([&] { read_idx(bad.string(), kLabels); }, {bad.string()});

  expect_data_error([&] { read_idx((kFixtures / "no-such-file").string(), kLabels); }, {"no-such-file", "cannot open"});
}

// A short file whose header claims 2 images of 23 296 x 33 619 pixels (1.5 GB) is truncated, and the
// reader says so having read only the bytes the file holds (fuzzing found it allocated the claim first;
// the allocation is checked by the hardened build's replay of tests/fuzz/regressions/idx).
TEST(Idx, AHeaderClaimingBillionsOfPixelsInAShortFileIsTruncated) {
  const fs::path bad = scratch("huge-header");
  write_plain(bad, {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0x5b, 0, 0, 0, 0x83, 0x53, 1, 2, 3, 4});
  expect_data_error([&] { read_idx(bad.string(), kLabels); }, {bad.string(), "truncated", "pixels"});
}

TEST(MnistJson, ReadsTheNpmDigitsWithTheFileNumberAsLabel) {
  const Dataset d = read_mnist_json_digits((kFixtures / "digits").string());
  EXPECT_EQ(d.size(), 29);  // 3 per class, 2 of class 4
  EXPECT_EQ(d.dim(), 784);
  EXPECT_EQ(d.y.front(), 0);
  EXPECT_EQ(d.y.back(), 9);
  EXPECT_EQ(std::count(d.y.begin(), d.y.end(), 4), 2);
  EXPECT_GE(d.x.minCoeff(), 0.0f);
  EXPECT_LE(d.x.maxCoeff(), 1.0f);
  EXPECT_GT(d.x.row(0).sum(), 10.0f);  // a real digit has ink
  EXPECT_NO_THROW(d.validate());
}

// The fixture's digit files in `dir`, but 5.json holds `five` (no 5.json when it is empty).
void digits_with_five(const fs::path& dir, const std::string& five) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (int k = 0; k < 10; ++k)
    if (k != 5) fs::copy_file(kFixtures / "digits" / (std::to_string(k) + ".json"), dir / (std::to_string(k) + ".json"));
  if (!five.empty()) std::ofstream(dir / "5.json") << five;
}

TEST(MnistJson, BrokenFilesAreErrorsNamingTheFileAndTheFault) {
  const fs::path dir = scratch("digits");
  auto prepare = [&](const std::string& five) { digits_with_five(dir, five); };
  const std::string five = (dir / "5.json").string();
  prepare("");
  expect_data_error([&] { read_mnist_json_digits(dir.string()); }, {five, "cannot open"});
  fs::create_directory(dir / "5.json");  // a folder where the file should be: an error, not a crash
  expect_data_error([&] { read_mnist_json_digits(dir.string()); }, {five, "cannot open"});
  prepare("{\"data\": [0.5, ");
  expect_data_error([&] { read_mnist_json_digits(dir.string()); }, {five, "not valid JSON"});
  prepare("{\"pixels\": []}");
  expect_data_error([&] { read_mnist_json_digits(dir.string()); }, {five, "\"data\""});
  prepare("{\"data\": [0.1, 0.2, 0.3]}");
  expect_data_error([&] { read_mnist_json_digits(dir.string()); }, {five, "3 values", "784"});
  std::string big = "{\"data\": [2.0";
  for (int i = 1; i < 784; ++i) big += ", 0";
  prepare(big + "]}");
  expect_data_error([&] { read_mnist_json_digits(dir.string()); }, {five, "[0] = 2", "outside [0, 1]"});
  // The parser reads the values as it meets them (no document tree): every other shape is still an
  // error that says what is wrong.
  for (const char* shape : {"[0.5]", "0.5", "{\"data\": 0.5}", "{\"data\": {\"0\": 0.5}}", "{\"data\": null}"}) {
    prepare(shape);
    expect_data_error([&] { read_mnist_json_digits(dir.string()); }, {five, "expected an object with an array \"data\""});
  }
  prepare("{\"data\": [0.5, \"0.5\"]}");
  expect_data_error([&] { read_mnist_json_digits(dir.string()); }, {five, "\"data\"[1] is not a number"});
  prepare("{\"data\": [0.5, 0.25, [0.5]]}");
  expect_data_error([&] { read_mnist_json_digits(dir.string()); }, {five, "\"data\"[2] is not a number"});
  prepare("{\"data\": [0.5, {}]}");
  expect_data_error([&] { read_mnist_json_digits(dir.string()); }, {five, "\"data\"[1] is not a number"});
  prepare("{\"data\": [0.5]} trailing");
  expect_data_error([&] { read_mnist_json_digits(dir.string()); }, {five, "not valid JSON"});
}

// Keys other than "data", at any depth, are skipped; integers count as numbers; of two "data" keys the
// last counts, as in a parsed document.
TEST(MnistJson, ReadsTheDataArrayAmongOtherKeys) {
  const fs::path dir = scratch("digits-keys");
  std::string digit = "[1";
  for (int i = 1; i < 784; ++i) digit += i == 400 ? ", 0.25" : ", 0";
  digit += "]";
  digits_with_five(dir, "{\"name\": \"five\", \"meta\": {\"data\": [7], \"x\": [[1], {\"y\": null}]}, "
                        "\"data\": [0.5], \"data\": " + digit + ", \"tail\": true}");
  const Dataset d = read_mnist_json_digits(dir.string());
  const Dataset fixture = read_mnist_json_digits((kFixtures / "digits").string());
  ASSERT_EQ(d.size(), fixture.size() - 3 + 1);  // the fixture has 3 fives, this file one
  const auto five = std::find(d.y.begin(), d.y.end(), 5) - d.y.begin();
  EXPECT_EQ(std::count(d.y.begin(), d.y.end(), 5), 1);
  EXPECT_EQ(d.x(five, 0), 1.0f);
  EXPECT_EQ(d.x(five, 400), 0.25f);
  EXPECT_EQ(d.x.row(five).sum(), 1.25f);
}

TEST(Catalog, AMissingDatasetSaysHowToInstallIt) {
  setenv("BILEVEL_FASHION_MNIST_DIR", "/nonexistent/fashion", 1);
  expect_data_error([] { load_dataset("fashion-mnist", "train"); }, {"/nonexistent/fashion", "apt-get install dataset-fashion-mnist"});
  unsetenv("BILEVEL_FASHION_MNIST_DIR");
  setenv("BILEVEL_MNIST_DIGITS_DIR", "/nonexistent/digits", 1);
  expect_data_error([] { load_dataset("mnist-digits", "all"); }, {"/nonexistent/digits", "setup.sh --data"});
  unsetenv("BILEVEL_MNIST_DIGITS_DIR");
  expect_data_error([] { load_dataset("cifar", "train"); }, {"unknown dataset 'cifar'", "fashion-mnist"});
  expect_data_error([] { load_dataset("fashion-mnist", "validation"); }, {"validation"});
}

TEST(Catalog, FindsDatasetsWhereTheEnvironmentPoints) {
  setenv("BILEVEL_MNIST_DIGITS_DIR", (kFixtures / "digits").c_str(), 1);
  EXPECT_EQ(load_dataset("mnist-digits", "all").size(), 29);
  unsetenv("BILEVEL_MNIST_DIGITS_DIR");
}

}  // namespace readers_test
}  // namespace bilevel
