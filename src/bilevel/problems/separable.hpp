#pragma once
// Separable lower levels (DESIGN.md section 4): one fixed point per example (equilibrium models) or per
// task (meta-learning),
//
//   f(lambda) = (1/n) sum_i E_i(z_i(lambda), lambda),   z_i(lambda) = Phi_i(z_i(lambda), lambda),
//
// with n blocks z_i of block_dim() each. A separable problem has the five oracles of BilevelProblem,
// but their Batch names the blocks whose states are stacked in w (w = [z_{b_1}; ...; z_{b_m}], size
// m block_dim()), the LL of a block is deterministic, and
//   map          stacks Phi_i(z_i) over the blocks,
//   map_vjp_w    stacks d_z Phi_i(z_i)^T u_i,
//   map_vjp_lambda  sums d_lambda Phi_i(z_i)^T u_i over the blocks (the vjp of the stacked map),
//   outer        is the mean of E_i over the blocks, with grad_w stacked (so each block's part carries
//                the 1/m of the mean).
// BlockBatchView fixes the blocks and is then an ordinary deterministic BilevelProblem: the bilevel
// problem of that minibatch of examples, whose exact hypergradient is an unbiased estimate of grad f.
// The one estimator runs on it (estimators/separable_estimator.hpp).
#include <vector>

#include "bilevel/core/sampler.hpp"
#include "bilevel/problems/problem.hpp"

namespace bilevel {

template <class P>
concept SeparableProblem = HasFixedPointOracles<P> && requires(const P& p) {
  { p.num_blocks() } -> std::convertible_to<Index>;  // n: examples or tasks (finite)
  { p.block_dim() } -> std::convertible_to<Index>;   // size of one z_i
};

// Optional: prefetch(lambda, blocks), a hint that the next oracle calls will be on these blocks, at a
// lambda whose unconstrained coordinates are those of `lambda` (the outer loop calls it for the next
// minibatch while it projects lambda). The problem may start the work that depends only on them
// (equilibrium: the input injection B X^T + c). Every oracle gives the same bits with or without it.
// It runs while constraint().project(lambda) runs on another thread: it must read no coordinate the
// projection may write, and write none.
template <class P>
concept HasPrefetch = requires(const P& p, ConstVectorRef<typename P::Scalar> x, Batch b) { p.prefetch(x, b); };
// Whether prefetch() does anything: a type-erased problem (any_problem.hpp) has the member always.
template <class P>
bool has_prefetch(const P& p) {
  if constexpr (requires { { p.has_prefetch() } -> std::convertible_to<bool>; })
    return p.has_prefetch();
  else
    return HasPrefetch<P>;
}

// Optional: hold(lambda) and release(). Between them every oracle call's lambda is that vector (the
// same memory, its values unchanged): the separable estimator holds the lambda of one hypergradient
// (LambdaHold). A problem that keeps computations keyed by lambda (equilibrium's injection and mask)
// may then trust a key it checked or made during the hold instead of comparing lambda's bits again.
template <class P>
concept HoldsLambda = requires(const P& p, ConstVectorRef<typename P::Scalar> x) {
  p.hold(x);
  p.release();
};

// A problem's side of the hold: which lambda is held, and a number for each hold, with which a key
// kept by lambda is stamped when it is made or compared; the stamp is good while the hold lasts.
template <class S>
class HeldLambda {
 public:
  void hold(ConstVectorRef<S> lambda) {
    data_ = lambda.data();
    size_ = lambda.size();
    ++holds_;
  }
  void release() { data_ = nullptr; }
  // The number of the hold `lambda` is in, else 0: the stamp of a key made or compared now.
  std::uint64_t stamp(ConstVectorRef<S> lambda) const {
    return data_ != nullptr && lambda.data() == data_ && lambda.size() == size_ ? holds_ : 0;
  }
  // Whether a key stamped `key_stamp` was made or compared for this lambda in the hold still on.
  bool covers(ConstVectorRef<S> lambda, std::uint64_t key_stamp) const {
    return key_stamp != 0 && key_stamp == stamp(lambda);
  }

 private:
  const S* data_ = nullptr;  // the lambda held (nullptr: none)
  Index size_ = 0;
  std::uint64_t holds_ = 0;  // holds so far: the last one's number
};

// hold(lambda) for its lifetime, when the problem takes the hint.
template <class P>
class LambdaHold {
 public:
  LambdaHold(const P& p, ConstVectorRef<typename P::Scalar> lambda) : p_(p) {
    if constexpr (HoldsLambda<P>) p_.hold(lambda);
  }
  ~LambdaHold() {
    if constexpr (HoldsLambda<P>) p_.release();
  }
  LambdaHold(const LambdaHold&) = delete;
  LambdaHold& operator=(const LambdaHold&) = delete;

 private:
  const P& p_;
};

// The bilevel problem of a fixed set of blocks: w is their stacked states, every oracle acts on all of
// them (the LL and UL populations are one "sample": the whole set). Changing the blocks changes dim_w.
template <SeparableProblem P>
class BlockBatchView {
 public:
  using Scalar = typename P::Scalar;
  using S = Scalar;

  explicit BlockBatchView(const P& problem) : p_(problem) {}

  void set_blocks(Batch blocks) { blocks_.assign(blocks.begin(), blocks.end()); }
  // Blocks 0..n-1 (the whole population, for evaluation).
  void set_all_blocks() {
    blocks_.resize(static_cast<std::size_t>(p_.num_blocks()));
    for (std::size_t i = 0; i < blocks_.size(); ++i) blocks_[i] = i;
  }
  Batch blocks() const { return blocks_; }
  const P& problem() const { return p_; }

  Index dim_w() const { return static_cast<Index>(blocks_.size()) * p_.block_dim(); }
  Index dim_lambda() const { return p_.dim_lambda(); }
  Index ll_population() const { return 1; }
  Index ul_population() const { return 1; }
  bool jacobian_w_symmetric() const { return p_.jacobian_w_symmetric(); }
  const ConstraintSet<S>& constraint() const { return p_.constraint(); }

  void map(ConstVectorRef<S> w, ConstVectorRef<S> lambda, Batch, VectorRef<S> out) const {
    p_.map(w, lambda, blocks_, out);
  }
  void map_vjp_w(ConstVectorRef<S> w, ConstVectorRef<S> lambda, ConstVectorRef<S> u, Batch, VectorRef<S> out) const {
    p_.map_vjp_w(w, lambda, u, blocks_, out);
  }
  void map_vjp_lambda(ConstVectorRef<S> w, ConstVectorRef<S> lambda, ConstVectorRef<S> u, Batch,
                      VectorRef<S> out) const {
    p_.map_vjp_lambda(w, lambda, u, blocks_, out);
  }
  S outer(ConstVectorRef<S> w, ConstVectorRef<S> lambda, Batch, Vector<S>* grad_w, Vector<S>* grad_lambda) const {
    return p_.outer(w, lambda, blocks_, grad_w, grad_lambda);
  }
  // The problem's metrics, given the states of the view's blocks (evaluation views hold all blocks).
  auto metrics(ConstVectorRef<S> lambda, ConstVectorRef<S> w) const
    requires requires(const P& p) { p.metrics(lambda, w); }
  {
    return p_.metrics(lambda, w);
  }

 private:
  const P& p_;
  std::vector<SampleId> blocks_;
};

}  // namespace bilevel
