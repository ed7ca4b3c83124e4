#pragma once
// A run's state as bytes, for `bilevel run --resume`: a flat little-endian record of integers,
// doubles, vectors and strings in a fixed order, each section opened by a tag so that a file from
// another build, problem or precision is refused with a clear message instead of being misread.
#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "bilevel/core/error.hpp"
#include "bilevel/core/types.hpp"

namespace bilevel {

class ArchiveWriter {
 public:
  // Values of this many bytes or more are borrowed, not copied: the archive refers to them where they
  // are (pieces()), so a run's state goes to its file straight from the warm-start stores (123 MB for
  // equilibrium at 50 000 examples) instead of through a copy of them all. A borrowed value must stay
  // alive and unchanged while the writer is in use; save functions write members of what they save.
  static constexpr std::size_t kBorrowBytes = std::size_t{1} << 16;

  std::size_t size() const { return size_; }

  void tag(std::string_view name) { string(name); }
  void u64(std::uint64_t v) { raw(&v, sizeof v); }
  void i64(std::int64_t v) { raw(&v, sizeof v); }
  void f64(double v) { raw(&v, sizeof v); }
  void string(std::string_view s) {
    u64(s.size());
    raw(s.data(), s.size());
  }
  template <class T>
  void values(const T* data, std::size_t n) {
    static_assert(std::is_trivially_copyable_v<T>);
    u64(sizeof(T));
    u64(n);
    if (n * sizeof(T) >= kBorrowBytes)
      borrow(data, n * sizeof(T));
    else
      raw(data, n * sizeof(T));
  }
  template <class T>
  void vector(const std::vector<T>& v) { values(v.data(), v.size()); }
  template <class S>
  void vector(const Vector<S>& v) { values(v.data(), static_cast<std::size_t>(v.size())); }

  // The archive in order: views of the writer's own bytes and of the borrowed values.
  std::vector<std::string_view> pieces() const {
    std::vector<std::string_view> out;
    std::size_t at = 0;  // into own_
    for (const Borrowed& b : borrowed_) {
      out.emplace_back(own_.data() + at, b.own_before - at);
      out.emplace_back(b.data, b.size);
      at = b.own_before;
    }
    out.emplace_back(own_.data() + at, own_.size() - at);
    return out;
  }
  // The whole archive as one string (with copies of the borrowed values).
  std::string bytes() const {
    std::string all;
    all.reserve(size_);
    for (std::string_view p : pieces()) all.append(p);
    return all;
  }

 private:
  struct Borrowed {
    std::size_t own_before;  // the writer's own bytes that precede it
    const char* data;
    std::size_t size;
  };
  void raw(const void* p, std::size_t n) {
    own_.append(static_cast<const char*>(p), n);
    size_ += n;
  }
  void borrow(const void* p, std::size_t n) {
    borrowed_.push_back({own_.size(), static_cast<const char*>(p), n});
    size_ += n;
  }
  std::string own_;
  std::vector<Borrowed> borrowed_;
  std::size_t size_ = 0;
};

class ArchiveReader {
 public:
  // `source` names the file in errors.
  ArchiveReader(std::string bytes, std::string source) : bytes_(std::move(bytes)), source_(std::move(source)) {}

  void tag(std::string_view expected) {
    const std::string found = string();
    if (found != expected)
      fail(fmt::format("expected section '{}', found '{}' (a state file of another version or problem?)", expected, found));
  }
  std::uint64_t u64() { return pod<std::uint64_t>(); }
  std::int64_t i64() { return pod<std::int64_t>(); }
  double f64() { return pod<double>(); }
  std::string string() {
    const std::uint64_t n = u64();
    need(n);
    std::string s = bytes_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  // A vector of T; `expected` (if not SIZE_MAX) is the length it must have.
  template <class T>
  std::vector<T> vector(std::size_t expected = SIZE_MAX) {
    std::vector<T> v(count<T>(expected));
    read(v.data(), v.size() * sizeof(T));
    return v;
  }
  template <class S>
  void vector_into(Vector<S>& out, Index expected = -1) {
    const std::size_t n = count<S>(expected < 0 ? SIZE_MAX : static_cast<std::size_t>(expected));
    out.resize(static_cast<Index>(n));
    read(out.data(), n * sizeof(S));
  }
  bool done() const { return pos_ == bytes_.size(); }
  [[noreturn]] void fail(const std::string& message) const {
    throw DataError(fmt::format("{}: {} (at byte {})", source_, message, pos_));
  }

 private:
  template <class T>
  std::size_t count(std::size_t expected) {
    const std::uint64_t size = u64();
    if (size != sizeof(T))
      fail(fmt::format("values of {} bytes where {} were expected (another precision?)", size, sizeof(T)));
    const std::uint64_t n = u64();
    if (expected != SIZE_MAX && n != expected) fail(fmt::format("a vector of {} values where {} were expected", n, expected));
    if (n > (bytes_.size() - pos_) / sizeof(T)) fail(fmt::format("truncated: a vector of {} values", n));  // n * sizeof(T) may overflow
    return static_cast<std::size_t>(n);
  }
  template <class T>
  T pod() {
    T v;
    read(&v, sizeof v);
    return v;
  }
  void need(std::uint64_t n) const {
    if (n > bytes_.size() - pos_) fail("truncated");
  }
  void read(void* p, std::size_t n) {
    need(n);
    if (n) std::memcpy(p, bytes_.data() + pos_, n);
    pos_ += n;
  }
  std::string bytes_, source_;
  std::size_t pos_ = 0;
};

}  // namespace bilevel
