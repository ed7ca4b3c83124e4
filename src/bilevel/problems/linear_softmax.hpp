#pragma once
// Multinomial logistic regression with a linear model: the loss shared by the logistic-ho,
// data-poisoning and hyper-cleaning problems, with its hand-derived derivatives.
//
//   logits Z = X W (n x c, X: n x d examples by rows, W: d x c), P = softmax(Z) by rows,
//   loss   L(W) = (1/n) sum_i [logsumexp(Z_i) - Z_{i, y_i}]
//   grad   dL/dW = X^T (P - Y) / n                             (Y one-hot)
//   Hessian-vector product, direction U (d x c): with Z_U = X U,
//          H U = X^T (P o Z_U - P o rowsum(P o Z_U)) / n        (o: elementwise)
//   gradient in X (data poisoning):  dL/dX = (P - Y) W^T / n
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bilevel/core/error.hpp"
#include "bilevel/core/gather.hpp"
#include "bilevel/core/huge_pages.hpp"
#include "bilevel/core/linalg.hpp"
#include "bilevel/core/parallel.hpp"
#include "bilevel/core/scratch.hpp"
#include "bilevel/core/sampler.hpp"
#include "bilevel/core/thin_products.hpp"
#include "bilevel/data/dataset.hpp"

#include "bilevel/core/types.hpp"

