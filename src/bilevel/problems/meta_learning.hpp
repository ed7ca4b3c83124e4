#pragma once
// Meta-learning of a shared representation (the warm-start paper's meta-learning experiment, DESIGN.md
// section 4). lambda = the parameters of a tanh network phi (problems/mlp.hpp, r features); task i
// (n-way k-shot, data/tasks.hpp) has a linear head W_i (r x n) trained on its support set S_i:
//
//   LL   g_i(W, lambda) = CE(phi(X_{S_i}) W; y_{S_i}) + (mu/2) ||W||^2,   in fixed-point form
//        Phi_i(W) = W - gamma grad_W g_i  (symmetric Jacobian I - gamma Hessian)
//   UL   f(lambda) = (1/M) sum_i CE(phi(X_{Q_i}) W_i(lambda); y_{Q_i})       (query sets, M tasks)
//
// The LL is separable (problems/separable.hpp), one head per task. tanh features lie in (-1, 1)^r, so
// the CE Hessian in W is at most (1/2) max ||f||^2 <= r/2 for every lambda: gamma = 1 / (r/2 + mu)
// (the default) keeps every Phi_i a contraction with q <= 1 - gamma mu on all of Lambda = R^d.
//
// Derivatives for one task, F = phi(X_S) (s x r), P = softmax(F W), Y one-hot, s = |S|:
//   grad_W g = F^T (P - Y)/s + mu W;   Hessian: H U = F^T (J o (F U))/s + mu U,
//   J o A = P o A - P o rowsum(P o A) (row-wise softmax Jacobian);
//   d_lambda of <grad_W g, U>: cotangent of F  dF = ((P - Y) U^T + (J o (F U)) W^T)/s, then backprop
//   through phi; the map's d_lambda Phi^T U is -gamma times that.
//   UL per task on Q: R = (P_Q - Y_Q)/(|Q| m): grad_W = F_Q^T R, cotangent of F_Q = R W^T.
//
// The features of the blocks last asked for are cached (keyed by lambda and the blocks; all training
// tasks, as evaluation asks, in a cache of their own), since the LL and LS steps of one hypergradient
// all use the same lambda: the network runs once per hypergradient, not once per step. The caches make one instance unsafe for concurrent oracle calls (the oracles
// themselves run their tasks and the network in parallel).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bilevel/core/constraints.hpp"
#include "bilevel/core/error.hpp"
#include "bilevel/core/parallel.hpp"
#include "bilevel/core/scratch.hpp"
#include "bilevel/core/types.hpp"
#include "bilevel/data/dataset.hpp"
#include "bilevel/data/tasks.hpp"
#include "bilevel/problems/linear_softmax.hpp"
#include "bilevel/problems/mlp.hpp"
#include "bilevel/problems/separable.hpp"

namespace bilevel {

struct MetaLearningOptions {
  std::vector<Index> layers{128, 64};  // the representation network; the last size is r
  TaskShape shape{};                   // n-way, k-shot, queries per class
  Index train_tasks = 500;             // M: the tasks of f (one head each)
  Index metric_tasks = 200;            // tasks drawn from the validation and test pools for metrics
  double mu = 1.0;                     // LL ridge on the head
  double gamma = 0;                    // LL step; 0 = 1 / (r/2 + mu)
  double init_scale = 1.0;             // network weights N(0, init_scale^2 / fan_in)
  int metric_iterations = 2000;        // fixed-point steps (at most) for the heads of metric tasks
  std::uint64_t seed = 0;              // tasks and initialisation
};

template <class S>
class MetaLearning {
 public:
  using Scalar = S;

