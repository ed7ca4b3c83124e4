#pragma once
// Equilibrium (implicit) models, the warm-start paper's first experiment (DESIGN.md section 4): for each
// training example i, with x_i its features (p) and y_i its label (k classes),
//
//   LL   z_i = Phi_i(z_i, lambda) = tanh(A z_i + B x_i + c)         (hidden state, h)
//   UL   f(lambda) = (1/n) sum_i CE(C z_i + d, y_i)                  (on the training set)
//   lambda = (A h x h, B h x p, c h, C k x h, d k), stored in that order, each matrix column-major.
//
// tanh is 1-Lipschitz, so ||d_z Phi_i|| = ||diag(tanh') A|| <= ||A||_2: the projection of A onto the
// spectral-norm ball of radius rho < 1 keeps every Phi_i a contraction with q <= rho. C is clipped to
// [-1, 1] entrywise (the paper's setting). The LL is separable (problems/separable.hpp): one z_i per
// example, so a minibatch of examples is the bilevel problem of their z's.
//
// Derivatives, for blocks Z (h x m, column j = z of the j-th example of the batch), X_b (m x p):
//   P = A Z + B X_b^T + c 1^T,  Phi = tanh(P),  D = 1 - tanh(P)^2
//   d_Z Phi^T U  = A^T (D o U)
//   d_lambda Phi^T U:  dA = (D o U) Z^T,  dB = (D o U) X_b,  dc = (D o U) 1,  dC = 0, dd = 0
//   E = (1/m) sum_j CE(C z_j + d, y_j), R = (softmax - onehot) / m (k x m):
//   grad_Z E = C^T R,  dC = R Z^T,  dd = R 1,  dA = dB = dc = 0
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "bilevel/core/blas.hpp"
#include "bilevel/core/constraints.hpp"
#include "bilevel/core/error.hpp"
#include "bilevel/core/gather.hpp"
#include "bilevel/core/parallel.hpp"
#include "bilevel/core/rng.hpp"
#include "bilevel/core/scratch.hpp"
#include "bilevel/core/segments.hpp"
#include "bilevel/core/types.hpp"
#include "bilevel/data/dataset.hpp"
#include "bilevel/problems/linear_softmax.hpp"
#include "bilevel/problems/separable.hpp"

namespace bilevel {

struct EquilibriumOptions {
  Index hidden = 200;           // h
  double radius = 0.5;          // rho: ||A||_2 <= rho, the contraction constant of every Phi_i
  double output_bound = 1.0;    // |C_ij| <= output_bound (0 = unconstrained)
  double init_scale = 0.01;     // A, B, c, C ~ N(0, init_scale^2), d = 0 (initial_lambda)
  int metric_iterations = 100;  // fixed-point steps (at most) for the z's of validation and test examples
  std::uint64_t seed = 0;       // initial_lambda
};

template <class S>
class Equilibrium {
 public:
  using Scalar = S;

  Equilibrium(const Dataset& train, const Dataset& validation, const Dataset& test, EquilibriumOptions o)
      : o_(o), train_(train), validation_(validation), test_(test), p_(train.dim()), k_(train.num_classes) {
    softmax::check_splits("equilibrium", train, validation, test);
    if (o.hidden < 1) throw InvalidOptions(fmt::format("equilibrium: hidden size must be >= 1, got {}", o.hidden));
    if (!(o.radius > 0 && o.radius < 1))
      throw InvalidOptions(fmt::format("equilibrium: radius of A must be in (0, 1) for a contraction, got {}", o.radius));
    if (!(o.output_bound >= 0)) throw InvalidOptions(fmt::format("equilibrium: output_bound must be >= 0, got {}", o.output_bound));
    if (!(o.init_scale >= 0)) throw InvalidOptions(fmt::format("equilibrium: init_scale must be >= 0, got {}", o.init_scale));
    const Index h = o.hidden;
    std::vector<typename BlockProduct<S>::Block> blocks{
        {offset_a(), h * h, std::make_shared<SpectralNormBall<S>>(h, h, static_cast<S>(o.radius))}};
    if (o.output_bound > 0)
      blocks.push_back({offset_c_out(), k_ * h,
                        std::make_shared<Box<S>>(static_cast<S>(-o.output_bound), static_cast<S>(o.output_bound))});
    constraint_ = std::make_shared<BlockProduct<S>>(std::move(blocks));
  }

