#pragma once
// The hypergradient of a separable problem (problems/separable.hpp): draw a minibatch of m blocks
// (examples or tasks), then run the one HypergradientEstimator on the bilevel problem of those blocks
// (BlockBatchView), whose LL is deterministic. Its exact hypergradient is an unbiased estimate of
// grad f, so t, k, the LS method, ITD and the step schedules all mean what they mean elsewhere; only the
// minibatch differs: it is the outer batch (outer_batch_size blocks; 0 = all), and every LL step, LS
// step and the cross term act on those same blocks. The ll/ls/cross batch sizes are therefore unused.
//
// Warm start (ll.warm_start, ls.warm_start) keeps one z (and one v) per block in the caller's
// EstimatorState: state.w and state.v hold all n blocks stacked (n block_dim values each), gathered for
// the drawn blocks before the solve and scattered back after; blocks never drawn start from zero. Its
// memory, state.memory_bytes(), grows with n: the cost the warm-start paper weighs against its gain.
//
// Counting: a sample is an example (block) drawn, m per hypergradient (samples_ul; a separable LL has no
// randomness of its own, so samples_ll stays 0), so samples / n counts epochs. example_evals counts every
// block each oracle call touched; oracle calls are counted per call as everywhere.
#include <fmt/format.h>

#include <memory>
#include <optional>

#include "bilevel/core/huge_pages.hpp"
#include "bilevel/estimators/hypergradient.hpp"
#include "bilevel/problems/separable.hpp"

namespace bilevel {

template <SeparableProblem P>
class SeparableHypergradientEstimator {
 public:
  using S = typename P::Scalar;
  using View = BlockBatchView<P>;

  SeparableHypergradientEstimator(const P& problem, EstimatorOptions options)
      : p_(problem), o_(std::move(options)), view_(std::make_unique<View>(problem)) {
    if (p_.num_blocks() < 1) throw InvalidOptions("a separable problem needs at least one block");
    o_.validate(p_.num_blocks(), p_.num_blocks(), p_.jacobian_w_symmetric());  // its examples are the blocks
    rebuild();
  }

  void set_sizes(int ll_iterations, int ls_iterations, Index /*cross_batch_size*/, Index outer_batch_size) {
    if (outer_batch_size != o_.outer_batch_size) {
      o_.outer_batch_size = outer_batch_size;
      o_.ll.iterations = ll_iterations;
      o_.ls.iterations = ls_iterations;
      rebuild();
      return;
    }
    o_.ll.iterations = ll_iterations;
    o_.ls.iterations = ls_iterations;
    inner_->set_sizes(ll_iterations, ls_iterations, 0, 0);
  }

  // Reports the minibatch of blocks of every later hypergradient to `trace` as "blocks" (samples_ul;
  // the steps on those blocks draw nothing).
  void trace_samples(SampleTrace* trace) {
    trace_ = trace;
    blocks_.trace_to(trace_, "blocks");
  }

  const EstimatorOptions& options() const { return o_; }
  const P& problem() const { return p_; }

  void save(ArchiveWriter& a) const {
    a.tag("separable-estimator");
    blocks_.save(a);
    inner_->save(a);
    save_state(a, inner_state_);
  }
  void load(ArchiveReader& a) {
    a.tag("separable-estimator");
    blocks_.load(a);
    inner_->load(a);
    load_state(a, inner_state_);
  }

  // Sizes the warm-start stores in `state` before the first hypergradient (the outer loop calls it
  // before its clock starts, as a PyTorch run creates its store before its loop): zeroing n h values
  // is a cost of setting up the run, not of its first iteration (for equilibrium's 50 000 x 200 float
  // z's, 66-105 ms on this project's machines against 2-3 ms per iteration).
  void prepare(EstimatorState<S>& state) const {
    const Index stored = p_.num_blocks() * p_.block_dim();
    if (o_.ll.warm_start) size_store(state.w, stored);
    if (o_.ls.warm_start) size_store(state.v, stored);
  }

  // Whether prefetch() does anything: the problem takes the hint.
  bool can_prefetch() const { return has_prefetch(p_); }
  // Lets the problem start the next hypergradient's work that depends on lambda's unconstrained
  // coordinates only, for the minibatch that compute(..., streams, ...) will draw (peeked: the
  // sampler and the streams stay as they are). Nothing changes if compute gets another lambda or
  // draws another batch (a growing batch): the problem's caches compare what they were made for.
  void prefetch(ConstVectorRef<S> lambda, const EstimatorStreams& streams) {
    if constexpr (HasPrefetch<P>) {
      blocks_.peek(streams.outer, next_blocks_);
      p_.prefetch(lambda, next_blocks_);
    }
  }