namespace bilevel::softmax {

template <class S>
using ConstRows = Eigen::Ref<const RowMatrix<S>>;
// The examples an oracle reads: rows of a data matrix, all of them or a minibatch's, in place.
template <class S>
using Rows = thin::RowView<S>;
template <class S>
using ConstWeights = Eigen::Map<const Matrix<S>>;  // W, d x c, column-major view of w

// Row-wise softmax of `z` in place; returns sum_i a_i [logsumexp(z_i) - z_{i, y_i}] (the summed loss,
// weighted by a when given). z is column-major, so every step runs down its columns, vectorised over
// the examples (a row of z is strided).
template <class S>
S softmax_rows(Eigen::Ref<Matrix<S>> z, std::span<const std::int32_t> y, std::span<const S> a = {}) {
  struct RowMax;
  struct RowSum;
  struct Targets;
  const Index n = z.rows();
  auto top = scratch_matrix<RowMax, S>(n, 1);
  auto sum = scratch_matrix<RowSum, S>(n, 1);
  auto target = scratch_matrix<Targets, S>(n, 1);
  top = z.col(0);
  for (Index k = 1; k < z.cols(); ++k) top = top.cwiseMax(z.col(k));
  z.colwise() -= top.col(0);
  for (Index i = 0; i < n; ++i) target(i) = z(i, y[static_cast<std::size_t>(i)]);  // z_{i, y_i} - max_i
  z = z.array().exp();
  sum = z.col(0);
  for (Index k = 1; k < z.cols(); ++k) sum += z.col(k);
  z.array().colwise() /= sum.col(0).array();
  sum = sum.array().log() - target.array();  // the loss of each example
  if (!a.empty()) sum.array() *= Eigen::Map<const Vector<S>>(a.data(), n).array();
  S total = 0;
  for (Index i = 0; i < n; ++i) total += sum(i);
  return total;
}

// Per-example weights a_i of a weighted mean loss (1/n) sum_i a_i CE_i; empty = all ones.
template <class S>
using ExampleWeights = std::span<const S>;

// Where the kernels write a matrix result (a Matrix, or a Map of a caller's vector or scratch).
template <class S>
using MatrixOut = Eigen::Ref<Matrix<S>>;

// out = v / n, where v holds out's entries column after column. Written column by column: Eigen's
// reshaped() of a Ref, whose outer stride is known only at run time, finds every entry's place with an
// integer division, a scalar loop that was two thirds of an oracle on 32 rows (7 840 entries, 15 us).
template <class S, class V>
void assign_divided(MatrixOut<S> out, const V& v, S n) {
  for (Index k = 0; k < out.cols(); ++k) out.col(k) = v.segment(k * out.rows(), out.rows()) / n;
}

// Rows of a chunk are taken kBlockRows at a time: the block's logits and the product with its rows'
// transpose read the block while it is still in cache (one pass over X from memory, not two).
inline constexpr Index kBlockRows = 128;

// The chunks of the softmax kernels: those of core/parallel.hpp, except that a batch of 64 to 127 rows
// is two chunks rather than one, so that two threads share a minibatch of 64 (logistic-ho's UL
// iteration at B = 64, two threads: 1.06 -> 0.87 ms, medians of 5). From 128 rows on, chunks of 32 rows
// were slower than those of 64 (B = 256: 2.50-2.60 against 2.41-2.43 ms), the partial sums being more.
inline RowChunks softmax_chunks(Index rows) {
  return rows >= kMinChunkRows && rows < 2 * kMinChunkRows ? chunks_of(rows, rows / 2) : row_chunks(rows);
}

// Calls f(begin, rows) for consecutive blocks of at most kBlockRows of the rows [0, n).
template <class F>
void for_each_block(Index n, F&& f) {
  for (Index b = 0; b < n; b += kBlockRows) f(b, std::min(kBlockRows, n - b));
}

// Mean (weighted) loss; when `grad` is given, grad = X^T diag(a) (P - Y) / n (d x c); `residual`
// (n x c) receives P - Y (unweighted). Parallel over row chunks (core/parallel.hpp): the same result at
// any thread count. Products by core/thin_products.hpp, temporaries in scratch memory
// (core/scratch.hpp): no allocation.
template <class S>
S loss_and_grad(const Rows<S>& x, std::span<const std::int32_t> y, const ConstWeights<S>& w, MatrixOut<S>* grad,
                MatrixOut<S>* residual = nullptr, ExampleWeights<S> a = {}) {
  struct Losses;
  struct Grads;
  struct Logits;
  const RowChunks chunks = softmax_chunks(x.rows());
  auto losses = scratch_matrix<Losses, S>(1, chunks.count);
  auto grads = scratch_matrix<Grads, S>(grad ? w.size() : 0, chunks.count);  // one column per chunk
  for_each_chunk(chunks, [&](Index c, Index chunk_begin, Index chunk_rows) {
    Eigen::Map<Matrix<S>> grad_c(grads.col(c).data(), grad ? w.rows() : 0, grad ? w.cols() : 0);
    grad_c.setZero();
    S loss = 0;
    for_each_block(chunk_rows, [&](Index offset, Index rows) {
      const Index begin = chunk_begin + offset;
      const Rows<S> xb = x.middle(begin, rows);
      const auto yb = y.subspan(static_cast<std::size_t>(begin), static_cast<std::size_t>(rows));
      const ExampleWeights<S> ab = a.empty() ? a : a.subspan(static_cast<std::size_t>(begin), static_cast<std::size_t>(rows));
      auto p = scratch_matrix<Logits, S>(rows, w.cols());
      thin::times(xb, w, p);
      loss += softmax_rows<S>(p, yb, ab);
      if (!grad && !residual) return;
      for (Index i = 0; i < rows; ++i) p(i, yb[static_cast<std::size_t>(i)]) -= S(1);
      if (residual) residual->middleRows(begin, rows) = p;  // unweighted
      if (grad) {
        if (!ab.empty()) p.array().colwise() *= Eigen::Map<const Vector<S>>(ab.data(), rows).array();
        thin::add_transpose_times(xb, p, grad_c);
      }
    });
    losses(c) = loss;
  });
  const S n = static_cast<S>(x.rows());
  if (grad) assign_divided<S>(*grad, sum_columns_in_order(grads), n);
  return sum_columns_in_order(losses)(0) / n;
}

// A <- J o A = P o A - P o rowsum(P o A): row i multiplied by the softmax Jacobian diag(p_i) - p_i p_i^T
// (P holds the probabilities by rows).
template <class S>
void apply_softmax_jacobian(const Eigen::Ref<const Matrix<S>>& p, Eigen::Ref<Matrix<S>> a) {
  struct RowSums;
  a.array() *= p.array();                                  // P o A
  auto rows = scratch_matrix<RowSums, S>(a.rows(), 1);
  rows.noalias() = a.rowwise().sum();                      // rowsum(P o A)
  a.array() -= p.array().colwise() * rows.col(0).array();  // - P o rowsum
}

// P = softmax(X W) of one batch at one W, kept from one Hessian-vector product to the next. A linear
// system's steps (the LS by CG or fixed-point iterations on a full batch, the CG inside each of
// evaluation's Newton steps) multiply by the Hessian at one W on one batch again and again, and X W is
// one of the three row-products of each. The key is W's bytes and the batch's ids, so a product that
// finds P gives the bits of one that computes it (the same rows cut into the same chunks and blocks).
// One entry: a problem keeps one (mutable) for its training rows. Buffers keep their capacity, so a
// run that alternates between a minibatch and evaluation's full batch allocates nothing after the first.
template <class S>
class KeptProbabilities {
 public:
  // Makes (w, batch) the key. P stays ready() if it is that key's; otherwise the next
  // hessian_vector() with this object writes it.
  void select(const ConstWeights<S>& w, Batch batch) {
    const auto w_size = static_cast<std::size_t>(w.size());
    if (written_ && w_.size() == w_size && batch_.size() == batch.size() &&
        std::equal(batch.begin(), batch.end(), batch_.begin()) &&
        std::memcmp(w_.data(), w.data(), sizeof(S) * w_size) == 0)  // bits: -0 is not 0 here
      return;
    written_ = false;
    w_.assign(w.data(), w.data() + w.size());
    batch_.assign(batch.begin(), batch.end());
    rows_ = static_cast<Index>(batch.size());
    classes_ = w.cols();
    p_.resize(static_cast<std::size_t>(rows_ * classes_));
  }
  bool ready() const { return written_; }
  // Rows [begin, begin + n) of P (rows by batch position, column-major over the whole batch).
  auto rows(Index begin, Index n) { return Eigen::Map<Matrix<S>>(p_.data(), rows_, classes_).middleRows(begin, n); }
  void written() { written_ = true; }