  MetaLearning(const Dataset& train, const Dataset& validation, const Dataset& test, MetaLearningOptions o)
      : o_(std::move(o)), net_(train.dim(), o_.layers), train_(train.x.template cast<S>()),
        validation_(validation.x.template cast<S>()), test_(test.x.template cast<S>()) {
    softmax::check_splits("meta-learning", train, validation, test);
    if (!(o_.mu > 0)) throw InvalidOptions(fmt::format("meta-learning: mu must be > 0, got {}", o_.mu));
    if (!(o_.gamma >= 0)) throw InvalidOptions(fmt::format("meta-learning: gamma must be >= 0, got {}", o_.gamma));
    if (o_.metric_tasks < 0) throw InvalidOptions("meta-learning: metric_tasks must be >= 0");
    gamma_ = o_.gamma > 0 ? o_.gamma : 1.0 / (0.5 * static_cast<double>(net_.output_dim()) + o_.mu);
    train_tasks_ = sample_tasks(train, o_.shape, o_.train_tasks, o_.seed);
    if (o_.metric_tasks > 0) {
      validation_tasks_ = sample_tasks(validation, o_.shape, o_.metric_tasks, o_.seed + 1);
      if (test.size() > 0) test_tasks_ = sample_tasks(test, o_.shape, o_.metric_tasks, o_.seed + 2);
    }
    support_slots_ = slots_of_images(&Task::support, o_.shape.support_size());
    query_slots_ = slots_of_images(&Task::query, o_.shape.query_size());
  }

  Index num_blocks() const { return o_.train_tasks; }
  Index block_dim() const { return net_.output_dim() * o_.shape.ways; }
  Index dim_lambda() const { return net_.num_parameters(); }
  bool jacobian_w_symmetric() const { return true; }
  const ConstraintSet<S>& constraint() const { return unconstrained_; }
  double gamma() const { return gamma_; }
  const MetaLearningOptions& options() const { return o_; }
  Vector<S> initial_lambda() const { return net_.initial(o_.seed, o_.init_scale); }

  // Until release(), every oracle's lambda is this one, unchanged (problems/separable.hpp): the
  // features' key, checked or made meanwhile, needs no second comparison of lambda (108 608 values
  // with the default network, compared at each of the 40-odd oracle calls of a hypergradient).
  void hold(ConstVectorRef<S> lambda) const { held_.hold(lambda); }
  void release() const { held_.release(); }

  // The tasks of a batch run in parallel, in chunks of whole tasks (task_chunks), and the network over
  // chunks of rows (problems/mlp.hpp); sums over tasks are added chunk by chunk in a fixed order, so
  // every thread count gives the same bits. Temporaries live in scratch memory (core/scratch.hpp):
  // after the first call at a batch size, no oracle allocates.
  void map(ConstVectorRef<S> w, ConstVectorRef<S> lambda, Batch blocks, VectorRef<S> out) const {
    struct Grad;
    const Features& f = features(lambda, blocks);
    for_each_task(blocks.size(), [&](Index, std::size_t j) {
      const auto wj = head(w, j);
      auto grad = scratch_matrix<Grad, S>(wj.rows(), wj.cols());
      softmax::MatrixOut<S> grad_out(grad);
      softmax::loss_and_grad<S>(support_features(f, j), task(blocks[j]).support_labels, wj, &grad_out);
      head(out, j) = wj - step() * (grad + mu() * wj);
    });
  }

  void map_vjp_w(ConstVectorRef<S> w, ConstVectorRef<S> lambda, ConstVectorRef<S> u, Batch blocks,
                 VectorRef<S> out) const {
    struct Curvature;
    const Features& f = features(lambda, blocks);
    for_each_task(blocks.size(), [&](Index, std::size_t j) {
      const auto uj = head(u, j);
      auto hu = scratch_matrix<Curvature, S>(uj.rows(), uj.cols());
      softmax::hessian_vector<S>(support_features(f, j), task(blocks[j]).support_labels, head(w, j), uj, hu);
      head(out, j) = uj - step() * (hu + mu() * uj);
    });
  }