  const HypergradientResult<S>& compute(ConstVectorRef<S> lambda, EstimatorState<S>& state, EstimatorStreams& streams,
                                        OracleCounts& counts) {
    const Batch blocks = blocks_.draw(streams.outer);
    view_->set_blocks(blocks);
    const Index h = p_.block_dim(), m = static_cast<Index>(blocks.size());
    const Index stored = p_.num_blocks() * h;
    if (o_.ll.warm_start) gather(state.w, stored, blocks, inner_state_.w);
    if (o_.ls.warm_start) gather(state.v, stored, blocks, inner_state_.v);

    OracleCounts inner;
    const LambdaHold<P> hold(p_, lambda);  // every oracle call of one hypergradient is at this lambda
    const HypergradientResult<S>& r = inner_->compute(lambda, inner_state_, streams, inner);
    scatter(r, blocks, state);
    state.ll_steps = inner_state_.ll_steps;

    OracleCounts spent = inner;
    spent.samples_ll = 0;
    spent.samples_ul = m;
    spent.example_evals = inner.example_evals * m;  // each call of the view touched all m blocks
    counts += spent;
    return inner_->report_spent(spent);
  }

 private:
  // The inner estimator on the view: full batches of the view, the user's t, k, steps and solvers.
  void rebuild() {
    const Index m = o_.outer_batch_size == 0 ? p_.num_blocks() : o_.outer_batch_size;
    blocks_ = MinibatchSampler(p_.num_blocks(), m, o_.outer_sampling);
    blocks_.trace_to(trace_, "blocks");
    std::vector<SampleId> first(static_cast<std::size_t>(m));
    for (std::size_t i = 0; i < first.size(); ++i) first[i] = i;
    view_->set_blocks(first);  // sizes the view's dim_w for the inner estimator's buffers
    EstimatorOptions inner = o_;
    inner.ll.batch_size = inner.ls.batch_size = inner.outer_batch_size = inner.cross_batch_size = 0;
    inner_.reset();
    inner_.emplace(*view_, inner);
    inner_state_.w.resize(0);
    inner_state_.v.resize(0);
  }

  // The store of all n blocks' values, zero until a block is first drawn. Backed by huge pages where
  // the system allows (core/huge_pages.hpp): its first touch costs one fault per 2 MB instead of per
  // 4 kB (measured: 40 MB zeroed in 105 ms with 4 kB pages, 8-24 ms with them in a standalone
  // program and 66 ms in a run, docs/performance.md), and the random gathers and scatters of a
  // minibatch's rows miss the TLB less.
  static void size_store(Vector<S>& store, Index stored) {
    if (store.size() == stored) return;
    store.resize(stored);
    advise_huge_pages(store.data(), sizeof(S) * static_cast<std::size_t>(stored));
    store.setZero();
  }
  void gather(Vector<S>& store, Index stored, Batch blocks, Vector<S>& out) const {
    size_store(store, stored);
    const Index h = p_.block_dim();
    out.resize(static_cast<Index>(blocks.size()) * h);
    // In the oracles' chunks of examples: each thread gathers the states it is about to compute with.
    for_each_chunk(row_chunks(static_cast<Index>(blocks.size())), [&](Index, Index begin, Index length) {
      for (Index i = begin; i < begin + length; ++i)
        out.segment(i * h, h) = store.segment(static_cast<Index>(blocks[static_cast<std::size_t>(i)]) * h, h);
    });
  }
  // The warm-started values of the drawn blocks back into the stores. In the gather's chunks when the
  // blocks are distinct (sampling without replacement: 55 us serial at equilibrium's B = 256, scattered
  // over a 40 MB store, docs/performance.md); serially otherwise, since a minibatch drawn with
  // replacement may hold a block twice, and the last copy must win.
  void scatter(const HypergradientResult<S>& r, Batch blocks, EstimatorState<S>& state) const {
    const bool w = o_.ll.warm_start, v = o_.ls.warm_start;
    if (!w && !v) return;
    const Index h = p_.block_dim();
    const auto copy = [&](Index begin, Index length) {
      for (Index i = begin; i < begin + length; ++i) {
        const Index to = static_cast<Index>(blocks[static_cast<std::size_t>(i)]) * h;
        if (w) state.w.segment(to, h) = r.w.segment(i * h, h);
        if (v) state.v.segment(to, h) = r.v.segment(i * h, h);
      }
    };
    const auto m = static_cast<Index>(blocks.size());
    if (blocks_.draws_distinct())
      for_each_chunk(row_chunks(m), [&](Index, Index begin, Index length) { copy(begin, length); });
    else
      copy(0, m);
  }

  const P& p_;
  EstimatorOptions o_;
  std::unique_ptr<View> view_;  // stable address: the inner estimator keeps a reference to it
  std::optional<HypergradientEstimator<View>> inner_;
  EstimatorState<S> inner_state_;
  MinibatchSampler blocks_;
  std::vector<SampleId> next_blocks_;  // prefetch's peek
  SampleTrace* trace_ = nullptr;
};

}  // namespace bilevel
