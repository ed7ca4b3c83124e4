// The hot loop allocates nothing: after a warm-up, an upper-level iteration (hypergradient estimate,
// step, projection) of every method preset on every problem (logistic-ho, equilibrium, data-poisoning,
// hyper-cleaning, meta-learning, hyper-representation and the quadratic test problems) makes no heap
// allocation.
//
// This executable counts them itself: it defines malloc and its relatives, which take precedence over
// the C library's (symbol interposition) and forward to glibc's __libc_* entry points. Every heap
// allocation goes through one of them: operator new, Eigen's aligned allocator, std::vector, libgomp.
// (Not built under the sanitizers, which interpose malloc themselves.)
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "bilevel/core/blas.hpp"
#include "bilevel/core/linalg.hpp"
#include "bilevel/core/parallel.hpp"
#include "bilevel/core/rng.hpp"
#include "bilevel/data/idx.hpp"
#include "bilevel/methods/outer_loop.hpp"
#include "bilevel/methods/presets.hpp"
#include "bilevel/problems/data_poisoning.hpp"
#include "bilevel/problems/equilibrium.hpp"
#include "bilevel/problems/hyper_cleaning.hpp"
#include "bilevel/problems/hyper_representation.hpp"
#include "bilevel/problems/logistic_ho.hpp"
#include "bilevel/problems/meta_learning.hpp"
#include "bilevel/problems/minimization_adapter.hpp"
#include "bilevel/problems/quadratic.hpp"

namespace {
std::atomic<std::int64_t> allocations{0};
}

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);

void* malloc(std::size_t n) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(n);
}
void* calloc(std::size_t count, std::size_t n) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_calloc(count, n);
}
void* realloc(void* p, std::size_t n) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_realloc(p, n);
}
void* aligned_alloc(std::size_t alignment, std::size_t n) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_memalign(alignment, n);
}
void* memalign(std::size_t alignment, std::size_t n) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_memalign(alignment, n);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t n) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  void* p = __libc_memalign(alignment, n);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
}

