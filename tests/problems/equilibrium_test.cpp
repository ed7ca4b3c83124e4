// Equilibrium models on real Fashion-MNIST images (the fixture): the oracles of a minibatch of examples
// against finite differences in double, the contraction bound, the separable estimator against the
// derivative of the accurately solved f, its unbiasedness over examples, and the per-example warm start.
#include "bilevel/problems/equilibrium.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "bilevel/estimators/separable_estimator.hpp"
#include "bilevel/methods/engine.hpp"
#include "bilevel/methods/outer_loop.hpp"
#include "bilevel/problems/contraction.hpp"
#include "bilevel/problems/finite_difference.hpp"
#include "problem_fixtures.hpp"

namespace bilevel {
namespace equilibrium_test {

using namespace testing;

static_assert(SeparableProblem<Equilibrium<double>>);
static_assert(BilevelProblem<BlockBatchView<Equilibrium<double>>>);

Equilibrium<double> problem(Index hidden = 8) {
  const FixtureSplits s = fixture_splits();
  EquilibriumOptions o;
  o.hidden = hidden;
  return Equilibrium<double>(s.train, s.validation, s.test, o);
}

// A feasible lambda large enough that tanh is far from linear.
Vector<double> point(const Equilibrium<double>& p, std::uint64_t seed = 2) {
  Vector<double> l = random_vector(p.dim_lambda(), 0.3, seed);
  p.constraint().project(l);
  return l;
}

TEST(Equilibrium, OraclesOfAMinibatchPassFiniteDifferences) {
  const auto p = problem();
  expect_block_oracles_pass_finite_differences(p, {3, 17, 42, 99, 17}, point(p));
}

// At h = 160 on all 100 training examples every product of the hot path has more than 100^3
// multiply-adds (A Z, A^T G, B X^T, and the cross term's chunks of 68 columns: 160 x 68 x 100), so in
// the default build they run through OpenBLAS (core/blas.hpp) with its transposed and strided operands.
// lambda at the scale 0.05, where B x (784 inputs) stays in tanh's curved range: at point()'s 0.3 the
// pre-activations are large, and central differences of map_vjp_lambda carry errors of 1e-6 (the same
// with Eigen's products alone).
TEST(Equilibrium, OraclesOfTheLargeProductsPassFiniteDifferences) {
  const auto p = problem(160);
  Vector<double> lambda = random_vector(p.dim_lambda(), 0.05, 2);
  p.constraint().project(lambda);
  expect_block_oracles_pass_finite_differences(p, {3, 17, 42, 99, 17}, lambda);
}

// The input injection B X^T + c is kept between calls at one (B, c, batch), and the Jacobian's mask
// 1 - tanh(A z + B x + c)^2 at one (A, B, c, states, batch): whatever was asked before, every oracle must
// equal that of a fresh instance called for it alone (which computes both anew), bit for bit, whether
// only A, only B, only c, only the batch or only the states (in the same memory) changed.
TEST(Equilibrium, TheKeptInjectionAndMaskGiveWhatAFreshInstanceComputes) {
  const auto p = problem();
  const Index h = p.block_dim(), k = p.num_classes();
  const Index features = (p.dim_lambda() - h * h - h - k * h - k) / h;  // lambda = (A, B, c, C, d)
  const Vector<double> lambda = point(p);
  auto changed = [&](Index offset, Index size) {
    Vector<double> l = lambda;
    l.segment(offset, size) += random_vector(size, 0.01, 5 + static_cast<std::uint64_t>(offset));
    return l;
  };
  const Vector<double> new_a = changed(0, h * h), new_b = changed(h * h, h * features),
                       new_c = changed(h * h + h * features, h);
  const std::vector<SampleId> batch{3, 17, 42}, other{3, 17, 43};
  Vector<double> w = random_vector(h * 3, 0.5, 6);
  const Vector<double> u = random_vector(h * 3, 1.0, 7);
  struct Out {
    Vector<double> map, vjp_w, vjp_lambda;
    bool operator==(const Out&) const = default;
  };
  auto oracles = [&](const Equilibrium<double>& q, const Vector<double>& l, Batch b) {
    Out o{Vector<double>(h * 3), Vector<double>(h * 3), Vector<double>(q.dim_lambda())};
    q.map(w, l, b, o.map);
    q.map_vjp_w(w, l, u, b, o.vjp_w);
    q.map_vjp_lambda(w, l, u, b, o.vjp_lambda);
    return o;
  };
  auto fresh = [&](const Vector<double>& l, Batch b) {  // one new instance per oracle: nothing kept
    Out o{Vector<double>(h * 3), Vector<double>(h * 3), Vector<double>(p.dim_lambda())};
    problem().map(w, l, b, o.map);
    problem().map_vjp_w(w, l, u, b, o.vjp_w);
    problem().map_vjp_lambda(w, l, u, b, o.vjp_lambda);
    return o;
  };
  const Out first = oracles(p, lambda, batch);
  EXPECT_EQ(first, fresh(lambda, batch));
  for (const auto& [l, b] : {std::pair{&new_a, &batch}, std::pair{&new_b, &batch}, std::pair{&new_c, &batch},
                             std::pair{&lambda, &other}, std::pair{&lambda, &batch}})
    EXPECT_EQ(oracles(p, *l, *b), fresh(*l, *b));
  EXPECT_EQ(oracles(p, lambda, batch), first);
  EXPECT_FALSE(oracles(p, new_c, batch) == first);  // the changes matter
  // The states change where they are: the mask kept for the old ones must not be used.
  Vector<double> vjp_w(h * 3), vjp_lambda(p.dim_lambda());
  p.map_vjp_w(w, lambda, u, batch, vjp_w);
  w(1) += 0.25;
  p.map_vjp_lambda(w, lambda, u, batch, vjp_lambda);
  EXPECT_EQ(vjp_lambda, fresh(lambda, batch).vjp_lambda);
  p.map_vjp_w(w, lambda, u, batch, vjp_w);
  EXPECT_EQ(vjp_w, fresh(lambda, batch).vjp_w);
  EXPECT_FALSE(vjp_w == first.vjp_w);
}

// Ids come from samplers, traces and resumed states: one past the training examples is an error naming
// the problem, whichever oracle meets it first, and it leaves no kept injection behind.
TEST(Equilibrium, AnExampleIdPastTheTrainingSetIsAnError) {
  const auto p = problem();
  const Index h = p.block_dim(), n = p.num_blocks();
  const Vector<double> lambda = point(p), w = random_vector(h * 2, 0.5, 6);
  const std::vector<SampleId> bad{3, static_cast<SampleId>(n)}, good{3, 4};
  Vector<double> out(h * 2), grad(p.dim_lambda());
  const std::string message = "equilibrium: sample id " + std::to_string(n) + " outside the " + std::to_string(n) + " examples";
  auto expect_error = [&](auto&& call) {
    try {
      call();
      ADD_FAILURE() << "no error for id " << n;
    } catch (const InvalidOptions& e) {
      EXPECT_EQ(std::string(e.what()), message);
    }
  };
  expect_error([&] { p.map(w, lambda, bad, out); });
  expect_error([&] { p.map_vjp_lambda(w, lambda, w, bad, grad); });
  expect_error([&] { p.outer(w, lambda, bad, nullptr, nullptr); });
  p.map(w, lambda, good, out);  // a good batch afterwards is computed as by a fresh instance
  Vector<double> fresh(h * 2);
  problem().map(w, lambda, good, fresh);
  EXPECT_EQ(out, fresh);
}

TEST(Equilibrium, TheMapContractsWithTheRadiusOfAAsBound) {
  const auto p = problem();
  BlockBatchView<Equilibrium<double>> view(p);
  view.set_blocks(all_ids(p.num_blocks()));
  const Vector<double> lambda = point(p);
  const Vector<double> w = random_vector(view.dim_w(), 0.5, 3);
  const std::vector<SampleId> one{0};
  const double q = estimate_contraction(view, w, lambda, one);
  EXPECT_LE(q, p.options().radius + 1e-9);
  EXPECT_GT(q, 0.05);  // not trivially zero
  // The projection holds A to the radius and C to [-1, 1].
  Vector<double> wild = random_vector(p.dim_lambda(), 5.0, 4);
  p.constraint().project(wild);
  EXPECT_TRUE(p.constraint().contains(wild, 1e-9));
  const Index h = p.block_dim();
  EXPECT_NEAR(spectral_norm<double>(Eigen::Map<const Matrix<double>>(wild.data(), h, h)), 0.5, 1e-9);
  EXPECT_TRUE(p.constraint().contains(p.initial_lambda(), 0));
}

TEST(Equilibrium, HypergradientOfAllExamplesIsTheDerivativeOfTheAccuratelySolvedObjective) {
  const auto p = problem();
  // Deterministic AID: t = k = 100 fixed-point steps, q <= 0.5.
  expect_hypergradient_is_the_derivative_of_the_objective(p, point(p), EstimatorOptions{});
  // Every example drawn once: one epoch of samples.
  SeparableHypergradientEstimator<Equilibrium<double>> estimator(p, EstimatorOptions{});
  EstimatorState<double> state;
  EstimatorStreams streams(0);
  OracleCounts counts;
  estimator.compute(point(p), state, streams, counts);
  EXPECT_EQ(counts.samples(), p.num_blocks());
}

TEST(Equilibrium, MeanOfSingleExampleHypergradientsIsTheFullOne) {
  const auto p = problem();
  const Vector<double> lambda = point(p);
  EstimatorOptions o;
  o.ll.iterations = o.ls.iterations = 60;
  BlockBatchView<Equilibrium<double>> view(p);
  view.set_blocks(all_ids(p.num_blocks()));
  HypergradientEstimator<BlockBatchView<Equilibrium<double>>> full(view, o);
  EstimatorState<double> state;
  EstimatorStreams streams(0);
  OracleCounts counts;
  const Vector<double> h_full = full.compute(lambda, state, streams, counts).hypergradient;
  Vector<double> mean = Vector<double>::Zero(p.dim_lambda());
  for (SampleId i = 0; i < static_cast<SampleId>(p.num_blocks()); ++i) {
    const std::vector<SampleId> one{i};
    BlockBatchView<Equilibrium<double>> v(p);
    v.set_blocks(one);
    HypergradientEstimator<BlockBatchView<Equilibrium<double>>> e(v, o);
    EstimatorState<double> s;
    mean += e.compute(lambda, s, streams, counts).hypergradient / static_cast<double>(p.num_blocks());
  }
  EXPECT_LE((mean - h_full).norm(), 1e-10 * h_full.norm());
}

// Drawn with replacement, a minibatch holds examples twice, and the warm-start stores must keep the
// states computed for each one's last copy; without replacement, distinct examples, which a batch of
// several chunks scatters in parallel (Threads.EquilibriumWithItsWarmStartStoreIsTheSameAtOneAndTwoThreads
// runs such batches). Either way the stores are the same bits at one and two threads.
TEST(Equilibrium, WarmStartStoresKeepEachExamplesLastCopyAtOneAndTwoThreads) {
  const auto p = problem();
  const Vector<double> lambda = point(p);
  const Index h = p.block_dim();
  struct Blocks : SampleTrace {
    std::vector<SampleId> last;
    void drawn(const char*, Batch ids, bool) override { last.assign(ids.begin(), ids.end()); }
  };
  for (const Sampling sampling : {Sampling::kWithReplacement, Sampling::kWithoutReplacement}) {
    std::vector<EstimatorState<double>> states;
    for (const int threads : {1, 2}) {
      const ScopedThreadCount at(threads);
      EstimatorOptions o;
      o.ll.iterations = o.ls.iterations = 3;
      o.ll.warm_start = o.ls.warm_start = true;
      o.outer_batch_size = 100;  // of the fixture's 102 examples: with replacement, repeats
      o.outer_sampling = sampling;
      SeparableHypergradientEstimator<Equilibrium<double>> estimator(p, o);
      Blocks blocks;
      estimator.trace_samples(&blocks);
      EstimatorState<double> state;
      EstimatorStreams streams(3);
      OracleCounts counts;
      for (int s = 0; s < 3; ++s) {
        const auto& r = estimator.compute(lambda, state, streams, counts);
        const std::set<SampleId> distinct(blocks.last.begin(), blocks.last.end());
        ASSERT_EQ(distinct.size() < blocks.last.size(), sampling == Sampling::kWithReplacement);
        for (std::size_t i = 0; i < blocks.last.size(); ++i) {
          const auto id = static_cast<Index>(blocks.last[i]);
          if (std::find(blocks.last.begin() + static_cast<std::ptrdiff_t>(i) + 1, blocks.last.end(), blocks.last[i]) !=
              blocks.last.end())
            continue;  // not the last copy
          ASSERT_EQ(state.w.segment(id * h, h), r.w.segment(static_cast<Index>(i) * h, h)) << i;
          ASSERT_EQ(state.v.segment(id * h, h), r.v.segment(static_cast<Index>(i) * h, h)) << i;
        }
      }
      states.push_back(state);
    }
    EXPECT_EQ(states[0].w, states[1].w);
    EXPECT_EQ(states[0].v, states[1].v);
  }
}

TEST(Equilibrium, WarmStartKeepsOneStatePerExampleAndOnlyTheDrawnOnesMove) {
  const auto p = problem();
  const Vector<double> lambda = point(p);
  EstimatorOptions o;
  o.ll.iterations = 3;
  o.ls.iterations = 3;
  o.ll.warm_start = true;
  o.outer_batch_size = 10;
  SeparableHypergradientEstimator<Equilibrium<double>> estimator(p, o);
  EstimatorState<double> state;
  EstimatorStreams streams(1);
  OracleCounts counts;
  estimator.compute(lambda, state, streams, counts);
  const Index h = p.block_dim();
  ASSERT_EQ(state.w.size(), p.num_blocks() * h);
  EXPECT_EQ(state.memory_bytes(), static_cast<std::size_t>(p.num_blocks() * h) * sizeof(double));
  Index moved = 0;
  for (Index i = 0; i < p.num_blocks(); ++i) moved += state.w.segment(i * h, h).norm() > 0;
  EXPECT_EQ(moved, 10);
  // Warm-started blocks get closer to their fixed points with every visit: after many calls the
  // stored states of the visited examples solve their LL far better than 3 cold steps do.
  for (int s = 0; s < 200; ++s) estimator.compute(lambda, state, streams, counts);
  BlockBatchView<Equilibrium<double>> view(p);
  view.set_all_blocks();
  Vector<double> phi(view.dim_w());
  const std::vector<SampleId> one{0};
  view.map(state.w, lambda, one, phi);
  EXPECT_LT((phi - state.w).norm(), 1e-6 * state.w.norm());  // 200 x 10 draws cover all 100 examples
  EXPECT_EQ(counts.samples(), 201 * 10);
}

// prepare() sizes the store before the first hypergradient (the outer loop calls it before its clock):
// n zero states with warm start, nothing without, and the hypergradients are those of a lazy store.
TEST(Equilibrium, PreparingTheWarmStartStoreChangesNoResult) {
  const auto p = problem();
  const Vector<double> lambda = point(p);
  EstimatorOptions o;
  o.ll.iterations = o.ls.iterations = 3;
  o.ll.warm_start = true;
  o.outer_batch_size = 10;
  SeparableHypergradientEstimator<Equilibrium<double>> prepared(p, o), lazy(p, o);
  EstimatorState<double> a, b;
  prepared.prepare(a);
  ASSERT_EQ(a.w.size(), p.num_blocks() * p.block_dim());
  EXPECT_EQ(a.w.cwiseAbs().maxCoeff(), 0.0);
  EXPECT_EQ(a.v.size(), 0);  // ls.warm_start is off
  EstimatorStreams sa(4), sb(4);
  OracleCounts ca, cb;
  for (int s = 0; s < 3; ++s) {
    const Vector<double> ha = prepared.compute(lambda, a, sa, ca).hypergradient;
    const Vector<double> hb = lazy.compute(lambda, b, sb, cb).hypergradient;
    EXPECT_EQ(ha, hb) << "iteration " << s;
  }
  EXPECT_EQ(a.w, b.w);

  o.ll.warm_start = false;
  SeparableHypergradientEstimator<Equilibrium<double>> cold(p, o);
  EstimatorState<double> c;
  cold.prepare(c);
  EXPECT_EQ(c.memory_bytes(), 0u);
}

// A separable problem's samples are its blocks: the trace gets each hypergradient's minibatch of
// examples as "blocks", and their count is samples_ul.
TEST(Equilibrium, TheSampleTraceGetsEachMinibatchOfExamples) {
  const auto p = problem();
  EstimatorOptions o;
  o.ll.iterations = o.ls.iterations = 2;
  o.outer_batch_size = 7;
  SeparableHypergradientEstimator<Equilibrium<double>> estimator(p, o);
  struct Blocks final : SampleTrace {
    std::vector<std::vector<SampleId>> drawn_blocks;
    void drawn(const char* sampler, Batch ids, bool) override {
      EXPECT_STREQ(sampler, "blocks");
      drawn_blocks.emplace_back(ids.begin(), ids.end());
    }
  } trace;
  estimator.trace_samples(&trace);
  EstimatorState<double> state;
  EstimatorStreams streams(2);
  OracleCounts counts;
  for (int s = 0; s < 3; ++s) estimator.compute(point(p), state, streams, counts);
  ASSERT_EQ(trace.drawn_blocks.size(), 3u);
  for (const auto& b : trace.drawn_blocks) {
    EXPECT_EQ(b.size(), 7u);
    for (SampleId id : b) EXPECT_LT(id, static_cast<SampleId>(p.num_blocks()));
  }
  EXPECT_EQ(counts.samples_ul, 21);
  EXPECT_NE(trace.drawn_blocks[0], trace.drawn_blocks[1]);
}

TEST(Equilibrium, AShortRunLowersTheTrainingLossOfTheFixture) {
  const auto p = problem(16);
  EstimatorOptions o;
  o.ll.iterations = 3;
  o.ls.iterations = 3;
  o.ll.warm_start = true;
  o.outer_batch_size = 20;
  UpperLevelOptions ul;
  ul.step.step = 0.5;
  ul.max_iterations = 100;
  ul.eval_every = 0;
  EvaluationOptions ev;
  ev.iterations = 100;
  OuterLoop<Equilibrium<double>> loop(p, o, ul, 3, ev);
  const auto r = loop.run(p.initial_lambda());
  EXPECT_LT(r.last->evaluation.objective, 0.8 * r.first->evaluation.objective);
  EXPECT_TRUE(p.constraint().contains(r.lambda, 1e-9));
  EXPECT_GT(r.last->warm_start_bytes, 0u);
}

}  // namespace equilibrium_test
}  // namespace bilevel
