#pragma once
// The one hypergradient estimator of bilevel (see options.hpp for the algorithm and its options).
// Every published method (BSGM/SID, stocBiO, AmIGO, ALSET, AID-BiO, ITD-BiO, ...) is a setting of
// EstimatorOptions driving this class; none has a copy of its own.
//
// Sign convention: v approximates +(I - d_w Phi^T)^{-1} grad_w E, so grad f = grad_lambda E + d_lambda Phi^T v.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "bilevel/core/archive.hpp"
#include "bilevel/core/counters.hpp"
#include "bilevel/core/error.hpp"
#include "bilevel/core/finite.hpp"
#include "bilevel/core/rng.hpp"
#include "bilevel/core/sampler.hpp"
#include "bilevel/core/segments.hpp"
#include "bilevel/estimators/conjugate_gradient.hpp"
#include "bilevel/estimators/options.hpp"
#include "bilevel/estimators/state.hpp"
#include "bilevel/problems/counted_oracle.hpp"
#include "bilevel/problems/problem.hpp"

namespace bilevel {

// The named random streams of the estimator, one per step of SID, so the draws of each step are
// independent of the others and of how many iterations the other steps take.
struct EstimatorStreams {
  explicit EstimatorStreams(const RandomStreams& s)
      : ll(s.stream("estimator/ll")), ls(s.stream("estimator/ls")), outer(s.stream("estimator/outer")),
        cross(s.stream("estimator/cross")) {}
  explicit EstimatorStreams(std::uint64_t seed) : EstimatorStreams(RandomStreams(seed)) {}
  Rng ll, ls, outer, cross;

  // The generators' positions, for resuming a run.
  void save(ArchiveWriter& a) const {
    for (const Rng* rng : {&ll, &ls, &outer, &cross})
      for (std::uint64_t x : rng->state()) a.u64(x);
  }
  void load(ArchiveReader& a) {
    for (Rng* rng : {&ll, &ls, &outer, &cross}) {
      std::array<std::uint64_t, 4> state;
      for (auto& x : state) x = a.u64();
      rng->set_state(state);
    }
  }
};

template <class S>
struct HypergradientResult {
  Vector<S> hypergradient;  // h, the estimate of grad f(lambda)
  Vector<S> w;              // w_t, the lower-level solution used
  Vector<S> v;              // v_k, the linear-system solution (reverse mode: the adjoint at w_0)
  S outer_value = 0;        // E-hat(w_t, lambda, xi) on the outer minibatch
  S norm = 0;               // ||hypergradient||
  int ll_steps = 0;         // LL steps taken (fewer than t when ll.tolerance stopped them)
  double ll_residual = 0;   // ||Phi-hat(w, lambda, zeta) - w|| at the last LL step
  OracleCounts spent;       // what this call cost
};

template <BilevelProblem P>
class HypergradientEstimator {
 public:
  using S = typename P::Scalar;

  HypergradientEstimator(const P& problem, EstimatorOptions options) : p_(problem), o_(std::move(options)) {
    o_.validate(p_.ll_population(), p_.ul_population(), p_.jacobian_w_symmetric());
    const Index d = p_.dim_w(), m = p_.dim_lambda();
    ll_sampler_ = make_sampler(p_.ll_population(), o_.ll.batch_size, o_.ll.sampling);
    outer_sampler_ = make_sampler(p_.ul_population(), o_.outer_batch_size, o_.outer_sampling);
    // The LS's fresh xi per step keeps the configured outer minibatch when growth enlarges the final one.
    if (o_.ls.resample_outer_gradient) ls_outer_sampler_ = outer_sampler_;
    if (!reverse_mode()) {
      ls_sampler_ = make_sampler(p_.ll_population(), o_.ls.batch_size, o_.ls.sampling);
      cross_sampler_ = make_sampler(p_.ll_population(), o_.cross_batch_size, o_.cross_sampling);
    }
    trace_samplers();
    w0_ = Vector<S>::Zero(d);
    // All buffers are allocated here, so compute() allocates nothing.
    r_.hypergradient.resize(m);
    r_.w.resize(d);
    r_.v.resize(d);
    tmp_w_.resize(d);
    tmp_w2_.resize(d);
    if (o_.ls.method == LinearSystemMethod::kConjugateGradient) cg_.resize(d);
    g_w_.resize(d);
    tmp_lambda_.resize(m);
    size_trajectory();
  }

