#pragma once
// Closed convex sets Lambda with their Euclidean projections P_Lambda, used by the upper-level step
// lambda <- P(lambda - alpha h). Projections act in place on a vector; a set that constrains only part
// of lambda (say the matrix A of an equilibrium model) is put in a BlockProduct.
#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "bilevel/core/error.hpp"
#include "bilevel/core/finite.hpp"
#include "bilevel/core/linalg.hpp"
#include "bilevel/core/types.hpp"

namespace bilevel {

template <class S>
class ConstraintSet {
 public:
  virtual ~ConstraintSet() = default;
  // Replaces x by the nearest point of the set.
  virtual void project(VectorRef<S> x) const = 0;
  // Whether x lies in the set up to tol (used by tests and input validation).
  virtual bool contains(ConstVectorRef<S> x, S tol) const = 0;
  virtual std::string describe() const = 0;
};

// R^d: the projection is the identity.
template <class S>
class Unconstrained final : public ConstraintSet<S> {
 public:
  void project(VectorRef<S>) const override {}
  bool contains(ConstVectorRef<S> x, S) const override { return all_finite(x); }
  std::string describe() const override { return "unconstrained"; }
};

// {x : lo <= x <= hi} coordinate-wise; the projection is a clamp. Scalar bounds broadcast.
template <class S>
class Box final : public ConstraintSet<S> {
 public:
  Box(S lo, S hi) : lo_scalar_(lo), hi_scalar_(hi) {
    if (!(lo <= hi)) throw InvalidOptions(fmt::format("box bounds must satisfy lo <= hi, got [{}, {}]", lo, hi));
  }
  Box(Vector<S> lo, Vector<S> hi) : lo_(std::move(lo)), hi_(std::move(hi)) {
    if (lo_.size() != hi_.size())
      throw InvalidOptions(fmt::format("box bounds have sizes {} and {}", lo_.size(), hi_.size()));
    if ((lo_.array() > hi_.array()).any()) throw InvalidOptions("box bounds must satisfy lo <= hi everywhere");
  }
  void project(VectorRef<S> x) const override {
    if (lo_.size() == 0) {
      x = x.cwiseMax(lo_scalar_).cwiseMin(hi_scalar_);
    } else {
      check_size(x.size());
      x = x.cwiseMax(lo_).cwiseMin(hi_);
    }
  }
  bool contains(ConstVectorRef<S> x, S tol) const override {
    if (lo_.size() == 0) return (x.array() >= lo_scalar_ - tol).all() && (x.array() <= hi_scalar_ + tol).all();
    check_size(x.size());
    return (x.array() >= lo_.array() - tol).all() && (x.array() <= hi_.array() + tol).all();
  }
  std::string describe() const override {
    return lo_.size() == 0 ? fmt::format("box [{}, {}]", lo_scalar_, hi_scalar_) : "box (per-coordinate bounds)";
  }

 private:
  void check_size(Index n) const {
    if (n != lo_.size()) throw InvalidOptions(fmt::format("box has dimension {}, vector has {}", lo_.size(), n));
  }
  S lo_scalar_ = 0, hi_scalar_ = 0;
  Vector<S> lo_, hi_;
};

// {x : x >= 0}.
template <class S>
class NonNegative final : public ConstraintSet<S> {
 public:
  void project(VectorRef<S> x) const override { x = x.cwiseMax(S(0)); }
  bool contains(ConstVectorRef<S> x, S tol) const override { return (x.array() >= -tol).all(); }
  std::string describe() const override { return "non-negative orthant"; }
};

// {x : ||x - c||_inf <= r}: a box around c, projected by a clamp. An empty centre means the origin.
template <class S>
class LInfBall final : public ConstraintSet<S> {
 public:
  explicit LInfBall(S radius, Vector<S> centre = {}) : r_(radius), c_(std::move(centre)) {
    if (!(radius > 0)) throw InvalidOptions(fmt::format("L-infinity ball radius must be > 0, got {}", radius));
  }
  void project(VectorRef<S> x) const override {
    if (c_.size() == 0) {
      x = x.cwiseMax(-r_).cwiseMin(r_);
    } else {
      x = c_ + (x - c_).cwiseMax(-r_).cwiseMin(r_);
    }
  }
  bool contains(ConstVectorRef<S> x, S tol) const override {
    const S d = c_.size() == 0 ? x.template lpNorm<Eigen::Infinity>() : (x - c_).template lpNorm<Eigen::Infinity>();
    return d <= r_ + tol;
  }
  std::string describe() const override { return fmt::format("L-infinity ball of radius {}", r_); }