  Index num_blocks() const { return train_.x.rows(); }
  Index block_dim() const { return o_.hidden; }
  Index dim_lambda() const { return offset_d() + k_; }
  Index num_classes() const { return k_; }
  bool jacobian_w_symmetric() const { return false; }
  const ConstraintSet<S>& constraint() const { return *constraint_; }
  const EquilibriumOptions& options() const { return o_; }

  // The paper's initialisation: A, B, c, C ~ N(0, init_scale^2), d = 0, then projected.
  Vector<S> initial_lambda() const {
    Rng rng = RandomStreams(o_.seed).stream("equilibrium/init");
    Vector<S> l(dim_lambda());
    for (Index i = 0; i < offset_d(); ++i) l(i) = static_cast<S>(o_.init_scale * rng.normal());
    l.tail(k_).setZero();
    constraint_->project(l);
    return l;
  }

  // Every oracle runs over chunks of the batch's examples in parallel (core/parallel.hpp): the columns
  // of Z are independent, and sums over examples are added chunk by chunk in a fixed order.
  // Temporaries live in scratch memory (core/scratch.hpp): after the first call at a batch size, no
  // oracle allocates.
  void map(ConstVectorRef<S> w, ConstVectorRef<S> lambda, Batch blocks, VectorRef<S> out) const {
    struct Pre;
    const auto z = states(w, blocks.size());
    const auto injection = injection_of(lambda, blocks);
    Eigen::Map<Matrix<S>> phi(out.data(), o_.hidden, z.cols());
    for_each_chunk(row_chunks(z.cols()), [&](Index, Index begin, Index m) {
      auto pre = scratch_matrix<Pre, S>(o_.hidden, m);
      drive(z.middleCols(begin, m), lambda, injection.middleCols(begin, m), pre);
      phi.middleCols(begin, m) = pre.array().tanh();
    });
  }

  void map_vjp_w(ConstVectorRef<S> w, ConstVectorRef<S> lambda, ConstVectorRef<S> u, Batch blocks,
                 VectorRef<S> out) const {
    struct Masked;
    const auto uz = states(u, blocks.size());
    const auto z = states(w, blocks.size());
    const auto injection = prepare_mask(lambda, blocks);
    Eigen::Map<Matrix<S>> result(out.data(), o_.hidden, z.cols());
    for_each_chunk(row_chunks(z.cols()), [&](Index c, Index begin, Index m) {
      const auto d = mask_columns(c, begin, z.middleCols(begin, m), lambda, injection.middleCols(begin, m));
      auto g = scratch_matrix<Masked, S>(o_.hidden, m);
      g = d.cwiseProduct(uz.middleCols(begin, m));
      multiply(result.middleCols(begin, m), a(lambda).transpose(), g);
    });
  }

  // G = D o U (h x m), then [dA dB] = G [Z^T X_b], which is h x (h + p) column-major: A then B, as lambda
  // stores them. Cut by chunks of its columns, each summing over all the batch's examples: no per-chunk
  // partial sums to add up (a copy of dA and dB per chunk of examples), and the same bits at every
  // thread count. Chunks of at least kMinCrossColumns columns: each chunk's product packs all of G
  // again (OpenBLAS copies its left operand into its own layout per call), at h = 200, B = 256 205 kB
  // per chunk; 4 chunks of 246 columns instead of 8 of 123 made the upper-level iteration 2.4% shorter
  // (median paired ratio of 12 alternated runs, 2026-12-07), and still give 4 threads equal shares.
  void map_vjp_lambda(ConstVectorRef<S> w, ConstVectorRef<S> lambda, ConstVectorRef<S> u, Batch blocks,
                      VectorRef<S> out) const {
    struct Masked;
    const auto z = states(w, blocks.size());
    const auto uz = states(u, blocks.size());
    const auto injection = prepare_mask(lambda, blocks);
    const auto x = inputs(blocks);  // after prepare_mask's injection_of, which gathers them
    const Index h = o_.hidden, m = z.cols();
    auto g = scratch_matrix<Masked, S>(h, m);  // shared by the threads: taken before the loops
    for_each_chunk(row_chunks(m), [&](Index c, Index begin, Index mc) {
      const auto d = mask_columns(c, begin, z.middleCols(begin, mc), lambda, injection.middleCols(begin, mc));
      g.middleCols(begin, mc) = d.cwiseProduct(uz.middleCols(begin, mc));
    });
    Eigen::Map<Matrix<S>> grad_ab(out.data() + offset_a(), h, h + p_);
    for_each_chunk(chunks_of(h + p_, kMinCrossColumns), [&](Index, Index begin, Index n) {
      const Index of_a = std::clamp<Index>(h - begin, 0, n);  // the chunk's columns of dA, then of dB
      if (of_a > 0) multiply(grad_ab.middleCols(begin, of_a), g, z.middleRows(begin, of_a).transpose());
      if (n > of_a) multiply(grad_ab.middleCols(begin + of_a, n - of_a), g, x.middleCols(begin + of_a - h, n - of_a));
    });
    out.segment(offset_c(), h) = g.rowwise().sum();
    out.tail(dim_lambda() - offset_c_out()).setZero();  // dC = dd = 0
  }