  // Changes t, k, J and the outer minibatch between calls (BSGM's growing schedules). Validated like
  // the constructor's options; buffers grow only when t or a batch does.
  void set_sizes(int ll_iterations, int ls_iterations, Index cross_batch_size, Index outer_batch_size) {
    if (ll_iterations == o_.ll.iterations && ls_iterations == o_.ls.iterations &&
        cross_batch_size == o_.cross_batch_size && outer_batch_size == o_.outer_batch_size)
      return;
    EstimatorOptions o = o_;
    o.ll.iterations = ll_iterations;
    o.ls.iterations = ls_iterations;
    o.cross_batch_size = cross_batch_size;
    o.outer_batch_size = outer_batch_size;
    o.validate(p_.ll_population(), p_.ul_population(), p_.jacobian_w_symmetric());
    if (!reverse_mode() && cross_batch_size != o_.cross_batch_size)
      cross_sampler_.set_batch_size(batch_or_all(p_.ll_population(), cross_batch_size));
    if (outer_batch_size != o_.outer_batch_size)
      outer_sampler_.set_batch_size(batch_or_all(p_.ul_population(), outer_batch_size));
    o_ = std::move(o);
    trace_samplers();
    size_trajectory();
  }

  // Reports every minibatch drawn from now on to `trace` (nullptr: none), named by its sampler: "ll" (LL
  // steps), "ls" (LS steps), "cross" (the J draws of the cross term), "outer" (grad E at the LL
  // solution) and "ls_outer" (grad E resampled at every LS step). The first three count as samples_ll,
  // the last two as samples_ul.
  void trace_samples(SampleTrace* trace) {
    trace_ = trace;
    trace_samplers();
  }

  const EstimatorOptions& options() const { return o_; }
  const P& problem() const { return p_; }

  // The state that carries from one call to the next (for resuming a run): the samplers' permutations.
  void save(ArchiveWriter& a) const {
    a.tag("estimator");
    for (const MinibatchSampler* s : {&ll_sampler_, &ls_sampler_, &outer_sampler_, &cross_sampler_, &ls_outer_sampler_})
      s->save(a);
  }
  void load(ArchiveReader& a) {
    a.tag("estimator");
    for (MinibatchSampler* s : {&ll_sampler_, &ls_sampler_, &outer_sampler_, &cross_sampler_, &ls_outer_sampler_})
      s->load(a);
  }

  // The lower level's cold start point (zero unless set).
  void set_ll_initial_point(const Vector<S>& w0) {
    if (w0.size() != p_.dim_w())
      throw InvalidOptions(fmt::format("initial lower-level point has size {}, the problem's w has {}", w0.size(), p_.dim_w()));
    w0_ = w0;
  }

  // Memory of the stored LL trajectory (reverse mode only): t vectors of dim_w plus their sample ids.
  std::size_t trajectory_bytes() const {
    return sizeof(S) * static_cast<std::size_t>(trajectory_.size()) + sizeof(SampleId) * trajectory_ids_.size();
  }

  // Estimates grad f(lambda). Reads and updates `state` for the warm starts that the options switch on;
  // draws from `streams`; adds what it spends to `counts`. The result stays valid until the next call.
  const HypergradientResult<S>& compute(ConstVectorRef<S> lambda, EstimatorState<S>& state, EstimatorStreams& streams,
                                        OracleCounts& counts) {
    if (lambda.size() != p_.dim_lambda())
      throw InvalidOptions(fmt::format("lambda has size {}, the problem expects {}", lambda.size(), p_.dim_lambda()));
    OracleCounts spent;
    CountedOracle<P> oracle(p_, spent);

    solve_lower_level(oracle, lambda, state, streams.ll);
    const Batch xi = oracle.draw_ul(outer_sampler_, streams.outer);
    r_.outer_value = oracle.outer(r_.w, lambda, xi, &g_w_, &r_.hypergradient);  // h = grad_lambda E for now
    require_finite(g_w_, "the outer gradient grad_w E at the lower-level solution");

    if (reverse_mode()) {
      backpropagate_trajectory(oracle, lambda);
      require_finite(r_.hypergradient, "the hypergradient");
      r_.norm = segmented_norm(r_.hypergradient);
    } else {
      solve_linear_system(oracle, lambda, state, streams);
      const Batch cross = oracle.draw_ll(cross_sampler_, streams.cross);
      oracle.map_vjp_lambda(r_.w, lambda, r_.v, cross, tmp_lambda_);
      // h += d_lambda Phi^T v, its check and its norm in one pass.
      const auto h = sum_over_segments<SquaredAndFinite<S>>(tmp_lambda_.size(), [&](Index b, Index l) {
        auto part = r_.hypergradient.segment(b, l);
        part += tmp_lambda_.segment(b, l);
        return squared_and_finite(part);
      });
      if (!h.finite()) throw not_finite("the hypergradient");
      r_.norm = std::sqrt(h.squared);
    }
    // The warm starts' state: w, and v (not in reverse mode, where r_.v is the adjoint), in one pass.
    const bool keep_v = !reverse_mode();
    state.w.resize(r_.w.size());
    if (keep_v) state.v.resize(r_.v.size());
    for_each_segment(r_.w.size(), [&](Index b, Index l) {
      state.w.segment(b, l) = r_.w.segment(b, l);
      if (keep_v) state.v.segment(b, l) = r_.v.segment(b, l);
    });
    state.ll_steps += r_.ll_steps;
    r_.spent = spent;
    counts += spent;
    return r_;
  }