  void map_vjp_lambda(ConstVectorRef<S> w, ConstVectorRef<S> lambda, ConstVectorRef<S> u, Batch blocks,
                      VectorRef<S> out) const {
    struct Cotangent;
    struct Probabilities;
    struct Curvature;
    const Features& f = features(lambda, blocks);
    const Index s = o_.shape.support_size();
    auto d_features = scratch_rows<Cotangent, S>(f.support.back().rows(), net_.output_dim());
    for_each_task(blocks.size(), [&](Index, std::size_t j) {
      const auto fj = support_features(f, j);
      const auto wj = head(w, j), uj = head(u, j);
      const auto& y = task(blocks[j]).support_labels;
      auto p = scratch_matrix<Probabilities, S>(s, wj.cols());
      p.noalias() = fj * wj;
      softmax::softmax_rows<S>(p, y);
      auto ja = scratch_matrix<Curvature, S>(s, wj.cols());
      ja.noalias() = fj * uj;
      softmax::apply_softmax_jacobian<S>(p, ja);  // J o (F U)
      for (Index i = 0; i < p.rows(); ++i) p(i, y[static_cast<std::size_t>(i)]) -= S(1);   // P - Y
      auto dj = d_features.middleRows(static_cast<Index>(j) * s, s);
      dj.noalias() = p * uj.transpose();
      dj.noalias() += ja * wj.transpose();
      dj *= -step() / static_cast<S>(s);
    });
    out.setZero();
    backward(lambda, f, false, d_features, out);
  }

  S outer(ConstVectorRef<S> w, ConstVectorRef<S> lambda, Batch blocks, Vector<S>* grad_w, Vector<S>* grad_lambda) const {
    struct Losses;
    struct Cotangent;
    struct Residual;
    struct Grad;
    const Features& f = features(lambda, blocks);
    const Index q = o_.shape.query_size();
    const auto m = static_cast<S>(blocks.size());
    if (grad_w) grad_w->resize(static_cast<Index>(blocks.size()) * block_dim());  // no allocation at the same size
    const RowChunks chunks = task_chunks(blocks.size());
    auto losses = scratch_matrix<Losses, S>(1, chunks.count);  // one sum per chunk of tasks
    losses.setZero();
    auto d_features = scratch_rows<Cotangent, S>(grad_lambda ? f.query.back().rows() : 0, net_.output_dim());
    for_each_task(blocks.size(), [&](Index c, std::size_t j) {
      const auto fj = query_features(f, j);
      const auto wj = head(w, j);
      auto residual = scratch_matrix<Residual, S>(fj.rows(), wj.cols());
      auto grad = scratch_matrix<Grad, S>(wj.rows(), wj.cols());
      softmax::MatrixOut<S> grad_out(grad), residual_out(residual);
      losses(c) += softmax::loss_and_grad<S>(fj, task(blocks[j]).query_labels, wj, grad_w ? &grad_out : nullptr,
                                             &residual_out);
      if (grad_w) head(*grad_w, j) = grad / m;
      if (grad_lambda) {
        auto dj = d_features.middleRows(static_cast<Index>(j) * q, q);
        dj.noalias() = residual * wj.transpose();
        dj /= static_cast<S>(q) * m;
      }
    });
    if (grad_lambda) {
      grad_lambda->setZero(dim_lambda());
      backward(lambda, f, true, d_features, *grad_lambda);
    }
    return sum_columns_in_order(losses)(0) / m;
  }

  // Query loss and accuracy, averaged over tasks: of the M training tasks (heads from w, the states of
  // all blocks) and of metric_tasks tasks from the validation and test pools (heads solved here from
  // zero by fixed-point steps to the float resolution or metric_iterations).
  std::vector<std::pair<std::string, double>> metrics(ConstVectorRef<S> lambda, ConstVectorRef<S> w) const {
    std::vector<std::pair<std::string, double>> out;
    {
      std::vector<SampleId> all(train_tasks_.size());
      for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
      const Features& f = features(lambda, all);
      softmax::LossAccuracy sum;
      for (std::size_t j = 0; j < all.size(); ++j) {
        const auto r = softmax::evaluate<S>(query_features(f, j), train_tasks_[j].query_labels, head(w, j));
        sum.loss += r.loss / static_cast<double>(all.size());
        sum.accuracy += r.accuracy / static_cast<double>(all.size());
      }
      softmax::add_metrics(out, "train_tasks", sum);
    }
    if (!validation_tasks_.empty()) softmax::add_metrics(out, "validation_tasks", adapt_and_score(validation_, validation_tasks_, lambda));
    if (!test_tasks_.empty()) softmax::add_metrics(out, "test_tasks", adapt_and_score(test_, test_tasks_, lambda));
    return out;
  }