  // The next minibatch's input injection (injection_of), which reads B and c only: the projection
  // (of A and C) may run beside it (problems/separable.hpp).
  void prefetch(ConstVectorRef<S> lambda, Batch blocks) const { injection_of(lambda, blocks); }

  // Until release(), every oracle's lambda is this one, unchanged (problems/separable.hpp): the
  // caches' keys checked or made meanwhile need no second comparison of B, c and A. Of the 11
  // comparisons of an upper-level iteration (7 of B and c, 627 kB at h = 200, and 4 of A), 9 go.
  void hold(ConstVectorRef<S> lambda) const { held_.hold(lambda); }
  void release() const { held_.release(); }

  S outer(ConstVectorRef<S> w, ConstVectorRef<S> lambda, Batch blocks, Vector<S>* grad_w, Vector<S>* grad_lambda) const {
    struct Labels;
    struct Losses;
    struct Parts;
    struct Logits;
    const auto z = states(w, blocks.size());
    const Index m = z.cols();
    const auto labels = scratch_span<Labels, std::int32_t>(blocks.size());
    for (std::size_t j = 0; j < blocks.size(); ++j)
      labels[j] = train_.y[static_cast<std::size_t>(checked_id(blocks[j], num_blocks(), "equilibrium"))];
    if (grad_w) grad_w->resize(o_.hidden * m);  // no allocation at the same size
    const RowChunks chunks = row_chunks(m);
    auto losses = scratch_matrix<Losses, S>(1, chunks.count);
    auto parts = scratch_matrix<Parts, S>(grad_lambda ? k_ * o_.hidden + k_ : 0, chunks.count);  // dC, dd
    for_each_chunk(chunks, [&](Index c, Index begin, Index mc) {
      const auto zc = z.middleCols(begin, mc);
      const auto yc = std::span<const std::int32_t>(labels).subspan(static_cast<std::size_t>(begin),
                                                                    static_cast<std::size_t>(mc));
      auto logits = scratch_matrix<Logits, S>(mc, k_);
      logits_of(zc, lambda, logits);
      losses(c) = softmax::softmax_rows<S>(logits, yc);
      if (!grad_w && !grad_lambda) return;
      for (Index j = 0; j < mc; ++j) logits(j, yc[static_cast<std::size_t>(j)]) -= S(1);
      logits /= static_cast<S>(m);  // R^T of the chunk (mc x k)
      if (grad_w)
        Eigen::Map<Matrix<S>>(grad_w->data(), o_.hidden, m).middleCols(begin, mc).noalias() =
            c_out(lambda).transpose() * logits.transpose();
      if (grad_lambda) {
        auto part = parts.col(c);
        Eigen::Map<Matrix<S>>(part.data(), k_, o_.hidden).noalias() = logits.transpose() * zc.transpose();
        part.tail(k_) = logits.colwise().sum().transpose();
      }
    });
    if (grad_lambda) {
      grad_lambda->resize(dim_lambda());
      // dA = dB = dc = 0: nearly all of lambda, zeroed by both threads (core/segments.hpp).
      const Index zeros = offset_c_out();
      for_each_segment(zeros, [&](Index b, Index l) { grad_lambda->segment(b, l).setZero(); });
      grad_lambda->tail(k_ * o_.hidden + k_) = sum_columns_in_order(parts);  // C then d: the last entries of lambda
    }
    return sum_columns_in_order(losses)(0) / static_cast<S>(m);
  }

