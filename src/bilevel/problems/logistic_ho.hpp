#pragma once
// logistic-ho: hyperparameter optimisation of an L2-regularised multinomial logistic regression, the
// hyperparameter-optimisation experiment of the loops paper (Ji, Liu, Liang, Ying 2022).
//
//   LL  g(W, lambda) = (1/n) sum_{i in train} CE(x_i^T W, y_i) + 1/2 sum_j exp(lambda_j) ||W_j||^2
//   UL  E(W)         = (1/m) sum_{v in validation} CE(x_v^T W, y_v)
//
// W is d x c (features by classes; w = vec(W), column-major); lambda is one log-regularisation per
// feature (row W_j) or a single one for all, so exp(lambda) stays positive. Derivatives:
//   grad_W g      = X^T (P - Y) / n + diag(exp(lambda)) W
//   Hess_WW g U   = X^T (P o XU - P o rowsum(P o XU)) / n + diag(exp(lambda)) U
//   d2_{lambda W} g U, entry j = exp(lambda_j) <W_j, U_j>  (scalar form: exp(lambda) <W, U>)
//   grad_W E      = X_val^T (P_val - Y_val) / m,  grad_lambda E = 0
// g is exp(min lambda)-strongly convex and (L_data + exp(max lambda))-smooth with
// L_data = lambda_max(X^T X / n) / 2, so Phi = W - gamma grad g is a contraction for
// gamma < 2 / (L_data + exp(max lambda)). Lambda = [lambda_min, lambda_max]^m keeps it one for a given gamma.
#include <fmt/format.h>

#include <cmath>
#include <memory>
#include <numeric>
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

enum class Regularization { kScalar, kPerFeature };

struct LogisticHOOptions {
  Regularization regularization = Regularization::kPerFeature;
  // Box on lambda (log-regularisation); see the header comment for why it has an upper end.
  double lambda_min = -30.0;
  double lambda_max = 30.0;
};

template <class S>
class LogisticHO {
 public:
  using Scalar = S;

  LogisticHO(const Dataset& train, const Dataset& validation, const Dataset& test, LogisticHOOptions o = {})
      : o_(o), classes_(train.num_classes), train_(train), validation_(validation), test_(test) {
    softmax::check_splits("logistic-ho", train, validation, test);
    if (!(o.lambda_min < o.lambda_max))
      throw InvalidOptions(fmt::format("logistic-ho: lambda_min {} must be < lambda_max {}", o.lambda_min, o.lambda_max));
    constraint_ = std::make_shared<Box<S>>(static_cast<S>(o.lambda_min), static_cast<S>(o.lambda_max));
  }

  Index dim_w() const { return train_.x.cols() * classes_; }
  Index dim_lambda() const { return o_.regularization == Regularization::kPerFeature ? train_.x.cols() : 1; }
  Index ll_population() const { return train_.x.rows(); }
  Index ul_population() const { return validation_.x.rows(); }
  Index features() const { return train_.x.cols(); }
  int classes() const { return classes_; }
  const ConstraintSet<S>& constraint() const { return *constraint_; }

  // L_data = lambda_max(X^T X / n) / 2 (a smoothness bound of the data term).
  double data_smoothness() const { return softmax::smoothness(train_.x); }

  S ll_value(ConstVectorRef<S> w, ConstVectorRef<S> lambda, Batch batch) const {
    const auto W = weights(w);
    return with_rows(batch, [&](const auto& x, std::span<const std::int32_t> y) {
      return softmax::loss_and_grad<S>(x, y, W, nullptr) + S(0.5) * regulariser(lambda, W);
    });
  }

  void ll_grad(ConstVectorRef<S> w, ConstVectorRef<S> lambda, Batch batch, VectorRef<S> out) const {
    const auto W = weights(w);
    auto g = softmax::weights_out<S>(out, features(), classes_);
    softmax::MatrixOut<S> grad(g);
    with_rows(batch, [&](const auto& x, std::span<const std::int32_t> y) { return softmax::loss_and_grad<S>(x, y, W, &grad); });
    add_scaled_rows(lambda, W, g);
  }

  void ll_hvp(ConstVectorRef<S> w, ConstVectorRef<S> lambda, ConstVectorRef<S> u, Batch batch, VectorRef<S> out) const {
    const auto W = weights(w), U = weights(u);
    auto h = softmax::weights_out<S>(out, features(), classes_);
    probabilities_.select(W, batch);
    with_rows(batch, [&](const auto& x, std::span<const std::int32_t> y) {
      softmax::hessian_vector<S>(x, y, W, U, h, {}, &probabilities_);
      return S(0);
    });
    add_scaled_rows(lambda, U, h);
  }

  void ll_mixed_vjp(ConstVectorRef<S> w, ConstVectorRef<S> lambda, ConstVectorRef<S> u, Batch /*batch*/,
                    VectorRef<S> out) const {
    const auto W = weights(w), U = weights(u);
    if (o_.regularization == Regularization::kScalar) {
      out(0) = std::exp(lambda(0)) * (W.array() * U.array()).sum();
    } else {
      out = lambda.array().exp() * (W.array() * U.array()).rowwise().sum();
    }
  }

  S outer(ConstVectorRef<S> w, ConstVectorRef<S> /*lambda*/, Batch batch, Vector<S>* grad_w,
          Vector<S>* grad_lambda) const {
    const S value = softmax::batch_loss(validation_, batch, weights(w), grad_w, "logistic-ho");
    if (grad_lambda) grad_lambda->setZero(dim_lambda());
    return value;
  }

  // Loss and accuracy of W on each split.
  std::vector<std::pair<std::string, double>> metrics(ConstVectorRef<S> /*lambda*/, ConstVectorRef<S> w) const {
    const auto W = weights(w);
    std::vector<std::pair<std::string, double>> m;
    softmax::add_split_metrics(m, "train", train_, W);
    softmax::add_split_metrics(m, "validation", validation_, W);
    softmax::add_split_metrics(m, "test", test_, W);
    return m;
  }

 private:
  softmax::ConstWeights<S> weights(ConstVectorRef<S> w) const { return softmax::weights(w, train_.x.cols(), classes_); }

  // sum_j exp(lambda_j) ||W_j||^2
  S regulariser(ConstVectorRef<S> lambda, const softmax::ConstWeights<S>& W) const {
    if (o_.regularization == Regularization::kScalar) return std::exp(lambda(0)) * W.squaredNorm();
    return (lambda.array().exp() * W.rowwise().squaredNorm().array()).sum();
  }

  // out += diag(exp(lambda)) U
  void add_scaled_rows(ConstVectorRef<S> lambda, const softmax::ConstWeights<S>& U, Eigen::Map<Matrix<S>>& out) const {
    if (o_.regularization == Regularization::kScalar) {
      out += std::exp(lambda(0)) * U;
      return;
    }
    struct Scales;
    auto scales = scratch_matrix<Scales, S>(lambda.size(), 1);
    scales = lambda.array().exp();
    out += scales.col(0).asDiagonal() * U;
  }

  // f(rows, labels) on the batch's training examples.
  template <class F>
  S with_rows(Batch batch, F&& f) const {
    return softmax::with_rows(train_, batch, "logistic-ho", std::forward<F>(f));
  }

  LogisticHOOptions o_;
  int classes_;
  softmax::Split<S> train_;
  softmax::Split<S> validation_, test_;
  std::shared_ptr<const ConstraintSet<S>> constraint_;
  // P of the last Hessian-vector product's W and batch, for the next one at the same (the LS's steps).
  mutable softmax::KeptProbabilities<S> probabilities_;
};

}  // namespace bilevel