 private:
  struct Features {
    bool valid = false;  // lambda and blocks name the activations below
    Vector<S> lambda;
    std::vector<SampleId> blocks;
    std::uint64_t hold = 0;  // the hold in which lambda was last made or compared (0: none)
    // Network activations; task j's rows are its j-th slice. Pooled (all training tasks in order,
    // as evaluation asks): only the features, gathered from `pool`, the activations of the training
    // images themselves, which the tasks draw about 10 times each (with the defaults).
    std::vector<RowMatrix<S>> support, query;
    bool pooled = false;
    std::vector<RowMatrix<S>> pool;  // pool[0] = the training images (copied once)
  };
  // For each training image, the support (or query) rows of all training tasks in order that are it,
  // in increasing order: slots[start[i]], ..., slots[start[i + 1] - 1].
  struct SlotsOfImages {
    std::vector<Index> start, slots;
  };

  S mu() const { return static_cast<S>(o_.mu); }
  S step() const { return static_cast<S>(gamma_); }

  const Task& task(SampleId id) const {
    if (id >= static_cast<SampleId>(train_tasks_.size()))
      throw InvalidOptions(fmt::format("meta-learning: task id {} outside the {} tasks", id, train_tasks_.size()));
    return train_tasks_[static_cast<std::size_t>(id)];
  }

  // Head j of a stacked vector of heads (r x ways, column-major).
  Eigen::Map<const Matrix<S>> head(ConstVectorRef<S> w, std::size_t j) const {
    return {w.data() + static_cast<Index>(j) * block_dim(), net_.output_dim(), o_.shape.ways};
  }
  Eigen::Map<Matrix<S>> head(VectorRef<S> w, std::size_t j) const {
    return {w.data() + static_cast<Index>(j) * block_dim(), net_.output_dim(), o_.shape.ways};
  }
  Eigen::Map<Matrix<S>> head(Vector<S>& w, std::size_t j) const {
    return {w.data() + static_cast<Index>(j) * block_dim(), net_.output_dim(), o_.shape.ways};
  }

  auto support_features(const Features& f, std::size_t j) const {
    const Index s = o_.shape.support_size();
    return f.support.back().middleRows(static_cast<Index>(j) * s, s);
  }
  auto query_features(const Features& f, std::size_t j) const {
    const Index q = o_.shape.query_size();
    return f.query.back().middleRows(static_cast<Index>(j) * q, q);
  }

  // Chunks of whole tasks of a batch of m, each with at least kMinChunkRows support examples (but one):
  // the cut depends on the batch only, never on the thread count.
  RowChunks task_chunks(std::size_t m) const {
    const Index s = o_.shape.support_size();
    return chunks_of(static_cast<Index>(m), (kMinChunkRows + s - 1) / s);
  }
  // f(c, j) for every task j of a batch of m, in parallel over task_chunks(m) (c: j's chunk); f writes
  // only what belongs to task j or to chunk c.
  template <class F>
  void for_each_task(std::size_t m, F&& f) const {
    for_each_chunk(task_chunks(m), [&](Index c, Index begin, Index count) {
      for (Index j = begin; j < begin + count; ++j) f(c, static_cast<std::size_t>(j));
    });
  }