  // Loss and accuracy on the training set (from w: the states of all n training examples) and on the
  // validation and test sets (their fixed points solved here, from zero, to the float resolution or
  // metric_iterations steps), and ||A||_2, the contraction bound.
  std::vector<std::pair<std::string, double>> metrics(ConstVectorRef<S> lambda, ConstVectorRef<S> w) const {
    std::vector<std::pair<std::string, double>> m;
    softmax::add_metrics(m, "train", classify(states(w, static_cast<std::size_t>(num_blocks())), lambda, train_.y));
    for (const auto& [name, split] : {std::pair{"validation", &validation_}, std::pair{"test", &test_}}) {
      if (split->x.rows() == 0) continue;
      softmax::add_metrics(m, name, classify(solve(*split, lambda), lambda, split->y));
    }
    m.emplace_back("a_spectral_norm", static_cast<double>(spectral_norm<S>(a(lambda))));
    return m;
  }

 private:
  static constexpr Index kMinCrossColumns = 128;  // map_vjp_lambda's chunks of [dA dB]

  Index offset_a() const { return 0; }
  Index offset_b() const { return o_.hidden * o_.hidden; }
  Index offset_c() const { return offset_b() + o_.hidden * p_; }
  Index offset_c_out() const { return offset_c() + o_.hidden; }
  Index offset_d() const { return offset_c_out() + k_ * o_.hidden; }

  Eigen::Map<const Matrix<S>> a(ConstVectorRef<S> l) const { return {l.data() + offset_a(), o_.hidden, o_.hidden}; }
  Eigen::Map<const Matrix<S>> b(ConstVectorRef<S> l) const { return {l.data() + offset_b(), o_.hidden, p_}; }
  Eigen::Map<const Vector<S>> c(ConstVectorRef<S> l) const { return {l.data() + offset_c(), o_.hidden}; }
  Eigen::Map<const Matrix<S>> c_out(ConstVectorRef<S> l) const { return {l.data() + offset_c_out(), k_, o_.hidden}; }
  Eigen::Map<const Vector<S>> d_out(ConstVectorRef<S> l) const { return {l.data() + offset_d(), k_}; }

  Eigen::Map<const Matrix<S>> states(ConstVectorRef<S> w, std::size_t m) const {
    if (w.size() != o_.hidden * static_cast<Index>(m))
      throw InvalidOptions(fmt::format("equilibrium: {} state values for {} examples of hidden size {}", w.size(), m,
                                       o_.hidden));
    return {w.data(), o_.hidden, static_cast<Index>(m)};
  }
  // The inputs of the batch's examples (m x p): the training matrix itself when the batch is all of
  // them in order (evaluation), else the rows the injection of this batch gathered (injection_of).
  Eigen::Map<const RowMatrix<S>> inputs(Batch blocks) const {
    const Index m = static_cast<Index>(blocks.size());
    if (is_full_range(blocks, num_blocks())) return {train_.x.data(), m, p_};
    return {injection_.rows.data(), m, p_};
  }

  // pre = A Z + (B X^T + c 1^T), the injection of the same examples given.
  void drive(const Eigen::Ref<const Matrix<S>>& z, ConstVectorRef<S> lambda, const Eigen::Ref<const Matrix<S>>& injection,
             Eigen::Ref<Matrix<S>> pre) const {
    pre = injection;
    multiply(pre, a(lambda), z, /*add=*/true);
  }