 private:
  bool written_ = false;  // P holds the key's probabilities
  std::vector<S> w_;
  std::vector<SampleId> batch_;
  Index rows_ = 0, classes_ = 0;
  std::vector<S> p_;  // rows_ x classes_, column-major
};

// H U = X^T diag(a) (P o Z_U - P o rowsum(P o Z_U)) / n, the Hessian of the mean (weighted) loss in W
// applied to U. Parallel over row chunks, blocks of rows as loss_and_grad. With `kept` (whose select() was
// called for this W and batch): P is read from it when ready, else computed and written into it.
template <class S>
void hessian_vector(const Rows<S>& x, std::span<const std::int32_t> y, const ConstWeights<S>& w,
                    const ConstWeights<S>& u, MatrixOut<S> out, ExampleWeights<S> a = {},
                    KeptProbabilities<S>* kept = nullptr) {
  struct Parts;
  struct Probabilities;
  struct Curvature;
  const bool reuse = kept != nullptr && kept->ready();
  const RowChunks chunks = softmax_chunks(x.rows());
  auto parts = scratch_matrix<Parts, S>(w.size(), chunks.count);  // one column per chunk
  for_each_chunk(chunks, [&](Index c, Index chunk_begin, Index chunk_rows) {
    Eigen::Map<Matrix<S>> part(parts.col(c).data(), w.rows(), w.cols());
    part.setZero();
    for_each_block(chunk_rows, [&](Index offset, Index rows) {
      const Index begin = chunk_begin + offset;
      const Rows<S> xb = x.middle(begin, rows);
      auto zu = scratch_matrix<Curvature, S>(rows, w.cols());
      thin::times(xb, u, zu);
      if (reuse) {
        apply_softmax_jacobian<S>(kept->rows(begin, rows), zu);
      } else {
        auto p = scratch_matrix<Probabilities, S>(rows, w.cols());
        thin::times(xb, w, p);
        softmax_rows<S>(p, y.subspan(static_cast<std::size_t>(begin), static_cast<std::size_t>(rows)));
        if (kept) kept->rows(begin, rows) = p;
        apply_softmax_jacobian<S>(p, zu);
      }
      if (!a.empty()) zu.array().colwise() *= Eigen::Map<const Vector<S>>(a.data() + begin, rows).array();
      thin::add_transpose_times(xb, zu, part);
    });
  });
  if (kept && !reuse) kept->written();
  assign_divided<S>(out, sum_columns_in_order(parts), static_cast<S>(x.rows()));
}

// lambda_max(X^T X / n) / 2: the smoothness of the mean loss in W (the softmax cross-entropy's Hessian
// in the logits is at most I / 2), exact (core/linalg.hpp): a step above 1 / L can break the contraction.
template <class S>
double smoothness(const RowMatrix<S>& x) {
  return 0.5 * gram_max_eigenvalue<S>(x);
}

struct LossAccuracy {
  double loss = 0, accuracy = 0;
};

// Mean loss and the fraction of examples whose largest logit is the label's, from logits by rows
// (overwritten by the probabilities).
template <class S>
LossAccuracy loss_accuracy(Matrix<S>& z, std::span<const std::int32_t> y) {
  Index correct = 0;
  for (Index i = 0; i < z.rows(); ++i) {
    Index best = 0;
    z.row(i).maxCoeff(&best);
    correct += best == y[static_cast<std::size_t>(i)];
  }
  const double loss = static_cast<double>(softmax_rows<S>(z, y)) / static_cast<double>(z.rows());
  return {loss, static_cast<double>(correct) / static_cast<double>(z.rows())};
}

// The same for the linear model W on examples x.
template <class S>
LossAccuracy evaluate(const ConstRows<S>& x, std::span<const std::int32_t> y, const ConstWeights<S>& w) {
  Matrix<S> z(x.rows(), w.cols());
  thin::times<S>(x, w, z);
  return loss_accuracy<S>(z, y);
}

// One split of a classification dataset in the problem's scalar type, its rows on huge pages where the
// system allows (core/huge_pages.hpp): minibatches read them in place, anywhere in the matrix.
template <class S>
struct Split {
  RowMatrix<S> x;
  std::vector<std::int32_t> y;
  explicit Split(const Dataset& d) : x(d.x.rows(), d.x.cols()), y(d.y) {
    advise_huge_pages(x.data(), sizeof(S) * static_cast<std::size_t>(x.size()));  // before the first write
    x = d.x.template cast<S>();
  }
};

// The checks every softmax-regression problem makes of its splits: valid labels, non-empty train and
// validation sets, one feature dimension and one number of classes (an empty test set is allowed).
inline void check_splits(std::string_view problem, const Dataset& train, const Dataset& validation, const Dataset& test) {
  for (const Dataset* d : {&train, &validation, &test}) d->validate();
  if (train.size() == 0 || validation.size() == 0)
    throw InvalidOptions(fmt::format("{} needs a non-empty training and validation set", problem));
  if (validation.dim() != train.dim() || (test.size() > 0 && test.dim() != train.dim()))
    throw InvalidOptions(fmt::format("{}: feature dimensions differ: train {}, validation {}, test {}", problem,
                                     train.dim(), validation.dim(), test.dim()));
  if (validation.num_classes != train.num_classes || (test.size() > 0 && test.num_classes != train.num_classes))
    throw InvalidOptions(fmt::format("{}: the splits have different numbers of classes", problem));
}

// W (features x classes) as a column-major view of w.
template <class S>
ConstWeights<S> weights(ConstVectorRef<S> w, Index features, Index classes) {
  return ConstWeights<S>(w.data(), features, classes);
}

// W (features x classes) as a writable column-major view of the vector `out` (a gradient in W).
template <class S>
Eigen::Map<Matrix<S>> weights_out(VectorRef<S> out, Index features, Index classes) {
  return Eigen::Map<Matrix<S>>(out.data(), features, classes);
}

// Calls f(rows, labels) with the examples of `batch`: a view of the stored rows, all of them for the
// full batch in order (as the samplers give it), the batch's ids otherwise (read in place: no copy);
// the labels of a minibatch are gathered into scratch memory. Every id is checked.
template <class S, class F>
decltype(auto) with_rows(const Split<S>& data, Batch batch, std::string_view problem, F&& f) {
  if (is_full_range(batch, data.x.rows())) return f(Rows<S>(data.x), std::span<const std::int32_t>(data.y));
  struct Labels;
  const auto labels = scratch_span<Labels, std::int32_t>(batch.size());
  for (std::size_t k = 0; k < batch.size(); ++k)
    labels[k] = data.y[static_cast<std::size_t>(checked_id(batch[k], data.x.rows(), problem))];
  const Rows<S> rows(data.x.data(), data.x.outerStride(), data.x.cols(), static_cast<Index>(batch.size()), batch.data());
  return f(rows, std::span<const std::int32_t>(labels));
}

// The mean loss of W on the batch's examples of `data`; grad_w (when given) receives its gradient in W
// as a vector (the validation loss that several problems minimise or maximise).
template <class S>
S batch_loss(const Split<S>& data, Batch batch, const ConstWeights<S>& w, Vector<S>* grad_w, std::string_view problem) {
  if (grad_w) grad_w->resize(w.size());  // no allocation at the same size
  Eigen::Map<Matrix<S>> g(grad_w ? grad_w->data() : nullptr, w.rows(), w.cols());
  MatrixOut<S> out(g);
  return with_rows(data, batch, problem, [&](const auto& x, std::span<const std::int32_t> y) {
    return loss_and_grad<S>(x, y, w, grad_w ? &out : nullptr);
  });
}

// Appends "<split>_loss" and "<split>_accuracy" to `m`.
inline void add_metrics(std::vector<std::pair<std::string, double>>& m, std::string_view split, LossAccuracy r) {
  m.emplace_back(fmt::format("{}_loss", split), r.loss);
  m.emplace_back(fmt::format("{}_accuracy", split), r.accuracy);
}

// The metrics of W on (x, y); nothing for an empty split.
template <class S>
void add_split_metrics(std::vector<std::pair<std::string, double>>& m, std::string_view split, const Split<S>& data,
                       const ConstWeights<S>& w) {
  if (data.x.rows() == 0) return;
  add_metrics(m, split, evaluate<S>(data.x, data.y, w));
}

}  // namespace bilevel::softmax
