// The oracles that run over chunks of examples or tasks in parallel (core/parallel.hpp): the chunking,
// the math of batches cut into several chunks (finite differences, and the per-example sums they must
// equal), and bit-identical results at one and two threads.
#include <gtest/gtest.h>

#include <bit>
#include <span>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "bilevel/core/parallel.hpp"
#include "bilevel/problems/data_poisoning.hpp"
#include "bilevel/problems/equilibrium.hpp"
#include "bilevel/problems/finite_difference.hpp"
#include "bilevel/problems/hyper_cleaning.hpp"
#include "bilevel/problems/linear_softmax.hpp"
#include "bilevel/problems/logistic_ho.hpp"
#include "bilevel/problems/meta_learning.hpp"
#include "problem_fixtures.hpp"

namespace bilevel {
namespace parallel_oracles_test {

using namespace testing;

// f's result at `threads` threads.
template <class F>
auto at_threads(int threads, F&& f) {
  const ScopedThreadCount scoped(threads);
  return f();
}

TEST(RowChunks, CoverEveryRowOnceWithBoundedCountAndSize) {
  for (Index n : {0, 1, 63, 64, 127, 128, 200, 1000, 4097, 60000}) {
    SCOPED_TRACE(n);
    const RowChunks c = row_chunks(n);
    EXPECT_GE(c.count, 1);
    EXPECT_LE(c.count, kMaxChunks);
    Index covered = 0;
    for (Index k = 0; k < c.count; ++k) {
      EXPECT_EQ(c.begin(k), covered);
      EXPECT_GT(c.length(k), n == 0 ? -1 : 0);
      if (c.count > 1) {
        EXPECT_GE(c.length(k), kMinChunkRows / 2);  // the last chunk may be shorter
      }
      covered += c.length(k);
    }
    EXPECT_EQ(covered, n);
    EXPECT_TRUE(std::has_single_bit(static_cast<std::size_t>(c.count))) << c.count;  // equal shares for 2, 4, 8, 16 threads
  }
  EXPECT_EQ(row_chunks(600).count, 8);  // not 9: two threads take four each
  EXPECT_EQ(chunks_of(984, kMinChunkRows).count, 8);  // equilibrium's cross term, h + p columns at h = 200
  EXPECT_EQ(row_chunks(60000).count, kMaxChunks);
  EXPECT_EQ(row_chunks(200).count, 2);  // the fixture's 200 rows are cut: the tests below use several chunks
}

TEST(RowChunks, AnExceptionInAChunkReachesTheCaller) {
  const ScopedThreadCount two(2);
  const RowChunks c = row_chunks(1000);
  EXPECT_THROW(for_each_chunk(c, [](Index k, Index, Index) {
                 if (k == 5) throw std::runtime_error("chunk 5");
               }),
               std::runtime_error);
}

// The softmax loss, gradient and Hessian-vector product of the first n rows (200: 2 chunks; 64 and 100:
// the two chunks the softmax kernels give a batch of 64 to 127 rows) against the sums of their one-row
// values, and identical bits at one and two threads; the gradient also into a block of a larger matrix
// (an outer stride other than its rows).
TEST(ParallelOracles, SoftmaxKernelsOfSeveralChunksAreTheMeanOfTheirRows) {
  EXPECT_EQ(softmax::softmax_chunks(63).count, 1);
  EXPECT_EQ(softmax::softmax_chunks(64).count, 2);
  EXPECT_EQ(softmax::softmax_chunks(127).count, 2);
  EXPECT_EQ(softmax::softmax_chunks(200).count, row_chunks(200).count);
  const Dataset d = fashion200();
  const Index c = d.num_classes;
  for (Index n : {200, 64, 100}) {
    SCOPED_TRACE(n);
    const RowMatrix<double> x = d.x.topRows(n).cast<double>();
    const Vector<double> wv = random_vector(x.cols() * c, 0.05, 1), uv = random_vector(x.cols() * c, 1.0, 2);
    const softmax::ConstWeights<double> w(wv.data(), x.cols(), c), u(uv.data(), x.cols(), c);
    const std::span<const std::int32_t> y = std::span<const std::int32_t>(d.y).first(static_cast<std::size_t>(n));

    struct Out {
      double loss;
      Matrix<double> grad, residual, hvp;
    };
    auto compute = [&] {
      Out o{0, Matrix<double>(x.cols(), c), Matrix<double>(x.rows(), c), Matrix<double>(x.cols(), c)};
      softmax::MatrixOut<double> grad(o.grad), residual(o.residual);
      o.loss = softmax::loss_and_grad<double>(x, y, w, &grad, &residual);
      softmax::hessian_vector<double>(x, y, w, u, o.hvp);
      return o;
    };
    const Out one = at_threads(1, compute), two = at_threads(2, compute);
    EXPECT_EQ(one.loss, two.loss);
    EXPECT_TRUE(one.grad == two.grad);
    EXPECT_TRUE(one.residual == two.residual);
    EXPECT_TRUE(one.hvp == two.hvp);

    Matrix<double> larger = Matrix<double>::Zero(x.cols() + 3, c + 1);
    softmax::MatrixOut<double> block(larger.block(1, 1, x.cols(), c));
    softmax::loss_and_grad<double>(x, y, w, &block);
    EXPECT_TRUE(larger.block(1, 1, x.cols(), c) == one.grad);
    EXPECT_EQ(larger.col(0).norm() + larger.row(0).norm() + larger.bottomRows(2).norm(), 0.0);

    double loss = 0;
    Matrix<double> grad = Matrix<double>::Zero(x.cols(), c), hvp = grad;
    for (Index i = 0; i < x.rows(); ++i) {
      Matrix<double> g(x.cols(), c), h(x.cols(), c), r(1, c);
      softmax::MatrixOut<double> g_out(g), r_out(r);
      loss += softmax::loss_and_grad<double>(x.middleRows(i, 1), y.subspan(i, 1), w, &g_out, &r_out);
      softmax::hessian_vector<double>(x.middleRows(i, 1), y.subspan(i, 1), w, u, h);
      grad += g;
      hvp += h;
      EXPECT_LT((r - one.residual.row(i)).norm(), 1e-15);
    }
    const double rows = static_cast<double>(x.rows());
    EXPECT_NEAR(one.loss, loss / rows, 1e-13);
    EXPECT_LT((one.grad - grad / rows).norm(), 1e-13 * grad.norm() / rows);
    EXPECT_LT((one.hvp - hvp / rows).norm(), 1e-13 * hvp.norm() / rows);
  }
}

// A minibatch of `count` <= 200 of the 200 fixture images, (37 i) mod 200 for i < count: distinct ids
// (37 and 200 are coprime) in no order, so that its rows are gathered rather than a block.
std::vector<SampleId> scattered_ids(SampleId count) {
  std::vector<SampleId> ids;
  for (SampleId i = 0; i < count; ++i) ids.push_back((i * 37) % 200);
  return ids;
}

// logistic-ho with all 200 fixture images as training set: its oracles on the full batch (2 chunks)
// pass finite differences.
TEST(ParallelOracles, LogisticHoOraclesOfSeveralChunksPassFiniteDifferences) {
  const FixtureSplits s = fixture_splits();
  const LogisticHO<double> p(fashion200(), s.validation, s.test);
  const std::vector<SampleId> all = all_ids(p.ll_population()), val = all_ids(p.ul_population());
  const auto report = check_minimization_oracles(p, random_vector(p.dim_w(), 0.05, 3),
                                                 random_vector(p.dim_lambda(), 0.5, 4), all, val);
  EXPECT_TRUE(report.passed()) << report.summary();
}

// logistic-ho and hyper-cleaning keep P = softmax(X W) of their last Hessian-vector product
// (softmax::KeptProbabilities) for the next one at the same W and batch. Every product, found or
// computed, has the bits of a fresh problem's: at the same W and batch with another direction; after
// one entry of W changed in place (the same memory, as a solver's steps change it); after one id of
// the batch changed; and alternating between a minibatch and the full batch, at one and two threads.
// A P kept for the old W or batch would give that W's or batch's products.
template <class Make>
void expect_kept_probabilities_give_a_fresh_problems_bits(Make make, const Vector<double>& lambda) {
  const auto reference = make();
  const Index dim = reference.dim_w();
  const Vector<double> u1 = random_vector(dim, 1.0, 11), u2 = random_vector(dim, 1.0, 12);
  std::vector<SampleId> minibatch = scattered_ids(150);
  const std::vector<SampleId> all = all_ids(reference.ll_population());
  auto hvp = [&](const auto& p, const Vector<double>& w, const Vector<double>& u, Batch batch) {
    Vector<double> out(dim);
    p.ll_hvp(w, lambda, u, batch, out);
    return out;
  };
  for (const int threads : {1, 2}) {
    SCOPED_TRACE(threads);
    const ScopedThreadCount at(threads);
    const auto p = make();
    Vector<double> w = random_vector(dim, 0.05, 13);
    EXPECT_EQ(hvp(p, w, u1, minibatch), hvp(make(), w, u1, minibatch));
    const Vector<double> found = hvp(p, w, u2, minibatch);
    EXPECT_EQ(found, hvp(make(), w, u2, minibatch));
    w(3 * 784 + 14 * 28 + 14) += 0.25;  // the centre pixel's weight of class 3 (the corners are 0 in every image)
    const Vector<double> after_w = hvp(p, w, u2, minibatch);
    EXPECT_EQ(after_w, hvp(make(), w, u2, minibatch));
    EXPECT_NE(after_w, found);
    minibatch.back() = minibatch.back() == 1 ? 8 : 1;  // 1 and 8 are not among (37 i) mod 200, i < 150
    const Vector<double> after_batch = hvp(p, w, u2, minibatch);
    EXPECT_EQ(after_batch, hvp(make(), w, u2, minibatch));
    EXPECT_NE(after_batch, after_w);
    for (int round = 0; round < 2; ++round) {
      EXPECT_EQ(hvp(p, w, u1, all), hvp(make(), w, u1, all));
      EXPECT_EQ(hvp(p, w, u2, all), hvp(make(), w, u2, all));
      EXPECT_EQ(hvp(p, w, u1, minibatch), hvp(make(), w, u1, minibatch));
    }
  }
}

TEST(ParallelOracles, LogisticHoKeptProbabilitiesGiveAFreshProblemsBits) {
  const FixtureSplits s = fixture_splits();
  expect_kept_probabilities_give_a_fresh_problems_bits(
      [&] { return LogisticHO<double>(fashion200(), s.validation, s.test); }, random_vector(784, 0.5, 14));
}

TEST(ParallelOracles, HyperCleaningKeptProbabilitiesGiveAFreshProblemsBits) {
  const FixtureSplits s = fixture_splits();
  Dataset train = fashion200();
  const std::vector<bool> corrupted = corrupt_labels(train, 0.4, 3);
  expect_kept_probabilities_give_a_fresh_problems_bits(
      [&] { return HyperCleaning<double>(train, corrupted, s.validation, s.test); }, random_vector(200, 1.0, 14));
}

// data-poisoning with all 200 fixture images as training set, the first 150 poisoned: the noisy copies
// of the poisoned rows are built in 2 chunks, and the softmax kernels read them beside the clean rows
// in place. Its oracles on the full batch and on a minibatch of 130 in no order (poisoned and clean ids
// mixed) pass finite differences and give the same bits at one and two threads.
TEST(ParallelOracles, DataPoisoningOfSeveralChunksPassesFiniteDifferencesWithTheSameBitsAtOneAndTwoThreads) {
  const FixtureSplits s = fixture_splits();
  const DataPoisoning<double> p(fashion200(), 150, s.validation, s.test);
  Vector<double> lambda = random_vector(p.dim_lambda(), 0.1, 8);
  p.constraint().project(lambda);
  const Vector<double> w = random_vector(p.dim_w(), 0.05, 9), u = random_vector(p.dim_w(), 1.0, 10);
  const std::vector<SampleId> minibatch = scattered_ids(130);
  const std::vector<SampleId> all = all_ids(p.ll_population()), val = all_ids(p.ul_population());
  for (const std::vector<SampleId>& batch : {all, minibatch}) {
    const auto report = check_minimization_oracles(p, w, lambda, batch, val);
    EXPECT_TRUE(report.passed()) << report.summary();
    auto compute = [&] {
      std::vector<Vector<double>> out(4);
      out[0] = Vector<double>::Constant(1, p.ll_value(w, lambda, batch));
      out[1].resize(p.dim_w());
      p.ll_grad(w, lambda, batch, out[1]);
      out[2].resize(p.dim_w());
      p.ll_hvp(w, lambda, u, batch, out[2]);
      out[3].resize(p.dim_lambda());
      p.ll_mixed_vjp(w, lambda, u, batch, out[3]);
      return out;
    };
    EXPECT_EQ(at_threads(1, compute), at_threads(2, compute));
  }
}

// The results of the five oracles of a separable problem on `blocks`: map, map_vjp_w, map_vjp_lambda,
// outer's grad_w and grad_lambda, and outer's value.
template <SeparableProblem P>
std::vector<Vector<double>> block_oracles(const P& p, const Vector<double>& w, const Vector<double>& u,
                                          const Vector<double>& lambda, Batch blocks) {
  std::vector<Vector<double>> out(5);
  out[0].resize(w.size());
  p.map(w, lambda, blocks, out[0]);
  out[1].resize(w.size());
  p.map_vjp_w(w, lambda, u, blocks, out[1]);
  out[2].resize(p.dim_lambda());
  p.map_vjp_lambda(w, lambda, u, blocks, out[2]);
  const double e = p.outer(w, lambda, blocks, &out[3], &out[4]);
  out.push_back(Vector<double>::Constant(1, e));
  return out;
}

Equilibrium<double> equilibrium200() {
  const FixtureSplits s = fixture_splits();
  EquilibriumOptions o;
  o.hidden = 8;
  return Equilibrium<double>(fashion200(), s.validation, s.test, o);
}

Vector<double> equilibrium_point(const Equilibrium<double>& p) {
  Vector<double> l = random_vector(p.dim_lambda(), 0.3, 2);
  p.constraint().project(l);
  return l;
}

// Equilibrium with 200 training examples: the oracles of all of them (2 chunks of the training matrix)
// and of a minibatch of 150 in no order (2 chunks, gathered) pass finite differences.
TEST(ParallelOracles, EquilibriumOraclesOfSeveralChunksPassFiniteDifferences) {
  const auto p = equilibrium200();
  const std::vector<SampleId> minibatch = scattered_ids(150);
  expect_block_oracles_pass_finite_differences(p, minibatch, equilibrium_point(p));
}

// Every equilibrium oracle and the metrics (which solve the validation and test fixed points chunk by
// chunk) give the same bits at one and two threads.
TEST(ParallelOracles, EquilibriumGivesTheSameBitsAtOneAndTwoThreads) {
  const auto p = equilibrium200();
  const Vector<double> lambda = equilibrium_point(p);
  const std::vector<SampleId> minibatch = scattered_ids(150);
  for (const std::vector<SampleId>& blocks : {minibatch, all_ids(200)}) {
    const Index dim_w = static_cast<Index>(blocks.size()) * p.block_dim();
    const Vector<double> w = random_vector(dim_w, 0.5, 5), u = random_vector(dim_w, 1.0, 6);
    auto compute = [&] { return block_oracles(p, w, u, lambda, blocks); };
    EXPECT_EQ(at_threads(1, compute), at_threads(2, compute));
  }
  const Vector<double> w_all = random_vector(200 * p.block_dim(), 0.5, 7);
  auto metrics = [&] { return p.metrics(lambda, w_all); };
  EXPECT_EQ(at_threads(1, metrics), at_threads(2, metrics));
}

// prefetch (the next minibatch's input injection, computed while the outer loop projects lambda)
// changes no oracle's bits: after a prefetch at the lambda the UL step leaves (A and C not yet
// projected), for the oracles' batch or another one, and beside the projection on the other thread.
TEST(ParallelOracles, EquilibriumPrefetchChangesNoBits) {
  const auto reference = equilibrium200();
  const Index h = reference.block_dim(), k = reference.num_classes(), dim = reference.dim_lambda();
  Vector<double> stepped = equilibrium_point(reference);
  stepped.head(h * h) *= 3.0;                     // A, outside the spectral-norm ball
  stepped.segment(dim - k - k * h, k * h) *= 9.0;  // C, outside its box
  Vector<double> projected = stepped;
  reference.constraint().project(projected);
  ASSERT_NE(projected, stepped);
  std::vector<SampleId> minibatch = scattered_ids(150);
  std::vector<SampleId> other;
  for (SampleId i = 0; i < 150; ++i) other.push_back((i * 11 + 3) % 200);
  const Index dim_w = static_cast<Index>(minibatch.size()) * h;
  const Vector<double> w = random_vector(dim_w, 0.5, 5), u = random_vector(dim_w, 1.0, 6);
  const auto expected = block_oracles(reference, w, u, projected, minibatch);
  for (const auto* prefetched : {&minibatch, &other}) {
    const auto p = equilibrium200();
    p.prefetch(stepped, *prefetched);
    EXPECT_EQ(block_oracles(p, w, u, projected, minibatch), expected);
  }
  for (const int threads : {1, 2}) {
    const ScopedThreadCount at(threads);
    const auto p = equilibrium200();
    Vector<double> lambda = stepped;
    run_beside([&] { p.constraint().project(lambda); }, [&] { p.prefetch(lambda, minibatch); });
    EXPECT_EQ(lambda, projected);
    EXPECT_EQ(block_oracles(p, w, u, lambda, minibatch), expected) << threads << " threads";
  }
}

// A hold (LambdaHold: the estimator's promise that lambda stays as it is until released) changes no
// oracle's bits, and after the release a lambda changed in place (by `change`), as the UL step changes
// it, is compared again: the caches do not keep trusting the keys of the hold.
template <class Make, class Change>
void expect_hold_changes_no_bits_and_a_changed_lambda_is_compared_again(Make make, Vector<double> lambda,
                                                                         std::span<const SampleId> blocks, Change change) {
  const auto reference = make();
  using P = std::decay_t<decltype(reference)>;
  const Index dim_w = static_cast<Index>(blocks.size()) * reference.block_dim();
  const Vector<double> w = random_vector(dim_w, 0.5, 5), u = random_vector(dim_w, 1.0, 6);
  const auto before = block_oracles(reference, w, u, lambda, blocks);
  const auto p = make();
  {
    const LambdaHold<P> hold(p, lambda);
    EXPECT_EQ(block_oracles(p, w, u, lambda, blocks), before);
    EXPECT_EQ(block_oracles(p, w, u, lambda, blocks), before);  // from the keys checked in the hold
  }
  change(lambda);
  const auto after = block_oracles(make(), w, u, lambda, blocks);
  ASSERT_NE(after, before);
  EXPECT_EQ(block_oracles(p, w, u, lambda, blocks), after);
  const LambdaHold<P> hold(p, lambda);
  EXPECT_EQ(block_oracles(p, w, u, lambda, blocks), after);
}

TEST(ParallelOracles, EquilibriumHoldChangesNoBitsAndALambdaChangedAfterItIsComparedAgain) {
  const auto reference = equilibrium200();
  const Index h = reference.block_dim();
  expect_hold_changes_no_bits_and_a_changed_lambda_is_compared_again(
      equilibrium200, equilibrium_point(reference), scattered_ids(150), [&](Vector<double>& lambda) {
        lambda.head(h * h) *= 0.5;                     // A
        lambda.segment(h * h, 3 * h).array() += 0.01;  // the first columns of B
      });
}

// Equilibrium keeps the Jacobian's mask chunk by chunk of the batch, each chunk keyed by its own
// states: a state changed in one chunk (in the same memory, as the estimator's steps change w) must
// remake that chunk's columns, whichever chunk it is, at one and two threads.
TEST(ParallelOracles, EquilibriumRemakesTheMaskOfTheChunkWhoseStatesChanged) {
  const auto reference = equilibrium200();
  const Index h = reference.block_dim();
  const std::vector<SampleId> minibatch = scattered_ids(150);
  ASSERT_EQ(row_chunks(static_cast<Index>(minibatch.size())).count, 2);
  const Index dim_w = static_cast<Index>(minibatch.size()) * h;
  const Vector<double> lambda = equilibrium_point(reference), u = random_vector(dim_w, 1.0, 6);
  for (const int threads : {1, 2}) {
    const ScopedThreadCount at(threads);
    const auto p = equilibrium200();
    Vector<double> w = random_vector(dim_w, 0.5, 5);
    Vector<double> vjp_w(dim_w), vjp_lambda(p.dim_lambda());
    p.map_vjp_w(w, lambda, u, minibatch, vjp_w);
    for (const Index changed : {dim_w - 1, Index{3}, h * 80 + 7}) {  // chunk 1, chunk 0, chunk 1
      SCOPED_TRACE(changed);
      const Vector<double> before = vjp_w;
      w(changed) += 0.25;
      p.map_vjp_w(w, lambda, u, minibatch, vjp_w);
      p.map_vjp_lambda(w, lambda, u, minibatch, vjp_lambda);
      const auto fresh = block_oracles(equilibrium200(), w, u, lambda, minibatch);
      EXPECT_EQ(vjp_w, fresh[1]) << threads << " threads";
      EXPECT_EQ(vjp_lambda, fresh[2]) << threads << " threads";
      EXPECT_NE(vjp_w, before);
    }
  }
}

// Meta-learning with 40 tasks of 6 support and 6 query images from the 200 fixture images, and a
// batch of 30 distinct ones of them: 2 chunks of tasks, 2 chunks of rows (180 support and 180 query
// rows) in the network, 12 chunks of the first layer's weight-gradient columns.
MetaLearning<double> meta_learning200() {
  const FixtureSplits s = fixture_splits();
  MetaLearningOptions o;
  o.layers = {16, 8};
  o.shape = {3, 2, 2};
  o.train_tasks = 40;
  o.metric_tasks = 3;
  return MetaLearning<double>(fashion200(), s.validation, s.test, o);
}

std::vector<SampleId> thirty_of_forty_tasks() {
  std::vector<SampleId> blocks;
  for (SampleId i = 0; i < 30; ++i) blocks.push_back((i * 7) % 40);
  return blocks;
}

TEST(ParallelOracles, MetaLearningCutsItsBatchIntoSeveralChunks) {
  EXPECT_EQ(chunks_of(30, (kMinChunkRows + 5) / 6).count, 2);  // tasks of 6 support examples
  EXPECT_EQ(row_chunks(180).count, 2);
}

TEST(ParallelOracles, MetaLearningOraclesOfSeveralChunksPassFiniteDifferences) {
  const auto p = meta_learning200();
  // Near the initialisation: at meta_learning_test's saturated point, 40 tasks' sums of curvature put
  // the central differences' own error (about 1e-7) above the relative tolerance of small derivatives.
  const Vector<double> lambda = p.initial_lambda() + random_vector(p.dim_lambda(), 0.05, 2);
  expect_block_oracles_pass_finite_differences(p, thirty_of_forty_tasks(), lambda);
}

// Every meta-learning oracle and the metrics (the network on the query images of all tasks) give the
// same bits at one and two threads.
TEST(ParallelOracles, MetaLearningGivesTheSameBitsAtOneAndTwoThreads) {
  const auto p = meta_learning200();
  const Vector<double> lambda = random_vector(p.dim_lambda(), 0.2, 2) + p.initial_lambda() * 2.0;
  const std::vector<SampleId> blocks = thirty_of_forty_tasks();
  const Index dim_w = static_cast<Index>(blocks.size()) * p.block_dim();
  const Vector<double> w = random_vector(dim_w, 0.5, 5), u = random_vector(dim_w, 1.0, 6);
  auto compute = [&] {  // a fresh problem, with its own feature cache: each thread count runs the network
    return block_oracles(meta_learning200(), w, u, lambda, blocks);
  };
  EXPECT_EQ(at_threads(1, compute), at_threads(2, compute));
  const Vector<double> w_all = random_vector(40 * p.block_dim(), 0.5, 7);
  auto metrics = [&] { return meta_learning200().metrics(lambda, w_all); };
  EXPECT_EQ(at_threads(1, metrics), at_threads(2, metrics));
}

// All training tasks in order (as evaluation asks) run the network once per training image and add
// each image's cotangents before going back through it; any other batch runs it once per row of a
// task. Both must give the same oracles, to rounding: the same 40 tasks in reverse order take the
// second way. A slot map that sent one cotangent row to the wrong image fails this.
TEST(ParallelOracles, MetaLearningOnAllTasksRunsTheNetworkPerImageWithTheSameResults) {
  const auto p = meta_learning200();
  const Vector<double> lambda = random_vector(p.dim_lambda(), 0.2, 2) + p.initial_lambda() * 2.0;
  const std::vector<SampleId> all = all_ids(40);
  const std::vector<SampleId> reversed(all.rbegin(), all.rend());
  const Index b = p.block_dim(), dim_w = 40 * b;
  const Vector<double> w = random_vector(dim_w, 0.5, 5), u = random_vector(dim_w, 1.0, 6);
  auto reverse_blocks = [&](const Vector<double>& x) {
    Vector<double> r(x.size());
    for (Index j = 0; j < 40; ++j) r.segment((39 - j) * b, b) = x.segment(j * b, b);
    return r;
  };
  for (const int threads : {1, 2}) {
    const ScopedThreadCount at(threads);
    const auto pooled = block_oracles(meta_learning200(), w, u, lambda, all);
    const auto per_row = block_oracles(meta_learning200(), reverse_blocks(w), reverse_blocks(u), lambda, reversed);
    // map, map_vjp_w and outer's grad_w are per block; map_vjp_lambda, grad_lambda and the loss sums.
    for (const std::size_t k : {0, 1, 3}) {
      EXPECT_LE((pooled[k] - reverse_blocks(per_row[k])).norm(), 1e-12 * pooled[k].norm()) << "oracle " << k;
    }
    for (const std::size_t k : {2, 4, 5}) {
      EXPECT_LE((pooled[k] - per_row[k]).norm(), 1e-12 * pooled[k].norm()) << "oracle " << k;
      EXPECT_GT(pooled[k].norm(), 0) << "oracle " << k;
    }
  }
}

// Meta-learning's features (the network's activations) are kept by lambda and the tasks: the same
// under a hold, and recomputed for a lambda changed in place after it.
TEST(ParallelOracles, MetaLearningHoldChangesNoBitsAndALambdaChangedAfterItIsComparedAgain) {
  const auto reference = meta_learning200();
  expect_hold_changes_no_bits_and_a_changed_lambda_is_compared_again(
      meta_learning200, random_vector(reference.dim_lambda(), 0.2, 2) + reference.initial_lambda() * 2.0,
      thirty_of_forty_tasks(), [](Vector<double>& lambda) { lambda.tail(5).array() += 0.05; });  // the last layer
}

}  // namespace parallel_oracles_test
}  // namespace bilevel