  // The input injection B X^T + c 1^T of the batch's examples (h x m) depends on B, c and the batch,
  // not on the states: the LL's t steps, the LS's k products and the cross term at one lambda share it,
  // as an implicit model computes B x + c once per forward pass. It is kept for the last (B, c, batch)
  // asked for, compared bit for bit, and recomputed (in parallel over chunks, always the same way, so a
  // kept injection equals a recomputed one) when either changed. A minibatch's rows are gathered with
  // it and kept for the cross term's dB. Its memory (h m values, m p for the rows) only grows.
  Eigen::Map<const Matrix<S>> injection_of(ConstVectorRef<S> lambda, Batch blocks) const {
    const Index h = o_.hidden, m = static_cast<Index>(blocks.size());
    const auto bc = lambda.segment(offset_b(), offset_c_out() - offset_b());  // B then c, contiguous
    Injection& k = injection_;
    if (k.valid && std::ranges::equal(blocks, k.blocks) && (held_.covers(lambda, k.hold) || same_bits(k.bc, bc))) {
      k.hold = held_.stamp(lambda);
      return {k.values.data(), h, m};
    }
    k.valid = false;  // while it is being recomputed (an exception below leaves it so)
    ++k.generation;   // the masks of the old injection are stale
    grow(k.values, h * m);
    const bool full = is_full_range(blocks, num_blocks());
    if (!full) grow(k.rows, m * p_);
    Eigen::Map<Matrix<S>> values(k.values.data(), h, m);
    Eigen::Map<RowMatrix<S>> rows(k.rows.data(), full ? 0 : m, p_);
    for_each_chunk(row_chunks(m), [&](Index, Index begin, Index mc) {
      if (!full) gather_rows(train_.x, blocks.subspan(static_cast<std::size_t>(begin), static_cast<std::size_t>(mc)),
                             "equilibrium", rows.middleRows(begin, mc));
      const Eigen::Map<const RowMatrix<S>> x((full ? train_.x.data() : k.rows.data()) + begin * p_, mc, p_);
      multiply(values.middleCols(begin, mc), b(lambda), x.transpose());
      values.middleCols(begin, mc).colwise() += c(lambda);
    });
    k.blocks.assign(blocks.begin(), blocks.end());
    k.bc.resize(bc.size());  // no allocation at the same size
    copy_key(bc, k.bc.data());
    k.hold = held_.stamp(lambda);
    k.valid = true;
    return {k.values.data(), h, m};
  }

  // The Jacobian's mask D = 1 - tanh(A Z + B X^T + c 1^T)^2 (h x m): d_Z Phi^T U = A^T (D o U) and the
  // cross term are both linear in D o U. The LS's k products and the cross term of one hypergradient
  // are taken at the same states and lambda, so D is kept, chunk by chunk of the batch (row_chunks, as
  // the oracles cut it), for the last (A, injection, states of the chunk) asked for, compared bit for
  // bit: one product A Z and one tanh per hypergradient instead of k + 1. The chunk's states are
  // compared, and its mask made, inside the oracle's own loop (mask_columns): no parallel region of
  // their own. Its memory (2 h m values and A) only grows.
  //
  // prepare_mask, before the loop: the injection, and whether the masks kept are for this A and this
  // injection (else none is valid). Returns the injection.
  Eigen::Map<const Matrix<S>> prepare_mask(ConstVectorRef<S> lambda, Batch blocks) const {
    const auto injection = injection_of(lambda, blocks);
    const Index h = o_.hidden, m = static_cast<Index>(blocks.size());
    const auto a_values = lambda.segment(offset_a(), h * h);
    Mask& k = mask_;
    if (k.valid && k.generation == injection_.generation && k.m == m && (held_.covers(lambda, k.hold) || same_bits(k.a, a_values))) {
      k.hold = held_.stamp(lambda);
      return injection;
    }
    k.valid = false;
    k.chunks.fill(false);
    grow(k.values, h * m);
    grow(k.states, h * m);
    k.a.resize(a_values.size());  // no allocation: A's size is fixed
    copy_key(a_values, k.a.data());
    k.m = m;
    k.generation = injection_.generation;
    k.hold = held_.stamp(lambda);
    k.valid = true;
    return injection;
  }
  // The mask's columns of chunk c (its states z, from column `begin`), as prepare_mask left the keys:
  // the kept ones if they were made at the same states, else made now. Each chunk writes only its own.
  Eigen::Map<const Matrix<S>> mask_columns(Index c, Index begin, const Eigen::Ref<const Matrix<S>>& z,
                                           ConstVectorRef<S> lambda, const Eigen::Ref<const Matrix<S>>& injection) const {
    Mask& k = mask_;
    const Index h = o_.hidden, size = h * z.cols();
    S* kept = k.states.data() + h * begin;
    Eigen::Map<Matrix<S>> values(k.values.data() + h * begin, h, z.cols());
    bool& valid = k.chunks[static_cast<std::size_t>(c)];
    if (!(valid && std::memcmp(kept, z.data(), sizeof(S) * static_cast<std::size_t>(size)) == 0)) {
      valid = false;
      drive(z, lambda, injection, values);
      values = S(1) - values.array().tanh().square();
      std::copy_n(z.data(), size, kept);
      valid = true;
    }
    return {values.data(), h, z.cols()};
  }

