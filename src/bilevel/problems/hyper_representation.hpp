#pragma once
// hyper-representation: the synthetic regression of the loops paper (Ji, Liu, Liang, Ying 2022,
// Table 3). A linear representation h(X; H) = X H (H: p x r) is learned in the UL; the LL fits a
// ridge head w on top of it:
//
//   LL  g(w, H) = ||X_T H w - y_T||^2 / (2 n) + (mu / 2) ||w||^2              (mu = 0.1)
//   UL  E(w, H) = ||X_V H w - y_V||^2 / (2 m)
//
// With r = X H w - y on a batch of b rows:
//   grad_w g = H^T X^T r / b + mu w,            Hess_ww g u = H^T X^T X H u / b + mu u
//   d2_{H w} g u = X^T (r u^T + (X H u) w^T) / b                             (p x r)
//   grad_w E = H^T X_V^T r_V / m,               grad_H E = X_V^T r_V w^T / m
// lambda = vec(H), column-major. Lambda = { ||H||_2 <= R } keeps the LL smoothness below
// R^2 lambda_max(X^T X / n) + mu, so gamma = 1 / (that) makes Phi a contraction on all of Lambda.
#include <fmt/format.h>

#include <cmath>
#include <memory>

#include "bilevel/core/constraints.hpp"
#include "bilevel/core/error.hpp"
#include "bilevel/core/gather.hpp"
#include "bilevel/core/linalg.hpp"
#include "bilevel/core/rng.hpp"
#include "bilevel/core/scratch.hpp"
#include "bilevel/core/types.hpp"

namespace bilevel {

struct HyperRepresentationOptions {
  Index input_dim = 64;       // p
  Index representation = 128; // r
  Index train_size = 500;     // n
  Index validation_size = 500;  // m
  double noise = 0.1;         // y = X H_true w_true + noise * N(0, 1)
  double mu = 0.1;            // LL ridge: (mu / 2) ||w||^2
  double radius = 0;          // R of Lambda; 0 = 2 ||H_true||_2
  std::uint64_t seed = 0;
};

template <class S>
class HyperRepresentation {
 public:
  using Scalar = S;

  explicit HyperRepresentation(const HyperRepresentationOptions& o) : o_(o) {
    if (o.input_dim < 1 || o.representation < 1 || o.train_size < 1 || o.validation_size < 1)
      throw InvalidOptions("hyper-representation: dimensions and split sizes must be >= 1");
    if (!(o.mu > 0)) throw InvalidOptions(fmt::format("hyper-representation: mu must be > 0, got {}", o.mu));
    if (!(o.noise >= 0)) throw InvalidOptions(fmt::format("hyper-representation: noise must be >= 0, got {}", o.noise));
    // The seeded generator: X entries N(0, 1), H_true N(0, 1/p), w_true N(0, 1/r).
    Rng rng = RandomStreams(o.seed).stream("hyper_representation/data");
    auto gaussian = [&](Index rows, Index cols, double scale) {
      Matrix<double> m(rows, cols);
      for (Index j = 0; j < cols; ++j)
        for (Index i = 0; i < rows; ++i) m(i, j) = scale * rng.normal();
      return m;
    };
    const Matrix<double> h_true = gaussian(o.input_dim, o.representation, 1.0 / std::sqrt(double(o.input_dim)));
    const Vector<double> w_true = gaussian(o.representation, 1, 1.0 / std::sqrt(double(o.representation)));
    auto split = [&](Index n, RowMatrix<S>& x, Vector<S>& y) {
      const Matrix<double> xd = gaussian(n, o.input_dim, 1.0);
      x = xd.cast<S>();
      y = (xd * h_true * w_true + o.noise * gaussian(n, 1, 1.0)).template cast<S>();
    };
    split(o.train_size, x_, y_);
    split(o.validation_size, xv_, yv_);
    radius_ = o.radius > 0 ? o.radius : 2.0 * spectral_norm<double>(h_true);
    constraint_ = std::make_shared<SpectralNormBall<S>>(o.input_dim, o.representation, static_cast<S>(radius_));
    smoothness_ = radius_ * radius_ * gram_max_eigenvalue<S>(x_) + o.mu;
  }

  Index dim_w() const { return o_.representation; }
  Index dim_lambda() const { return o_.input_dim * o_.representation; }
  Index ll_population() const { return x_.rows(); }
  Index ul_population() const { return xv_.rows(); }
  const ConstraintSet<S>& constraint() const { return *constraint_; }
  // The LL smoothness bound on all of Lambda: R^2 lambda_max(X^T X / n) + mu.
  double smoothness() const { return smoothness_; }
  double radius() const { return radius_; }

  // The oracles take their temporaries from scratch memory (core/scratch.hpp): none allocates once it
  // has run at its largest batch. Each gathers the batch's rows X_b and targets y_b, then forms the
  // residual r = X_b (H w) - y_b and the p-vectors X_b^T r.
  S ll_value(ConstVectorRef<S> w, ConstVectorRef<S> lambda, Batch batch) const {
    const auto g = gather(batch, false);
    const auto r = residual(g, lambda, w);
    return r.squaredNorm() / (S(2) * static_cast<S>(batch.size())) + static_cast<S>(0.5 * o_.mu) * w.squaredNorm();
  }