namespace bilevel {
namespace allocations_test {

// Records the allocation counter at the end of every upper-level iteration.
template <class S>
class AllocationLog final : public Callback<S> {
 public:
  AllocationLog() { marks.reserve(64); }  // so that recording a mark allocates nothing
  bool on_iteration(std::int64_t, const Vector<S>&, const OracleCounts&) override {
    marks.push_back(allocations.load());
    return false;
  }
  std::vector<std::int64_t> marks;
};

constexpr int kIterations = 10, kWarmUp = 4;

// Allocations of each upper-level iteration after the warm-up (the first kWarmUp size the warm-start
// states and stores, the samplers' permutations, the scratch memory and the thread team; BSGM's
// growing t and batches enlarge buffers in its first iterations). Without checkpoints in between
// (eval_every = 0), the difference of two marks is exactly one iteration.
template <class P>
std::vector<std::int64_t> allocations_per_iteration(const P& p, EstimatorOptions estimator, UpperLevelOptions ul,
                                                    const Vector<typename P::Scalar>& lambda) {
  using S = typename P::Scalar;
  ul.max_iterations = kIterations;
  ul.eval_every = 0;
  ul.max_samples = ul.max_example_evals = ul.max_oracle_calls = 0;
  ul.max_seconds = 0;
  EvaluationOptions evaluation;
  evaluation.at_start = false;
  evaluation.iterations = 20;  // the final checkpoint is outside the measured iterations
  OuterLoop<P> loop(p, std::move(estimator), ul, /*seed=*/1, evaluation);
  AllocationLog<S> log;
  Callback<S>* callbacks[] = {&log};
  loop.run(lambda, callbacks);
  std::vector<std::int64_t> per_iteration;
  for (std::size_t i = kWarmUp; i < log.marks.size(); ++i) per_iteration.push_back(log.marks[i] - log.marks[i - 1]);
  return per_iteration;
}

// Every preset that applies to `p` (some need a symmetric Jacobian), at minibatches of `batch`, at one
// and two threads: no allocation after the warm-up. Returns how many presets ran.
//
// The exception is a schedule whose batches grow without end: BSGM on a stream of samples (the noisy
// quadratics) draws (s + 1) times more ids at iteration s, so the samplers' id vectors must grow. They
// grow geometrically, so that such a run reallocates only when a batch doubles: at most one iteration in
// three of the measured ones, at most two allocations each (the cross and outer samplers).
template <class P>
int expect_no_allocations(const P& p, const Vector<typename P::Scalar>& lambda, Index batch, const std::string& name) {
  int ran = 0;
  for (const MethodPreset& preset : method_presets()) {
    EstimatorOptions o = preset.estimator_options(batch);
    try {
      o.validate(EngineFor<P>::ll_population(p), EngineFor<P>::ul_population(p), p.jacobian_w_symmetric());
    } catch (const InvalidOptions&) {
      continue;
    }
    UpperLevelOptions ul = preset.ul;
    ul.step.step = 1e-3;
    const bool endless_growth = ul.growth == Growth::kLinear && (EngineFor<P>::ll_population(p) == kUnboundedPopulation ||
                                                                EngineFor<P>::ul_population(p) == kUnboundedPopulation);
    for (int threads : {1, 2}) {
      const ScopedThreadCount at(threads);
      const auto counts = allocations_per_iteration(p, o, ul, lambda);
      const auto allocating = std::count_if(counts.begin(), counts.end(), [](std::int64_t n) { return n != 0; });
      const bool within = endless_growth ? 3 * allocating <= static_cast<std::int64_t>(counts.size()) &&
                                               std::all_of(counts.begin(), counts.end(), [](std::int64_t n) { return n <= 2; })
                                         : allocating == 0;
      EXPECT_TRUE(within) << name << ", " << preset.name << ", " << threads << " thread(s): allocations in iterations "
                          << kWarmUp + 1 << ".." << kIterations << ": " << fmt::format("{}", fmt::join(counts, " "));
    }
    ++ran;
  }
  return ran;
}

// 200 Fashion-MNIST images (2 chunks of the parallel kernels) as each of the three splits.
struct Images {
  Dataset train, validation, test;
  Images() {
    const std::string dir = std::string(BILEVEL_SOURCE_DIR) + "/tests/data/fixtures/";
    train = read_idx(dir + "fashion-train-200-images-idx3-ubyte.gz", dir + "fashion-train-200-labels-idx1-ubyte.gz");
    validation = train;  // the splits' contents do not matter here, only their sizes
    test = train;
  }
};
const Images& images() {
  static const Images i;
  return i;
}

// A minimisation problem as the CLI runs it: the gradient step map with its step gamma.
template <class Base>
MinimizationAdapter<Base> step_map(Base base, double gamma) {
  return MinimizationAdapter<Base>(std::move(base), static_cast<typename Base::Scalar>(gamma));
}

TEST(Allocations, LogisticHOIterationsAllocateNothing) {
  const LogisticHO<float> base(images().train, images().validation, images().test);
  const auto p = step_map(base, 1.0 / (base.data_smoothness() + 1.0));
  EXPECT_GT(expect_no_allocations(p, Vector<float>::Constant(p.dim_lambda(), -3.0f), 64, "logistic-ho"), 5);
}

// One estimator setting at lambda = -3 (every coordinate, float), at one and two threads: no
// allocation after the warm-up.
template <class P>
void expect_no_allocations_at_one_and_two_threads(const P& p, const EstimatorOptions& o, const UpperLevelOptions& ul,
                                                  Index batch) {
  for (int threads : {1, 2}) {
    const ScopedThreadCount at(threads);
    const auto counts = allocations_per_iteration(p, o, ul, Vector<float>::Constant(p.dim_lambda(), -3.0f));
    EXPECT_TRUE(std::all_of(counts.begin(), counts.end(), [](std::int64_t n) { return n == 0; }))
        << "batch " << batch << ", " << threads << " thread(s): " << fmt::format("{}", fmt::join(counts, " "));
  }
}

// The linear system by conjugate gradient (`ls.method = cg`, which no preset uses), its products taken
// directly (problems/problem.hpp, HasDirectResidual), on minibatches of 64 and on the full batch.
TEST(Allocations, ConjugateGradientIterationsAllocateNothing) {
  const LogisticHO<float> base(images().train, images().validation, images().test);
  const auto p = step_map(base, 1.0 / (base.data_smoothness() + 1.0));
  for (Index batch : {Index{64}, Index{0}}) {
    EstimatorOptions o = find_preset("stocbio").estimator_options(batch);
    o.ls.method = LinearSystemMethod::kConjugateGradient;
    o.ls.iterations = 5;
    UpperLevelOptions ul = find_preset("stocbio").ul;
    ul.step.step = 1e-3;
    expect_no_allocations_at_one_and_two_threads(p, o, ul, batch);
  }
}

// Minibatches of 256, 1024 and all 12 800 rows (the 200 images 64 times): chunks of 64 to 800 rows.
// (Before core/thin_products.hpp, Eigen took the packing buffers of its products from the heap once a
// chunk passed 64 rows: 320 allocations per iteration at 1 600 rows.)
TEST(Allocations, MinibatchesOfALargeTrainingSetAllocateNothing) {
  constexpr int kCopies = 64;
  Dataset big = images().train;
  // From the original, not big.x itself: Eigen resizes the destination first, and replicate would then
  // read freed memory (an aliasing bug this test had; it crashed once the allocator unmapped the block).
  big.x = images().train.x.replicate(kCopies, 1);
  big.y.clear();
  for (int r = 0; r < kCopies; ++r) big.y.insert(big.y.end(), images().train.y.begin(), images().train.y.end());
  const LogisticHO<float> base(big, images().validation, images().test);
  const auto p = step_map(base, 1.0 / (base.data_smoothness() + 1.0));
  for (Index batch : {Index{256}, Index{1024}, big.size()}) {
    EstimatorOptions o = find_preset("stocbio").estimator_options(batch);
    o.outer_batch_size = 64;  // of the 200 validation images
    UpperLevelOptions ul = find_preset("stocbio").ul;
    ul.step.step = 1e-3;
    expect_no_allocations_at_one_and_two_threads(p, o, ul, batch);
  }
}

TEST(Allocations, EquilibriumIterationsAllocateNothing) {
  EquilibriumOptions o;
  o.hidden = 200;  // the experiments' size: its products need more packing memory than Eigen puts on the stack
  const Equilibrium<float> p(images().train, images().validation, images().test, o);
  EXPECT_GT(expect_no_allocations(p, p.initial_lambda(), 64, "equilibrium"), 3);
}

// multiply() (core/blas.hpp) on 200 rows with a depth of 40 (200 modulo 16 is 8): at 100^3 multiply-adds
// it is Eigen's product; just above, OpenBLAS's general kernel (in the default build). Neither may
// allocate after its first call; OpenBLAS's small-matrix kernel, which multiply() keeps away from,
// malloc'ed a buffer in every call at these shapes.
TEST(Allocations, ProductsOnEitherSideOfTheBlasSizeAllocateNothing) {
  const Matrix<float> a = Matrix<float>::Constant(200, 40, 0.5f), b = Matrix<float>::Constant(40, 126, 0.25f);
  Matrix<float> c(200, 126);
  for (const Index n : {Index{125}, Index{126}}) {
    auto cn = c.leftCols(n);
    multiply(cn, a, b.leftCols(n));  // the warm-up: OpenBLAS's buffers
    const std::int64_t before = allocations.load();
    for (int r = 0; r < 3; ++r) multiply(cn, a, b.leftCols(n), /*add=*/r > 0);
    EXPECT_EQ(allocations.load() - before, 0) << "200 x " << n << " x 40";
  }
  EXPECT_FLOAT_EQ(c(7, 3), 3 * 40 * 0.125f);
}

// Equilibrium's projection at h = 200 when it clips (the iterations above stay inside the ball): after
// a first call sizes its per-thread workspaces, clips of one to many singular values allocate nothing.
TEST(Allocations, SpectralClipsAllocateNothing) {
  Rng rng(5);
  Matrix<float> gaussian(200, 200);
  for (Index j = 0; j < 200; ++j)
    for (Index i = 0; i < 200; ++i) gaussian(i, j) = static_cast<float>(rng.normal());
  const float top = spectral_norm<float>(gaussian);
  std::vector<Matrix<float>> inputs;
  for (float norm : {0.7f, 0.5001f, 0.55f, 0.9f, 0.3f}) inputs.push_back(gaussian * (norm / top));  // the last is inside
  ASSERT_TRUE(clip_spectral_norm<float>(inputs.front(), 0.5f));  // the warm-up
  const std::int64_t before = allocations.load();
  int clipped = 0;
  for (std::size_t i = 1; i < inputs.size(); ++i) clipped += clip_spectral_norm<float>(inputs[i], 0.5f) ? 1 : 0;
  EXPECT_EQ(allocations.load() - before, 0);
  EXPECT_EQ(clipped, 3);
}

TEST(Allocations, DataPoisoningIterationsAllocateNothing) {
  const DataPoisoning<float> base(images().train, 40, images().validation, images().test, DataPoisoningOptions{});
  const auto p = step_map(base, 1.0 / (base.data_smoothness() + base.strong_convexity()));
  EXPECT_GT(expect_no_allocations(p, Vector<float>::Zero(p.dim_lambda()), 64, "data-poisoning"), 5);
}

TEST(Allocations, HyperCleaningIterationsAllocateNothing) {
  std::vector<bool> corrupted(static_cast<std::size_t>(images().train.size()), false);
  for (std::size_t i = 0; i < corrupted.size(); i += 3) corrupted[i] = true;
  const HyperCleaning<float> base(images().train, corrupted, images().validation, images().test);
  const auto p = step_map(base, 1.0 / (base.data_smoothness() + base.strong_convexity()));
  EXPECT_GT(expect_no_allocations(p, Vector<float>::Zero(p.dim_lambda()), 64, "hyper-cleaning"), 5);
}

// Meta-learning with the experiments' network (784 -> 128 -> 64) and 5-way 5-shot tasks (5 queries per
// class: the 200 images have about 20 per class), batches of 16 of the 40 tasks: 4 chunks of tasks,
// and 6 chunks of rows in the network for the 400 support and for the 400 query images.
TEST(Allocations, MetaLearningIterationsAllocateNothing) {
  MetaLearningOptions o;
  o.shape = {5, 5, 5};
  o.train_tasks = 40;
  o.metric_tasks = 0;
  const MetaLearning<float> p(images().train, images().validation, images().test, o);
  EXPECT_GT(expect_no_allocations(p, p.initial_lambda(), 16, "meta-learning"), 3);
}

// The loops paper's synthetic regression at its default sizes (p = 64, r = 128) with 200 training and
// 200 validation rows (so that BSGM's batches reach the full batch in the warm-up, as above), from a
// random H inside the spectral-norm ball.
TEST(Allocations, HyperRepresentationIterationsAllocateNothing) {
  HyperRepresentationOptions o;
  o.train_size = o.validation_size = 200;
  const HyperRepresentation<float> base(o);
  const auto p = step_map(base, 1.0 / base.smoothness());
  Rng rng(3);
  Vector<float> lambda(p.dim_lambda());
  for (Index i = 0; i < lambda.size(); ++i) lambda(i) = static_cast<float>(0.05 * rng.normal());
  EXPECT_GT(expect_no_allocations(p, lambda, 64, "hyper-representation"), 5);
}

// Both forms, with noisy oracles (each minibatch perturbs a copy of the data) and exact ones.
TEST(Allocations, QuadraticIterationsAllocateNothing) {
  for (double noise : {0.0, 0.5}) {
    QuadraticOptions o;
    o.noise_ll = o.noise_ul = noise;
    const std::string name = noise > 0 ? "noisy quadratic" : "exact quadratic";
    const Vector<float> lambda = Vector<float>::Constant(o.dim_lambda, 0.3f);
    EXPECT_GT(expect_no_allocations(step_map(QuadraticMinimization<float>(o), 1.0), lambda, 8, name + ", minimization"), 5);
    EXPECT_GT(expect_no_allocations(QuadraticFixedPoint<float>(o), lambda, 8, name + ", fixed point"), 3);
  }
}

}  // namespace allocations_test
}  // namespace bilevel
