#pragma once
// Seeded, named random streams. Every random choice in bilevel comes from a stream derived from
// (seed, name), so adding a stream never shifts the draws of another, and draws never depend on the
// number of threads: threads never draw, they only consume ids drawn beforehand.
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <string_view>

namespace bilevel {

// SplitMix64 finaliser: a bijective 64-bit mixer, used to derive keys.
constexpr std::uint64_t mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// FNV-1a hash of a stream name: stable across platforms and compilers (std::hash is not).
constexpr std::uint64_t hash_name(std::string_view name) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : name) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

// xoshiro256** generator: fast, 256-bit state, satisfies UniformRandomBitGenerator. Distributions
// below are written out by hand because std:: distributions differ between standard libraries.
class Rng {
 public:
  using result_type = std::uint64_t;
  explicit Rng(std::uint64_t key = 0) { reseed(key); }

  void reseed(std::uint64_t key);
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }

  result_type operator()() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }
  // Uniform integer in [0, n), unbiased (Lemire's multiply-and-reject).
  std::uint64_t below(std::uint64_t n);
  // Standard normal by Box-Muller (one value per call: no hidden cached state to checkpoint).
  double normal() {
    const double u1 = 1.0 - uniform();  // (0, 1]
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }

  const std::array<std::uint64_t, 4>& state() const { return s_; }
  void set_state(const std::array<std::uint64_t, 4>& s) { s_ = s; }

  friend bool operator==(const Rng&, const Rng&) = default;

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::array<std::uint64_t, 4> s_{};
};

// The family of named streams of one run.
class RandomStreams {
 public:
  explicit RandomStreams(std::uint64_t seed) : seed_(seed) {}
  std::uint64_t seed() const { return seed_; }
  // Key of the stream `name`; equal names give equal keys, distinct names independent streams.
  std::uint64_t key(std::string_view name) const { return mix64(seed_ ^ mix64(hash_name(name))); }
  Rng stream(std::string_view name) const { return Rng(key(name)); }

 private:
  std::uint64_t seed_;
};

// Generator for the randomness that belongs to one sample id under a given key. Problems with an
// unbounded sample stream use it to make an oracle a pure function of (w, lambda, batch), which keeps
// finite-difference checks and reverse-mode replay exact.
inline Rng sample_rng(std::uint64_t key, std::uint64_t id) { return Rng(mix64(key ^ mix64(id + 0x632be59bd9b4e019ULL))); }

}  // namespace bilevel
