#pragma once
// hyper-cleaning: learn one weight per training example so that a classifier trained on a set with
// corrupted labels does well on clean validation data (stocBiO's benchmark, Ji, Yang, Liang 2021;
// the most common benchmark of stochastic bilevel papers).
//
//   LL  g(W, lambda) = (1/n) sum_i sigma(lambda_i) CE(x_i^T W, y_i) + c ||W||^2     (c = 0.001)
//   UL  E(W)         = (1/m) sum_{v in validation} CE(x_v^T W, y_v)
//
// Derivatives (sigma' = sigma (1 - sigma), a_i = sigma(lambda_i)):
//   grad_W g = X^T diag(a) (P - Y) / n + 2 c W,   Hess g U = X^T diag(a) (softmax HVP rows) / n + 2 c U
//   d2_{lambda_i W} g U = sigma'(lambda_i) / n  (U^T x_i) . (p_i - y_i)
//   grad_W E = X_val^T (P_val - Y_val) / m,       grad_lambda E = 0
// g is 2c-strongly convex and (L_data + 2c)-smooth (a_i <= 1), so gamma = 1 / (L_data + 2c) makes Phi a
// contraction for every lambda.
#include <fmt/format.h>

#include <cmath>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "bilevel/core/constraints.hpp"
#include "bilevel/core/error.hpp"
#include "bilevel/core/scratch.hpp"
#include "bilevel/data/dataset.hpp"
#include "bilevel/problems/linear_softmax.hpp"

namespace bilevel {

template <class S>
class HyperCleaning {
 public:
  using Scalar = S;

  // `train` carries the corrupted labels; corrupted[i] says whether example i's label was changed
  // (used only for metrics).
  HyperCleaning(const Dataset& train, std::vector<bool> corrupted, const Dataset& validation, const Dataset& test,
                double regularization = 0.001)
      : c_(regularization), classes_(train.num_classes), train_(train),
        corrupted_(std::move(corrupted)), validation_(validation), test_(test), constraint_(std::make_shared<Unconstrained<S>>()) {
    softmax::check_splits("hyper-cleaning", train, validation, test);
    if (static_cast<Index>(corrupted_.size()) != train.size())
      throw InvalidOptions("hyper-cleaning: one corruption flag per training example is needed");
    if (!(regularization > 0))
      throw InvalidOptions(fmt::format("hyper-cleaning: regularization must be > 0, got {}", regularization));
  }

  Index dim_w() const { return train_.x.cols() * classes_; }
  Index dim_lambda() const { return train_.x.rows(); }
  Index ll_population() const { return train_.x.rows(); }
  Index ul_population() const { return validation_.x.rows(); }
  const ConstraintSet<S>& constraint() const { return *constraint_; }
  double data_smoothness() const { return softmax::smoothness(train_.x); }
  double strong_convexity() const { return 2.0 * c_; }

  S ll_value(ConstVectorRef<S> w, ConstVectorRef<S> lambda, Batch batch) const {
    const auto W = weights(w);
    const Gathered g = gather(lambda, batch);
    return softmax::loss_and_grad<S>(g.x, g.y, W, nullptr, nullptr, g.a) + static_cast<S>(c_) * W.squaredNorm();
  }

  void ll_grad(ConstVectorRef<S> w, ConstVectorRef<S> lambda, Batch batch, VectorRef<S> out) const {
    const auto W = weights(w);
    const Gathered g = gather(lambda, batch);
    auto grad = softmax::weights_out<S>(out, train_.x.cols(), classes_);
    softmax::MatrixOut<S> grad_out(grad);
    softmax::loss_and_grad<S>(g.x, g.y, W, &grad_out, nullptr, g.a);
    grad += static_cast<S>(2 * c_) * W;
  }

  void ll_hvp(ConstVectorRef<S> w, ConstVectorRef<S> lambda, ConstVectorRef<S> u, Batch batch, VectorRef<S> out) const {
    const auto W = weights(w), U = weights(u);
    const Gathered g = gather(lambda, batch);
    auto h = softmax::weights_out<S>(out, train_.x.cols(), classes_);
    probabilities_.select(W, batch);  // P depends on W and the rows only: the weights a come after it
    softmax::hessian_vector<S>(g.x, g.y, W, U, h, g.a, &probabilities_);
    h += static_cast<S>(2 * c_) * U;
  }