  // The network's activations on the support and query examples of `blocks`, recomputed only when
  // lambda or the blocks differ from the last call of the same kind (all tasks, or another batch). The examples are gathered into the first
  // activation matrices themselves: at a repeated batch size nothing is allocated.
  const Features& features(ConstVectorRef<S> lambda, Batch blocks) const {
    const bool pooled = is_full_range(blocks, num_blocks());
    Features& cache = pooled ? all_tasks_ : minibatch_;
    if (cache.valid && std::equal(blocks.begin(), blocks.end(), cache.blocks.begin(), cache.blocks.end()) &&
        (held_.covers(lambda, cache.hold) || (cache.lambda.size() == lambda.size() && cache.lambda == lambda))) {
      cache.hold = held_.stamp(lambda);
      return cache;
    }
    for (SampleId id : blocks) task(id);  // every id checked before anything changes
    cache.valid = false;  // until the recomputation below completes
    cache.pooled = pooled;
    if (pooled) {
      pool_features(lambda, cache);
      cache.lambda = lambda;
      cache.blocks.assign(blocks.begin(), blocks.end());
      cache.hold = held_.stamp(lambda);
      cache.valid = true;
      return cache;
    }
    const auto layers = static_cast<std::size_t>(net_.num_layers() + 1);
    cache.support.resize(layers);
    cache.query.resize(layers);
    const Index s = o_.shape.support_size(), q = o_.shape.query_size();
    RowMatrix<S>& xs = cache.support[0];
    RowMatrix<S>& xq = cache.query[0];
    xs.resize(static_cast<Index>(blocks.size()) * s, train_.cols());
    xq.resize(static_cast<Index>(blocks.size()) * q, train_.cols());
    for_each_task(blocks.size(), [&](Index, std::size_t j) {  // reads scattered rows: in parallel too
      const Task& t = task(blocks[j]);
      for (Index i = 0; i < s; ++i) xs.row(static_cast<Index>(j) * s + i) = train_.row(t.support[static_cast<std::size_t>(i)]);
      for (Index i = 0; i < q; ++i) xq.row(static_cast<Index>(j) * q + i) = train_.row(t.query[static_cast<std::size_t>(i)]);
    });
    net_.forward(lambda, cache.support);
    net_.forward(lambda, cache.query);
    cache.lambda = lambda;
    cache.blocks.assign(blocks.begin(), blocks.end());
    cache.hold = held_.stamp(lambda);
    cache.valid = true;
    return cache;
  }

  // All training tasks' features from the activations of the training images: the network runs once
  // per image instead of once per slot of a task (5 000 rows instead of 50 000 with the defaults).
  void pool_features(ConstVectorRef<S> lambda, Features& f) const {
    if (f.pool.empty()) f.pool.assign(1, train_);
    net_.forward(lambda, f.pool);
    const RowMatrix<S>& images = f.pool.back();
    const Index s = o_.shape.support_size(), q = o_.shape.query_size(), m = num_blocks();
    f.support.resize(1);
    f.query.resize(1);
    f.support[0].resize(m * s, net_.output_dim());
    f.query[0].resize(m * q, net_.output_dim());
    for_each_task(static_cast<std::size_t>(m), [&](Index, std::size_t j) {
      const Task& t = train_tasks_[j];
      for (Index i = 0; i < s; ++i) f.support[0].row(static_cast<Index>(j) * s + i) = images.row(t.support[static_cast<std::size_t>(i)]);
      for (Index i = 0; i < q; ++i) f.query[0].row(static_cast<Index>(j) * q + i) = images.row(t.query[static_cast<std::size_t>(i)]);
    });
  }

  // grad += the parameters' part of the vjp of f's support (query = false) or query features, with
  // cotangent d (one row per row of those features, overwritten). Pooled: each image's cotangent is
  // the sum of its rows' (in row order, SlotsOfImages), then one pass back through the network.
  template <class Cotangent>
  void backward(ConstVectorRef<S> lambda, const Features& f, bool query, Cotangent& d, VectorRef<S> grad) const {
    if (!f.pooled) {
      net_.backward(lambda, query ? f.query : f.support, d, grad);
      return;
    }
    struct ImageCotangent;
    const SlotsOfImages& of = query ? query_slots_ : support_slots_;
    auto images = scratch_rows<ImageCotangent, S>(train_.rows(), net_.output_dim());
    for_each_chunk(row_chunks(train_.rows()), [&](Index, Index begin, Index n) {
      for (Index i = begin; i < begin + n; ++i) {
        auto row = images.row(i);
        row.setZero();
        for (std::size_t k = static_cast<std::size_t>(of.start[static_cast<std::size_t>(i)]);
             k < static_cast<std::size_t>(of.start[static_cast<std::size_t>(i) + 1]); ++k)
          row += d.row(of.slots[k]);
      }
    });
    net_.backward(lambda, f.pool, images, grad);
  }