  // The last result, with `spent` as its cost: the separable estimator (separable_estimator.hpp) reports
  // its own counts (blocks as samples) in it rather than copying h, w and v (1 MB for equilibrium) per call.
  const HypergradientResult<S>& report_spent(const OracleCounts& spent) {
    r_.spent = spent;
    return r_;
  }

 private:
  bool reverse_mode() const { return o_.ls.method == LinearSystemMethod::kReverseMode; }

  // Reverse mode stores w_i, zeta_i and eta_i for every LL step.
  void size_trajectory() {
    if (!reverse_mode()) return;
    const auto t = static_cast<std::size_t>(o_.ll.iterations);
    if (trajectory_.cols() < o_.ll.iterations) trajectory_.resize(p_.dim_w(), o_.ll.iterations);
    trajectory_ids_.resize(std::max(trajectory_ids_.size(), t * static_cast<std::size_t>(ll_sampler_.batch_size())));
    trajectory_steps_.resize(std::max(trajectory_steps_.size(), t));
  }

  void trace_samplers() {
    ll_sampler_.trace_to(trace_, "ll");
    ls_sampler_.trace_to(trace_, "ls");
    cross_sampler_.trace_to(trace_, "cross");
    outer_sampler_.trace_to(trace_, "outer");
    ls_outer_sampler_.trace_to(trace_, "ls_outer");
  }

  // A batch size of 0 in the options is the full batch.
  static Index batch_or_all(Index population, Index batch) { return batch == 0 ? population : batch; }
  static MinibatchSampler make_sampler(Index population, Index batch, Sampling sampling) {
    return MinibatchSampler(population, batch_or_all(population, batch), sampling);
  }

  template <class V>
  static void require_finite(const V& x, const char* what, int iteration = -1) {
    if (!segmented_all_finite(x)) throw not_finite(what, iteration);
  }
  static NumericalError not_finite(const char* what, int iteration = -1) {
    return NumericalError(fmt::format(
        "{} became NaN or Inf{}; the lower-level map may not be a contraction at these settings: "
        "try a smaller step size",
        what, iteration >= 0 ? fmt::format(" at iteration {}", iteration) : std::string()));
  }