  void ll_mixed_vjp(ConstVectorRef<S> w, ConstVectorRef<S> lambda, ConstVectorRef<S> u, Batch batch,
                    VectorRef<S> out) const {
    struct Residual;
    struct Curvature;
    const auto W = weights(w), U = weights(u);
    const Gathered g = gather(lambda, batch);
    auto residual = scratch_matrix<Residual, S>(g.x.rows(), classes_);  // P - Y
    softmax::MatrixOut<S> residual_out(residual);
    softmax::loss_and_grad<S>(g.x, g.y, W, nullptr, &residual_out);
    // Row by row: a matrix product over the batch would allocate Eigen's blocking buffers.
    auto z = scratch_matrix<Curvature, S>(1, classes_);
    out.setZero();
    const S inv_n = S(1) / static_cast<S>(batch.size());
    for (std::size_t k = 0; k < batch.size(); ++k) {
      const auto i = static_cast<Index>(batch[k]);
      const auto row = static_cast<Index>(k);
      const S a = g.a[k];
      z.noalias() = Eigen::Map<const Eigen::Matrix<S, 1, Eigen::Dynamic>>(g.x.row(row), g.x.cols) * U;
      out(i) += inv_n * a * (S(1) - a) * z.row(0).dot(residual.row(row));
    }
  }

  S outer(ConstVectorRef<S> w, ConstVectorRef<S> /*lambda*/, Batch batch, Vector<S>* grad_w,
          Vector<S>* grad_lambda) const {
    const S loss = softmax::batch_loss(validation_, batch, weights(w), grad_w, "hyper-cleaning");
    if (grad_lambda) grad_lambda->setZero(dim_lambda());
    return loss;
  }

  // Loss and accuracy per split, and the mean weight sigma(lambda) of clean and of corrupted examples
  // (cleaning works when the second falls below the first).
  std::vector<std::pair<std::string, double>> metrics(ConstVectorRef<S> lambda, ConstVectorRef<S> w) const {
    const auto W = weights(w);
    std::vector<std::pair<std::string, double>> m;
    softmax::add_split_metrics(m, "validation", validation_, W);
    softmax::add_split_metrics(m, "test", test_, W);
    double clean = 0, dirty = 0;
    Index n_clean = 0, n_dirty = 0;
    for (Index i = 0; i < lambda.size(); ++i) {
      const double a = 1.0 / (1.0 + std::exp(-static_cast<double>(lambda(i))));
      if (corrupted_[static_cast<std::size_t>(i)]) {
        dirty += a;
        ++n_dirty;
      } else {
        clean += a;
        ++n_clean;
      }
    }
    m.emplace_back("weight_clean", n_clean ? clean / static_cast<double>(n_clean) : 0.0);
    m.emplace_back("weight_corrupted", n_dirty ? dirty / static_cast<double>(n_dirty) : 0.0);
    return m;
  }

 private:
  // The rows (in place), labels and weights sigma(lambda_i) of a batch (scratch memory, see core/scratch.hpp).
  struct Gathered {
    softmax::Rows<S> x;
    std::span<const std::int32_t> y;
    std::span<const S> a;
  };

  softmax::ConstWeights<S> weights(ConstVectorRef<S> w) const { return softmax::weights(w, train_.x.cols(), classes_); }

  Gathered gather(ConstVectorRef<S> lambda, Batch batch) const {
    struct Weights;
    return softmax::with_rows(train_, batch, "hyper-cleaning", [&](const softmax::Rows<S>& x, std::span<const std::int32_t> y) {
      const auto a = scratch_span<Weights, S>(batch.size());
      for (std::size_t k = 0; k < batch.size(); ++k) a[k] = S(1) / (S(1) + std::exp(-lambda(static_cast<Index>(batch[k]))));
      return Gathered{x, y, a};
    });
  }

  double c_;
  int classes_;
  softmax::Split<S> train_;
  std::vector<bool> corrupted_;
  softmax::Split<S> validation_, test_;
  std::shared_ptr<const ConstraintSet<S>> constraint_;
  // P of the last Hessian-vector product's W and batch, for the next one at the same (the LS's steps).
  mutable softmax::KeptProbabilities<S> probabilities_;
};

}  // namespace bilevel