  SlotsOfImages slots_of_images(const std::vector<Index> Task::*rows, Index per_task) const {
    SlotsOfImages of;
    of.start.assign(static_cast<std::size_t>(train_.rows()) + 1, 0);
    for (const Task& t : train_tasks_)
      for (const Index image : t.*rows) ++of.start[static_cast<std::size_t>(image) + 1];
    for (std::size_t i = 1; i < of.start.size(); ++i) of.start[i] += of.start[i - 1];
    of.slots.resize(static_cast<std::size_t>(of.start.back()));
    std::vector<Index> next(of.start.begin(), of.start.end() - 1);
    for (std::size_t j = 0; j < train_tasks_.size(); ++j)
      for (Index i = 0; i < per_task; ++i) {
        const auto image = static_cast<std::size_t>((train_tasks_[j].*rows)[static_cast<std::size_t>(i)]);
        of.slots[static_cast<std::size_t>(next[image]++)] = static_cast<Index>(j) * per_task + i;
      }
    return of;
  }

  // Mean query loss and accuracy of tasks from `pool` after fitting each head on its support set. The
  // network runs once over the pool's images; the tasks then run in parallel (task_chunks) and their
  // scores are added in task order afterwards: the same sum at every thread count.
  softmax::LossAccuracy adapt_and_score(const RowMatrix<S>& pool, const std::vector<Task>& tasks,
                                        ConstVectorRef<S> lambda) const {
    std::vector<RowMatrix<S>> acts;
    net_.forward(lambda, pool, acts);
    const RowMatrix<S>& images = acts.back();
    std::vector<softmax::LossAccuracy> scores(tasks.size());
    const S tolerance = static_cast<S>(sizeof(S) >= 8 ? 1e-10 : 1e-5);
    for_each_task(tasks.size(), [&](Index, std::size_t j) {
      const Task& t = tasks[j];
      RowMatrix<S> fs(static_cast<Index>(t.support.size()), images.cols()), fq(static_cast<Index>(t.query.size()), images.cols());
      for (std::size_t i = 0; i < t.support.size(); ++i) fs.row(static_cast<Index>(i)) = images.row(t.support[i]);
      for (std::size_t i = 0; i < t.query.size(); ++i) fq.row(static_cast<Index>(i)) = images.row(t.query[i]);
      Matrix<S> w = Matrix<S>::Zero(net_.output_dim(), o_.shape.ways), grad(w.rows(), w.cols());
      softmax::MatrixOut<S> grad_out(grad);
      for (int k = 0; k < o_.metric_iterations; ++k) {
        softmax::loss_and_grad<S>(fs, t.support_labels, Eigen::Map<const Matrix<S>>(w.data(), w.rows(), w.cols()), &grad_out);
        grad += mu() * w;
        w -= step() * grad;
        if (step() * grad.norm() <= tolerance * (S(1) + w.norm())) break;
      }
      scores[j] = softmax::evaluate<S>(fq, t.query_labels, Eigen::Map<const Matrix<S>>(w.data(), w.rows(), w.cols()));
    });
    softmax::LossAccuracy sum;
    for (const auto& r : scores) {
      sum.loss += r.loss / static_cast<double>(tasks.size());
      sum.accuracy += r.accuracy / static_cast<double>(tasks.size());
    }
    return sum;
  }

  MetaLearningOptions o_;
  TanhMlp<S> net_;
  RowMatrix<S> train_, validation_, test_;
  std::vector<Task> train_tasks_, validation_tasks_, test_tasks_;
  double gamma_ = 0;
  Unconstrained<S> unconstrained_;
  // The features of all training tasks (evaluation, metrics) and of the last other batch, each kept
  // apart: with one cache, a run with checkpoints freed the whole set's activations (195 MB with the
  // defaults) at every switch to a minibatch and faulted them in again at the next checkpoint.
  mutable Features all_tasks_, minibatch_;
  SlotsOfImages support_slots_, query_slots_;
  mutable HeldLambda<S> held_;  // hold() and release()
};

}  // namespace bilevel