  // The keys are compared and copied segment by segment over the threads (core/segments.hpp): B alone
  // is 627 kB at h = 200, compared at every oracle call and written by both threads' UL step.
  static bool same_bits(const S* kept, Index size, ConstVectorRef<S> now) {
    if (size != now.size()) return false;
    const S* x = now.data();
    return sum_over_segments<int>(size, [&](Index b, Index l) {
             return std::memcmp(kept + b, x + b, sizeof(S) * static_cast<std::size_t>(l)) != 0 ? 1 : 0;
           }) == 0;
  }
  static void copy_key(ConstVectorRef<S> from, S* to) {
    for_each_segment(from.size(), [&](Index b, Index l) { std::copy_n(from.data() + b, l, to + b); });
  }
  static bool same_bits(const Vector<S>& kept, ConstVectorRef<S> now) { return same_bits(kept.data(), kept.size(), now); }
  static void grow(std::vector<S, Eigen::aligned_allocator<S>>& v, Index n) {
    grow_without_copy(v, static_cast<std::size_t>(n));
  }

  // The fixed points of every example of a split, by plain fixed-point iterations from zero, chunk by
  // chunk of examples (each chunk stops when its own states have converged).
  Matrix<S> solve(const softmax::Split<S>& split, ConstVectorRef<S> lambda) const {
    Matrix<S> z = Matrix<S>::Zero(o_.hidden, split.x.rows());
    const S tolerance = static_cast<S>(sizeof(S) >= 8 ? 1e-12 : 1e-6);
    for_each_chunk(row_chunks(split.x.rows()), [&](Index, Index begin, Index m) {
      auto zc = z.middleCols(begin, m);
      Matrix<S> input = b(lambda) * split.x.middleRows(begin, m).transpose();
      input.colwise() += c(lambda);
      for (int i = 0; i < o_.metric_iterations; ++i) {
        Matrix<S> next = (input + a(lambda) * zc).array().tanh();
        const S change = (next - zc).norm();
        zc = next;
        if (change <= tolerance * (S(1) + zc.norm())) break;
      }
    });
    return z;
  }

  // C Z + d with examples in rows (m x k), as the softmax helpers expect.
  void logits_of(const Eigen::Ref<const Matrix<S>>& z, ConstVectorRef<S> lambda, Eigen::Ref<Matrix<S>> logits) const {
    logits.noalias() = z.transpose() * c_out(lambda).transpose();
    logits.rowwise() += d_out(lambda).transpose();
  }
  softmax::LossAccuracy classify(const Eigen::Ref<const Matrix<S>>& z, ConstVectorRef<S> lambda,
                                 const std::vector<std::int32_t>& y) const {
    Matrix<S> logits(z.cols(), k_);
    logits_of(z, lambda, logits);
    return softmax::loss_accuracy<S>(logits, y);
  }

  using Values = std::vector<S, Eigen::aligned_allocator<S>>;
  struct Injection {
    bool valid = false;
    std::uint64_t generation = 0;  // counts recomputations: a mask names the injection it was made from
    std::uint64_t hold = 0;        // the hold in which bc was last made or compared (0: none)
    Vector<S> bc;                  // the B and c it was computed for
    std::vector<SampleId> blocks;  // and the batch
    Values values;                 // h x m, column j for blocks[j]
    Values rows;                   // m x p, row j the input of blocks[j] (not for the full range)
  };
  struct Mask {
    bool valid = false;                   // whether a, generation and m describe the chunks below
    std::uint64_t generation = 0;         // of the injection it was computed from
    std::uint64_t hold = 0;               // the hold in which a was last made or compared (0: none)
    Vector<S> a;                          // the A it was computed for
    Index m = 0;                          // the batch size (the chunks: row_chunks(m))
    std::array<bool, kMaxChunks> chunks{};  // whether chunk c's columns are made, at its states below
    Values states;                        // h x m: the states each chunk's columns were made at
    Values values;                        // h x m
  };

  EquilibriumOptions o_;
  softmax::Split<S> train_, validation_, test_;
  Index p_, k_;
  std::shared_ptr<const ConstraintSet<S>> constraint_;
  // The two caches make one instance unsafe for concurrent oracle calls (as meta-learning's cache).
  mutable Injection injection_;
  mutable Mask mask_;
  mutable HeldLambda<S> held_;  // hold() and release()
};

}  // namespace bilevel
