#pragma once
// data-poisoning: the warm-start paper's attack (Grazzi, Pontil, Salzo 2023, section 6). The attacker
// adds noise lambda_i to the first n_p training images (the poisoned points; labels kept) to maximise
// the validation loss of a linear classifier trained on the poisoned set.
//
//   x~_i = x_i + lambda_i for i < n_p, x_i otherwise
//   LL  g(W, lambda) = (1/n) sum_i CE(x~_i^T W, y_i) + r mean(W^2),   r = 0.1, mean over the d c entries
//   UL  E(W)         = - (1/m) sum_{v in validation} CE(x_v^T W, y_v)   (minimised: the attacker maximises CE)
//   Lambda = { lambda : |lambda_ij| <= eps and 0 <= x_ij + lambda_ij <= 1 }, a box (exact projection: a clamp)
//
// Derivatives (P, Y as in linear_softmax.hpp; z_i = U^T x~_i):
//   grad_W g = X~^T (P - Y) / n + (2 r / (d c)) W,   Hess g U = softmax HVP on X~ + (2 r / (d c)) U
//   d2_{lambda_i W} g U = (1/n) [U (p_i - y_i) + W (p_i o z_i - p_i (p_i^T z_i))]   for a poisoned i
//   grad_W E = - X_val^T (P_val - Y_val) / m,   grad_lambda E = 0
#include <fmt/format.h>

#include <cmath>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "bilevel/core/constraints.hpp"
#include "bilevel/core/error.hpp"
#include "bilevel/core/gather.hpp"  // checked_id
#include "bilevel/core/parallel.hpp"
#include "bilevel/core/scratch.hpp"
#include "bilevel/data/dataset.hpp"
#include "bilevel/problems/linear_softmax.hpp"

namespace bilevel {

struct DataPoisoningOptions {
  double epsilon = 0.3;       // L-infinity radius of each noise entry
  double regularization = 0.1;  // r in r mean(W^2)
};

template <class S>
class DataPoisoning {
 public:
  using Scalar = S;

  // The first `poisoned` rows of `train` are the poisoned points.
  DataPoisoning(const Dataset& train, Index poisoned, const Dataset& validation, const Dataset& test,
                DataPoisoningOptions o = {})
      : o_(o), classes_(train.num_classes), poisoned_(poisoned), train_(train),
        validation_(validation), test_(test) {
    softmax::check_splits("data-poisoning", train, validation, test);
    if (poisoned < 1 || poisoned > train.size())
      throw InvalidOptions(fmt::format("data-poisoning: {} poisoned points, but the training set has {}", poisoned, train.size()));
    if (!(o.epsilon > 0)) throw InvalidOptions(fmt::format("data-poisoning: epsilon must be > 0, got {}", o.epsilon));
    if (!(o.regularization > 0))
      throw InvalidOptions(fmt::format("data-poisoning: regularization must be > 0, got {}", o.regularization));
    // The box: |lambda| <= eps and x + lambda in [0, 1].
    const Index d = train_.x.cols();
    Vector<S> lo(poisoned * d), hi(poisoned * d);
    for (Index i = 0; i < poisoned; ++i)
      for (Index j = 0; j < d; ++j) {
        lo(i * d + j) = std::max(static_cast<S>(-o.epsilon), -train_.x(i, j));
        hi(i * d + j) = std::min(static_cast<S>(o.epsilon), S(1) - train_.x(i, j));
      }
    constraint_ = std::make_shared<Box<S>>(std::move(lo), std::move(hi));
  }

  Index dim_w() const { return train_.x.cols() * classes_; }
  Index dim_lambda() const { return poisoned_ * train_.x.cols(); }
  Index ll_population() const { return train_.x.rows(); }
  Index ul_population() const { return validation_.x.rows(); }
  const ConstraintSet<S>& constraint() const { return *constraint_; }
  // A smoothness bound of the data term valid for every feasible lambda:
  // lambda_max(X~^T X~ / n) / 2 <= (||X||_2 + eps sqrt(n_p d))^2 / (2 n), since ||Lambda||_F <= eps sqrt(n_p d).
  double data_smoothness() const {
    const double n = static_cast<double>(train_.x.rows());
    const double x_norm = std::sqrt(2.0 * softmax::smoothness(train_.x) * n);
    const double noise = o_.epsilon * std::sqrt(static_cast<double>(poisoned_ * train_.x.cols()));
    return (x_norm + noise) * (x_norm + noise) / (2.0 * n);
  }
  // The strong convexity of g in W: 2 r / (d c).
  double strong_convexity() const { return 2.0 * o_.regularization / static_cast<double>(dim_w()); }

  S ll_value(ConstVectorRef<S> w, ConstVectorRef<S> lambda, Batch batch) const {
    const auto W = weights(w);
    const Poisoned b = poisoned(lambda, batch);
    return softmax::loss_and_grad<S>(b.x, b.y, W, nullptr) + static_cast<S>(0.5 * strong_convexity()) * W.squaredNorm();
  }

  void ll_grad(ConstVectorRef<S> w, ConstVectorRef<S> lambda, Batch batch, VectorRef<S> out) const {
    const auto W = weights(w);
    auto g = softmax::weights_out<S>(out, train_.x.cols(), classes_);
    softmax::MatrixOut<S> grad(g);
    const Poisoned b = poisoned(lambda, batch);
    softmax::loss_and_grad<S>(b.x, b.y, W, &grad);
    g += static_cast<S>(strong_convexity()) * W;
  }