  void ll_grad(ConstVectorRef<S> w, ConstVectorRef<S> lambda, Batch batch, VectorRef<S> out) const {
    const auto g = gather(batch, false);
    const auto xr = back<Back>(g, residual(g, lambda, w));
    out.noalias() = rep(lambda).transpose() * xr;
    out = out / static_cast<S>(batch.size()) + static_cast<S>(o_.mu) * w;
  }

  void ll_hvp(ConstVectorRef<S>, ConstVectorRef<S> lambda, ConstVectorRef<S> u, Batch batch, VectorRef<S> out) const {
    const auto g = gather(batch, false);
    const auto xu = back<Back>(g, predictions<Curvature>(g, lambda, u));
    out.noalias() = rep(lambda).transpose() * xu;
    out = out / static_cast<S>(batch.size()) + static_cast<S>(o_.mu) * u;
  }

  void ll_mixed_vjp(ConstVectorRef<S> w, ConstVectorRef<S> lambda, ConstVectorRef<S> u, Batch batch,
                    VectorRef<S> out) const {
    const auto g = gather(batch, false);
    const auto xr = back<Back>(g, residual(g, lambda, w));
    const auto xu = back<BackCurvature>(g, predictions<Curvature>(g, lambda, u));
    Eigen::Map<Matrix<S>> d(out.data(), o_.input_dim, o_.representation);
    d.noalias() = xr * u.transpose();
    d.noalias() += xu * w.transpose();
    d /= static_cast<S>(batch.size());
  }

  S outer(ConstVectorRef<S> w, ConstVectorRef<S> lambda, Batch batch, Vector<S>* grad_w, Vector<S>* grad_lambda) const {
    const auto g = gather(batch, true);
    const auto r = residual(g, lambda, w);
    const S m = static_cast<S>(batch.size());
    auto xr = back<Back>(g, r);
    xr /= m;
    if (grad_w) grad_w->noalias() = rep(lambda).transpose() * xr;
    if (grad_lambda) {
      grad_lambda->resize(dim_lambda());
      Eigen::Map<Matrix<S>>(grad_lambda->data(), o_.input_dim, o_.representation).noalias() = xr * w.transpose();
    }
    return r.squaredNorm() / (S(2) * m);
  }

  // Validation loss of the LL solution: the number of the loops paper's Table 3.
  std::vector<std::pair<std::string, double>> metrics(ConstVectorRef<S> lambda, ConstVectorRef<S> w) const {
    const Vector<S> rt = x_ * (rep(lambda) * w) - y_, rv = xv_ * (rep(lambda) * w) - yv_;
    return {{"train_loss", static_cast<double>(rt.squaredNorm()) / (2.0 * static_cast<double>(x_.rows()))},
            {"validation_loss", static_cast<double>(rv.squaredNorm()) / (2.0 * static_cast<double>(xv_.rows()))}};
  }

 private:
  Eigen::Map<const Matrix<S>> rep(ConstVectorRef<S> lambda) const {
    return Eigen::Map<const Matrix<S>>(lambda.data(), o_.input_dim, o_.representation);
  }

  // Scratch tags (core/scratch.hpp), one per temporary that is alive at the same time as another.
  struct Rows;
  struct Targets;
  struct Head;
  struct Predictions;
  struct Curvature;
  struct Back;
  struct BackCurvature;

  struct Gathered {
    ScratchRows<S> x;
    ScratchVector<S> y;
  };

  // The rows and targets of `batch` from the training or validation split, copied into scratch memory.
  Gathered gather(Batch batch, bool validation) const {
    const RowMatrix<S>& x = validation ? xv_ : x_;
    const Vector<S>& y = validation ? yv_ : y_;
    const auto b = static_cast<Index>(batch.size());
    Gathered g{scratch_rows<Rows, S>(b, x.cols()), scratch_vector<Targets, S>(b)};
    gather_rows(x, batch, "hyper-representation", g.x);
    for (Index k = 0; k < b; ++k) g.y(k) = y(static_cast<Index>(batch[static_cast<std::size_t>(k)]));  // ids checked above
    return g;
  }

  // X_b (H v), in the scratch vector of Tag.
  template <class Tag>
  ScratchVector<S> predictions(const Gathered& g, ConstVectorRef<S> lambda, ConstVectorRef<S> v) const {
    auto hv = scratch_vector<Head, S>(o_.input_dim);
    hv.noalias() = rep(lambda) * v;
    auto out = scratch_vector<Tag, S>(g.x.rows());
    out.noalias() = g.x * hv;
    return out;
  }

  // r = X_b (H w) - y_b.
  ScratchVector<S> residual(const Gathered& g, ConstVectorRef<S> lambda, ConstVectorRef<S> w) const {
    auto r = predictions<Predictions>(g, lambda, w);
    r -= g.y;
    return r;
  }

  // X_b^T v, in the scratch vector of Tag.
  template <class Tag>
  ScratchVector<S> back(const Gathered& g, const ScratchVector<S>& v) const {
    auto out = scratch_vector<Tag, S>(g.x.cols());
    out.noalias() = g.x.transpose() * v;
    return out;
  }

  HyperRepresentationOptions o_;
  RowMatrix<S> x_, xv_;
  Vector<S> y_, yv_;
  double radius_ = 0, smoothness_ = 0;
  std::shared_ptr<const ConstraintSet<S>> constraint_;
};

}  // namespace bilevel