 private:
  S r_;
  Vector<S> c_;
};

// {x : ||x - c||_2 <= r}: the projection scales x - c back onto the sphere when outside.
template <class S>
class L2Ball final : public ConstraintSet<S> {
 public:
  explicit L2Ball(S radius, Vector<S> centre = {}) : r_(radius), c_(std::move(centre)) {
    if (!(radius > 0)) throw InvalidOptions(fmt::format("L2 ball radius must be > 0, got {}", radius));
  }
  void project(VectorRef<S> x) const override {
    if (c_.size() == 0) {
      const S n = x.norm();
      if (n > r_) x *= r_ / n;
    } else {
      const S n = (x - c_).norm();
      if (n > r_) x = c_ + (x - c_) * (r_ / n);
    }
  }
  bool contains(ConstVectorRef<S> x, S tol) const override {
    return (c_.size() == 0 ? x.norm() : (x - c_).norm()) <= r_ + tol;
  }
  std::string describe() const override { return fmt::format("L2 ball of radius {}", r_); }

 private:
  S r_;
  Vector<S> c_;
};

// {A in R^{rows x cols} : ||A||_2 <= r}, A stored column-major in a vector of rows*cols entries.
// The projection clips the singular values at r (nearest point in Frobenius norm).
template <class S>
class SpectralNormBall final : public ConstraintSet<S> {
 public:
  SpectralNormBall(Index rows, Index cols, S radius) : rows_(rows), cols_(cols), r_(radius) {
    if (rows <= 0 || cols <= 0) throw InvalidOptions("spectral-norm ball needs a matrix shape with rows, cols > 0");
    if (!(radius > 0)) throw InvalidOptions(fmt::format("spectral-norm ball radius must be > 0, got {}", radius));
  }
  void project(VectorRef<S> x) const override {
    check_size(x.size());
    clip_spectral_norm<S>(Eigen::Map<Matrix<S>>(x.data(), rows_, cols_), r_);
  }
  bool contains(ConstVectorRef<S> x, S tol) const override {
    check_size(x.size());
    return spectral_norm<S>(Eigen::Map<const Matrix<S>>(x.data(), rows_, cols_)) <= r_ + tol;
  }
  std::string describe() const override {
    return fmt::format("spectral-norm ball of radius {} ({}x{} matrix)", r_, rows_, cols_);
  }

 private:
  void check_size(Index n) const {
    if (n != rows_ * cols_)
      throw InvalidOptions(fmt::format("spectral-norm ball expects {}x{} = {} entries, got {}", rows_, cols_,
                                       rows_ * cols_, n));
  }
  Index rows_, cols_;
  S r_;
};

// A product of sets acting on disjoint segments [offset, offset + size) of lambda; coordinates not
// covered by any block are unconstrained. The projection onto a product is the product of projections.
template <class S>
class BlockProduct final : public ConstraintSet<S> {
 public:
  struct Block {
    Index offset;
    Index size;
    std::shared_ptr<const ConstraintSet<S>> set;
  };
  explicit BlockProduct(std::vector<Block> blocks) : blocks_(std::move(blocks)) {
    std::sort(blocks_.begin(), blocks_.end(), [](const Block& a, const Block& b) { return a.offset < b.offset; });
    for (std::size_t i = 0; i < blocks_.size(); ++i) {
      if (blocks_[i].offset < 0 || blocks_[i].size <= 0 || !blocks_[i].set)
        throw InvalidOptions("block of a product set needs offset >= 0, size > 0 and a set");
      if (i > 0 && blocks_[i - 1].offset + blocks_[i - 1].size > blocks_[i].offset)
        throw InvalidOptions(fmt::format("blocks of a product set overlap at offset {}", blocks_[i].offset));
    }
  }
  void project(VectorRef<S> x) const override {
    for (const auto& b : blocks_) b.set->project(segment(x, b));
  }
  bool contains(ConstVectorRef<S> x, S tol) const override {
    for (const auto& b : blocks_)
      if (!b.set->contains(x.segment(b.offset, b.size), tol)) return false;
    return true;
  }
  std::string describe() const override {
    std::string s = "product of";
    for (const auto& b : blocks_) s += fmt::format(" [{}, {}): {};", b.offset, b.offset + b.size, b.set->describe());
    return s;
  }

 private:
  static auto segment(VectorRef<S> x, const Block& b) {
    if (b.offset + b.size > x.size())
      throw InvalidOptions(fmt::format("block [{}, {}) exceeds the dimension {}", b.offset, b.offset + b.size, x.size()));
    return x.segment(b.offset, b.size);
  }
  std::vector<Block> blocks_;
};

}  // namespace bilevel