  // w <- (1 - eta_i) w + eta_i Phi-hat(w, lambda, zeta_i), i = 0..t-1.
  void solve_lower_level(CountedOracle<P>& oracle, ConstVectorRef<S> lambda, EstimatorState<S>& state, Rng& rng) {
    const auto& ll = o_.ll;
    segmented_copy(r_.w, ll.warm_start && state.w.size() == p_.dim_w() ? state.w : w0_);
    const std::int64_t first = ll.warm_start_schedule ? state.ll_steps : 0;
    const auto b = static_cast<std::size_t>(ll_sampler_.batch_size());
    r_.ll_steps = 0;
    double first_residual = 0;
    bool finite = false;  // whether w is known finite: checked in each step's pass
    for (int i = 0; i < ll.iterations; ++i) {
      const Batch zeta = oracle.draw_ll(ll_sampler_, rng);
      const S eta = static_cast<S>(ll.step.at(first + i));
      if (reverse_mode()) {  // keep what backpropagation needs: w_i, zeta_i and eta_i
        trajectory_.col(i) = r_.w;
        std::copy(zeta.begin(), zeta.end(), trajectory_ids_.begin() + static_cast<std::ptrdiff_t>(i * b));
        trajectory_steps_[static_cast<std::size_t>(i)] = eta;
      }
      oracle.map(r_.w, lambda, zeta, tmp_w_);
      // w <- w + eta (Phi-hat(w) - w), the residual's squared norm and the check of w, in one pass.
      const auto step = sum_over_segments<SquaredAndFinite<S>>(r_.w.size(), [&](Index b, Index l) {
        auto w = r_.w.segment(b, l);
        auto residual = tmp_w_.segment(b, l);
        residual -= w;
        w += eta * residual;
        return SquaredAndFinite<S>{residual.squaredNorm(), finiteness_check(w)};
      });
      finite = step.finite();
      r_.ll_residual = std::sqrt(static_cast<double>(step.squared));
      if (i == 0) first_residual = r_.ll_residual;
      ++r_.ll_steps;
      if (ll.tolerance > 0 && r_.ll_residual <= ll.tolerance * (1.0 + static_cast<double>(segmented_norm(r_.w)))) break;
    }
    if (!finite) require_finite(r_.w, "the lower-level iterate w", r_.ll_steps);  // also with no step
    // On full batches the steps of a contraction shrink the residual by 1 - eta (1 - q) each; growth
    // (beyond rounding) means the map expands at these settings, which otherwise goes unnoticed until
    // the run drifts or overflows. Minibatch residuals are noisy, so only deterministic solves are checked.
    if (ll_sampler_.is_full_batch() && r_.ll_steps >= 3 &&
        r_.ll_residual > 2.0 * first_residual + 1e-4 * (1.0 + static_cast<double>(r_.w.norm())))
      throw NumericalError(fmt::format(
          "the lower-level residual ||Phi(w) - w|| grew from {:.3g} to {:.3g} in {} full-batch steps: the "
          "lower-level map is not a contraction at these settings; try a smaller problem.gamma or "
          "estimator.ll.step",
          first_residual, r_.ll_residual, r_.ll_steps));
  }

  void solve_linear_system(CountedOracle<P>& oracle, ConstVectorRef<S> lambda, EstimatorState<S>& state,
                           EstimatorStreams& streams) {
    const auto& ls = o_.ls;
    // v_0
    if (ls.warm_start && state.v.size() == p_.dim_w()) {
      segmented_copy(r_.v, state.v);
    } else if (ls.start == LinearSystemStart::kOuterGradient) {
      segmented_copy(r_.v, g_w_);
    } else {
      r_.v.setZero();
    }
    bool finite = false;  // whether v is known finite (the fixed-point steps check it)
    switch (ls.method) {
      case LinearSystemMethod::kFixedPoint: finite = fixed_point(oracle, lambda, streams); break;
      case LinearSystemMethod::kConjugateGradient: conjugate_gradient(oracle, lambda, streams.ls); break;
      case LinearSystemMethod::kNeumann: neumann(oracle, lambda, streams.ls); break;
      case LinearSystemMethod::kReverseMode: break;  // handled by backpropagate_trajectory
    }
    if (!finite) require_finite(r_.v, "the linear-system solution v");
  }

  // v <- (1 - eta_j) v + eta_j (d_w Phi-hat(w, lambda, zeta-hat_j)^T v + g), a fresh minibatch per step;
  // with ls.tolerance, stops once the LS residual ||d_w Phi^T v + g - v|| <= tolerance ||g||.
  // Returns whether v is known finite (checked in each step's pass; not without a step).
  bool fixed_point(CountedOracle<P>& oracle, ConstVectorRef<S> lambda, EstimatorStreams& streams) {
    const auto& ls = o_.ls;
    bool finite = false;
    for (int j = 0; j < ls.iterations; ++j) {
      const Batch zeta = oracle.draw_ll(ls_sampler_, streams.ls);
      oracle.map_vjp_w(r_.w, lambda, r_.v, zeta, tmp_w_);
      const S eta = static_cast<S>(ls.step.at(j));
      if (ls.resample_outer_gradient) {
        const Batch xi = oracle.draw_ul(ls_outer_sampler_, streams.outer);
        oracle.outer(r_.w, lambda, xi, &tmp_w2_, nullptr);
      }
      // v <- (1 - eta) v + eta (d_w Phi^T v + g), the LS residual's squared norm and the check of v,
      // in one pass.
      const Vector<S>& g = ls.resample_outer_gradient ? tmp_w2_ : g_w_;
      const auto step = sum_over_segments<SquaredAndFinite<S>>(r_.v.size(), [&](Index b, Index l) {
        auto v = r_.v.segment(b, l);
        auto next = tmp_w_.segment(b, l);
        next += g.segment(b, l);
        const S part = ls.tolerance > 0 ? (next - v).squaredNorm() : S(0);
        v = (S(1) - eta) * v + eta * next;
        return SquaredAndFinite<S>{part, finiteness_check(v)};
      });
      finite = step.finite();
      if (ls.tolerance > 0 && std::sqrt(step.squared) <= static_cast<S>(ls.tolerance) * segmented_norm(g_w_)) break;
    }
    return finite;
  }

