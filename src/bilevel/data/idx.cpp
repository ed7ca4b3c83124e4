#include "bilevel/data/idx.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "bilevel/core/error.hpp"
#include "bilevel/core/huge_pages.hpp"
#include "bilevel/data/gz_file.hpp"

namespace bilevel {
namespace {

std::uint32_t big_endian(const unsigned char* b) {
  return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | std::uint32_t{b[3]};
}

// Reads the header of an IDX file of unsigned bytes with `dims` dimensions; returns them.
std::vector<std::uint32_t> read_header(GzFile& f, const std::string& path, int dims) {
  std::array<unsigned char, 4> magic{};
  f.read(magic.data(), 4, "the magic number");
  if (magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 || magic[3] != dims)
    throw DataError(fmt::format("{}: bad magic number {:02x}{:02x}{:02x}{:02x}: expected 000008{:02x} (IDX, unsigned "
                                "bytes, {} dimensions)",
                                path, magic[0], magic[1], magic[2], magic[3], dims, dims));
  std::vector<std::uint32_t> shape(static_cast<std::size_t>(dims));
  for (auto& s : shape) {
    std::array<unsigned char, 4> b{};
    f.read(b.data(), 4, "the dimensions");
    s = big_endian(b.data());
  }
  return shape;
}

}  // namespace

IdxImages read_idx_images(const std::string& images_path, const std::string& labels_path, int num_classes) {
  GzFile images(images_path);
  const auto shape = read_header(images, images_path, 3);
  const std::size_t n = shape[0], features = std::size_t{shape[1]} * shape[2];
  if (n == 0 || features == 0) throw DataError(fmt::format("{}: empty ({} images of {} x {})", images_path, n, shape[1], shape[2]));
  if (n * features > (std::size_t{1} << 34)) throw DataError(fmt::format("{}: {} images of {} pixels is implausibly large", images_path, n, features));
  // Read in blocks, so that memory grows with the bytes the file really holds: a header that claims
  // billions of pixels in a short file fails as truncated instead of allocating them (found by fuzzing).
  // The reservation (at most 64 MB, untouched until read) spares Fashion-MNIST's 47 MB the copies of
  // a growing vector.
  IdxImages d;
  constexpr std::size_t kBlock = std::size_t{1} << 24, kMostReserved = std::size_t{1} << 26;
  d.pixels.reserve(std::min(n * features, kMostReserved));
  advise_huge_pages(d.pixels.data(), d.pixels.capacity());
  for (std::size_t done = 0; done < n * features;) {
    const std::size_t block = std::min(kBlock, n * features - done);
    d.pixels.resize(done + block);
    images.read(d.pixels.data() + done, block, "the pixels");
    done += block;
  }
  if (!images.at_end()) throw DataError(fmt::format("{}: trailing bytes after {} images", images_path, n));

  GzFile labels(labels_path);
  const auto lshape = read_header(labels, labels_path, 1);
  if (lshape[0] != n)
    throw DataError(fmt::format("{} has {} labels but {} has {} images", labels_path, lshape[0], images_path, n));
  std::vector<unsigned char> raw(n);
  labels.read(raw.data(), n, "the labels");
  if (!labels.at_end()) throw DataError(fmt::format("{}: trailing bytes after {} labels", labels_path, n));

  d.source = images_path;
  d.num_classes = num_classes;
  d.features = static_cast<Index>(features);
  d.labels.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (raw[i] >= num_classes)
      throw DataError(fmt::format("{}: label {} of example {} is outside [0, {})", labels_path, raw[i], i, num_classes));
    d.labels[i] = raw[i];
  }
  return d;
}

Dataset IdxImages::select(std::span<const Index> rows) const {
  Dataset d;
  d.source = source;
  d.num_classes = num_classes;
  d.x.resize(static_cast<Index>(rows.size()), features);
  advise_huge_pages(d.x.data(), sizeof(float) * static_cast<std::size_t>(d.x.size()));
  d.y.resize(rows.size());
  const auto width = static_cast<std::size_t>(features);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Index r = rows[i];
    if (r < 0 || r >= size())
      throw std::out_of_range(fmt::format("{}: row {} of a selection is outside [0, {})", source, r, size()));
    const unsigned char* in = pixels.data() + static_cast<std::size_t>(r) * width;
    float* out = d.x.data() + i * width;
    for (std::size_t j = 0; j < width; ++j) out[j] = static_cast<float>(in[j]) / 255.0f;
    d.y[i] = labels[static_cast<std::size_t>(r)];
  }
  return d;
}

Dataset IdxImages::all() const {
  std::vector<Index> rows(labels.size());
  std::iota(rows.begin(), rows.end(), Index{0});
  return select(rows);
}

Dataset read_idx(const std::string& images_path, const std::string& labels_path, int num_classes) {
  return read_idx_images(images_path, labels_path, num_classes).all();
}

}  // namespace bilevel