  void ll_hvp(ConstVectorRef<S> w, ConstVectorRef<S> lambda, ConstVectorRef<S> u, Batch batch, VectorRef<S> out) const {
    const auto W = weights(w), U = weights(u);
    auto h = softmax::weights_out<S>(out, train_.x.cols(), classes_);
    const Poisoned b = poisoned(lambda, batch);
    softmax::hessian_vector<S>(b.x, b.y, W, U, h);
    h += static_cast<S>(strong_convexity()) * U;
  }

  // Only the poisoned examples of the batch contribute; each is one row-vector product with W and U
  // (no matrix product over the batch, which would also allocate Eigen's blocking buffers).
  void ll_mixed_vjp(ConstVectorRef<S> w, ConstVectorRef<S> lambda, ConstVectorRef<S> u, Batch batch,
                    VectorRef<S> out) const {
    struct Probabilities;
    struct Curvature;
    struct Residual;
    const auto W = weights(w), U = weights(u);
    const Index d = train_.x.cols();
    const Poisoned b = poisoned(lambda, batch);
    auto p = scratch_matrix<Probabilities, S>(1, classes_);
    auto curvature = scratch_matrix<Curvature, S>(1, classes_);
    auto residual = scratch_matrix<Residual, S>(classes_, 1);
    out.setZero();
    const S inv_n = S(1) / static_cast<S>(batch.size());
    for (std::size_t k = 0; k < batch.size(); ++k) {
      const auto i = static_cast<Index>(batch[k]);
      if (i >= poisoned_) continue;
      const Eigen::Map<const Eigen::Matrix<S, 1, Eigen::Dynamic>> x(b.x.row(static_cast<Index>(k)), d);
      p.noalias() = x * W;
      softmax::softmax_rows<S>(p, b.y.subspan(k, 1));
      curvature.noalias() = x * U;  // x~_i^T U, then J_i applied: the softmax Jacobian's part
      softmax::apply_softmax_jacobian<S>(p, curvature);
      residual = p.transpose();
      residual(b.y[k]) -= S(1);
      auto noise_gradient = out.segment(i * d, d);
      noise_gradient.noalias() += inv_n * (U * residual.col(0));
      noise_gradient.noalias() += inv_n * (W * curvature.row(0).transpose());
    }
  }

  S outer(ConstVectorRef<S> w, ConstVectorRef<S> /*lambda*/, Batch batch, Vector<S>* grad_w,
          Vector<S>* grad_lambda) const {
    const S loss = softmax::batch_loss(validation_, batch, weights(w), grad_w, "data-poisoning");
    if (grad_w) *grad_w = -*grad_w;  // the attacker maximises the validation loss
    if (grad_lambda) grad_lambda->setZero(dim_lambda());
    return -loss;
  }

  // Loss and accuracy of the classifier trained on the poisoned set, on each split, and the size of
  // the noise.
  std::vector<std::pair<std::string, double>> metrics(ConstVectorRef<S> lambda, ConstVectorRef<S> w) const {
    const auto W = weights(w);
    std::vector<std::pair<std::string, double>> m;
    softmax::add_split_metrics(m, "validation", validation_, W);
    softmax::add_split_metrics(m, "test", test_, W);
    m.emplace_back("noise_linf", static_cast<double>(lambda.cwiseAbs().maxCoeff()));
    return m;
  }

 private:
  softmax::ConstWeights<S> weights(ConstVectorRef<S> w) const { return softmax::weights(w, train_.x.cols(), classes_); }

  // The batch's rows as the classifier sees them, and their labels: the stored rows read in place and,
  // for the poisoned ones, x_i + lambda_i built in scratch memory (core/scratch.hpp) by row chunks
  // over the threads. So the full batch copies its n_p poisoned rows, not all n rows (at Fashion-MNIST's
  // 60 000, the copy of every row was 188 MB written and read again per call, on one thread).
  struct Poisoned {
    softmax::Rows<S> x;  // one pointer per row
    std::span<const std::int32_t> y;
  };
  Poisoned poisoned(ConstVectorRef<S> lambda, Batch batch) const {
    struct RowPointers;
    struct Labels;
    struct NoisyIds;
    struct NoisyRows;
    const Index d = train_.x.cols();
    const auto pointers = scratch_span<RowPointers, const S*>(batch.size());
    const auto y = scratch_span<Labels, std::int32_t>(batch.size());
    const auto noisy_ids = scratch_span<NoisyIds, Index>(batch.size());
    Index noisy = 0;
    for (std::size_t k = 0; k < batch.size(); ++k) {
      const Index i = checked_id(batch[k], train_.x.rows(), "data-poisoning");
      y[k] = train_.y[static_cast<std::size_t>(i)];
      if (i < poisoned_) noisy_ids[static_cast<std::size_t>(noisy++)] = i;
    }
    auto x = scratch_rows<NoisyRows, S>(noisy, d);
    for_each_chunk(row_chunks(noisy), [&](Index, Index begin, Index rows) {
      for (Index j = begin; j < begin + rows; ++j) {
        const Index i = noisy_ids[static_cast<std::size_t>(j)];
        x.row(j) = train_.x.row(i) + lambda.segment(i * d, d).transpose();
      }
    });
    for (std::size_t k = 0, j = 0; k < batch.size(); ++k) {
      const auto i = static_cast<Index>(batch[k]);  // checked above
      pointers[k] = i < poisoned_ ? x.row(static_cast<Index>(j++)).data() : train_.x.row(i).data();
    }
    return {softmax::Rows<S>(pointers.data(), d, static_cast<Index>(batch.size())), y};
  }

  DataPoisoningOptions o_;
  int classes_;
  Index poisoned_;
  softmax::Split<S> train_;
  softmax::Split<S> validation_, test_;
  std::shared_ptr<const ConstraintSet<S>> constraint_;
};

}  // namespace bilevel