  // Truncated Neumann series v = eta sum_{q=0..k} (I - eta A)^q g, A = I - d_w Phi^T, each power with a
  // fresh minibatch. (I - eta A) p = (1 - eta) p + eta d_w Phi^T p.
  void neumann(CountedOracle<P>& oracle, ConstVectorRef<S> lambda, Rng& rng) {
    const S eta = static_cast<S>(o_.ls.step.step);
    tmp_w2_ = g_w_;  // p_0
    r_.v = g_w_;     // running sum
    for (int q = 1; q <= o_.ls.iterations; ++q) {
      const Batch zeta = oracle.draw_ll(ls_sampler_, rng);
      oracle.map_vjp_w(r_.w, lambda, tmp_w2_, zeta, tmp_w_);
      tmp_w2_ = (S(1) - eta) * tmp_w2_ + eta * tmp_w_;
      r_.v += tmp_w2_;
    }
    r_.v *= eta;
  }

  // Conjugate gradient on A v = g, A = I - d_w Phi^T (symmetric positive definite for a contraction with
  // symmetric Jacobian; estimators/conjugate_gradient.hpp), A's products taken directly where the
  // problem gives them (problems/problem.hpp, HasDirectResidual). CG needs a fixed operator, so one
  // minibatch serves every step.
  void conjugate_gradient(CountedOracle<P>& oracle, ConstVectorRef<S> lambda, Rng& rng) {
    const Batch zeta = oracle.draw_ll(ls_sampler_, rng);
    auto apply_a = [&](const Vector<S>& x, Vector<S>& out) { oracle.linear_system_product(r_.w, lambda, x, zeta, out); };
    const S stop = static_cast<S>(o_.ls.tolerance) * g_w_.norm();
    bilevel::conjugate_gradient<S>(apply_a, g_w_, r_.v, r_.v.isZero(0), stop, o_.ls.iterations, cg_);
  }

  // ITD: reverse-mode differentiation of lambda -> E-hat(w_t(lambda), lambda) through the stored
  // trajectory, with w_{i+1} = (1 - eta_i) w_i + eta_i Phi-hat(w_i, lambda, zeta_i) and w_0 held fixed.
  void backpropagate_trajectory(CountedOracle<P>& oracle, ConstVectorRef<S> lambda) {
    const auto b = static_cast<std::size_t>(ll_sampler_.batch_size());
    Vector<S>& adjoint = r_.v;
    adjoint = g_w_;
    for (int i = r_.ll_steps - 1; i >= 0; --i) {
      const Batch zeta(trajectory_ids_.data() + static_cast<std::size_t>(i) * b, b);
      const S eta = trajectory_steps_[static_cast<std::size_t>(i)];
      oracle.map_vjp_lambda(trajectory_.col(i), lambda, adjoint, zeta, tmp_lambda_);
      r_.hypergradient += eta * tmp_lambda_;
      oracle.map_vjp_w(trajectory_.col(i), lambda, adjoint, zeta, tmp_w_);
      adjoint = (S(1) - eta) * adjoint + eta * tmp_w_;
    }
  }

  const P& p_;
  EstimatorOptions o_;
  MinibatchSampler ll_sampler_, ls_sampler_, outer_sampler_, cross_sampler_, ls_outer_sampler_;
  SampleTrace* trace_ = nullptr;
  Vector<S> w0_;
  HypergradientResult<S> r_;
  Vector<S> tmp_w_, tmp_w2_, g_w_, tmp_lambda_;
  ConjugateGradientWork<S> cg_;  // ls.method = cg
  Matrix<S> trajectory_;                 // column i = w_i (reverse mode)
  std::vector<SampleId> trajectory_ids_;  // zeta_i, batch_size ids per step
  std::vector<S> trajectory_steps_;      // eta_i
};

}  // namespace bilevel
