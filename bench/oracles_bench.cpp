// Google Benchmark of the oracles of logistic-ho, data-poisoning and equilibrium on the full
// Fashion-MNIST training set (60 000 x 784), at several minibatch sizes, in float and double, on 1 and
// 2 threads (the oracles' own deterministic chunked loops, core/parallel.hpp).
//
// Next to its time each benchmark reports the work of one call and how close it comes to the
// machine's limits measured at start-up in the same process (roofs.hpp):
//   GFLOPs        the floating-point rate of the oracle's matrix products (counted below, per oracle)
//   of_gemm       that rate over a large GEMM's rate in the same precision, run as the oracles' large
//                 products run (core/blas.hpp: OpenBLAS in the default build; the header names the kernels)
//   of_peak       that rate over the arithmetic peak (FMAs in registers) in the same precision
//   of_bandwidth  (minibatch data bytes: batch x 784 x sizeof(scalar), the least any pass over the
//                 examples must read) per second over the STREAM-triad bandwidth
// Both roofs are those of the benchmark's thread count (roofs.hpp).
// The oracles multiply X by thin matrices (10 classes, or h = 200 hidden units), so a full pass is
// compute-bound when its intensity (flops per data byte) exceeds the machine's balance
// (GEMM flops / bandwidth); the header of the output prints both.
//
//   ./dev bench [--benchmark_filter=regex] [--benchmark_repetitions=5 --benchmark_report_aggregates_only]
// Needs Fashion-MNIST (scripts/setup.sh --data).
#include <benchmark/benchmark.h>

#include <Eigen/QR>

#include <fmt/format.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <typeindex>
#include <vector>

#include "bilevel/core/linalg.hpp"
#include "bilevel/core/parallel.hpp"
#include "bilevel/core/rng.hpp"
#include "bilevel/core/sampler.hpp"
#include "bilevel/core/thin_products.hpp"
#include "bilevel/data/catalog.hpp"
#include "bilevel/data/splits.hpp"
#include "bilevel/problems/data_poisoning.hpp"
#include "bilevel/problems/equilibrium.hpp"
#include "bilevel/problems/logistic_ho.hpp"
#include "bilevel/problems/minimization_adapter.hpp"
#include "bilevel/problems/separable.hpp"
#include "roofs.hpp"

namespace bilevel::bench {
namespace {

constexpr double kFeatures = 784, kClasses = 10;

struct Roofs {
  double bandwidth = 0, gemm_float = 0, gemm_double = 0, peak_float = 0, peak_double = 0;
};
Roofs g_roofs[3];  // by thread count (1, 2)
constexpr int kThreadCounts[] = {1, 2};


struct Data {
  Dataset train, validation, test;
};

// Fashion-MNIST: all 60 000 training images; the test split halved into validation and test.
const Data& data() {
  static const Data d = [] {
    Data out;
    out.train = load_dataset("fashion-mnist", "train");
    auto [v, t] = stratified_split(load_dataset("fashion-mnist", "test"), 0.5, 1);
    out.validation = std::move(v);
    out.test = std::move(t);
    return out;
  }();
  return d;
}

// The problem of the benchmarks that are running, built once for all of them and their repetitions
// (building one copies the data and takes seconds: the full filter took over an hour when each run of
// a benchmark built its own). One slot: the previous problem is freed when another type is asked for,
// so memory stays that of one problem; main registers the benchmarks grouped by problem.
template <class P, class Make>
const P& shared_problem(Make make) {
  static std::shared_ptr<const void> slot;
  static std::type_index type = typeid(void);
  if (type != std::type_index(typeid(P))) {
    slot.reset();
    slot = std::make_shared<const P>(make());
    type = typeid(P);
  }
  return *static_cast<const P*>(slot.get());
}

template <class S>
Vector<S> random(Index n, double scale, std::uint64_t seed) {
  Rng rng(seed);
  Vector<S> v(n);
  for (Index i = 0; i < n; ++i) v(i) = static_cast<S>(scale * rng.normal());
  return v;
}

std::vector<SampleId> draw(Index population, Index batch, std::uint64_t seed) {
  MinibatchSampler sampler(population, std::min(batch, population));
  Rng rng(seed);
  const Batch b = sampler.draw(rng);
  return {b.begin(), b.end()};
}

enum Oracle { kMap, kVjpW, kVjpLambda, kOuter };
constexpr const char* kOracleNames[] = {"map", "map_vjp_w", "map_vjp_lambda", "outer"};

// Work of one call: flops of its matrix products and the bytes of examples it reads.
struct Work {
  double flops = 0, data_bytes = 0;
};

template <class S>
void report(benchmark::State& state, Work work, int threads) {
  using benchmark::Counter;
  const Roofs& roofs = g_roofs[threads];
  const double gemm = sizeof(S) == 4 ? roofs.gemm_float : roofs.gemm_double;
  const double peak = sizeof(S) == 4 ? roofs.peak_float : roofs.peak_double;
  state.counters["GFLOPs"] = Counter(work.flops / 1e9, Counter::kIsIterationInvariantRate);
  state.counters["of_gemm"] = Counter(work.flops / gemm, Counter::kIsIterationInvariantRate);
  state.counters["of_peak"] = Counter(work.flops / peak, Counter::kIsIterationInvariantRate);
  state.counters["of_bandwidth"] = Counter(work.data_bytes / roofs.bandwidth, Counter::kIsIterationInvariantRate);
}

// Times one oracle of a BilevelProblem on fixed batches.
template <class P>
void time_oracle(benchmark::State& state, const P& p, Oracle oracle, Batch ll, Batch ul, const Vector<typename P::Scalar>& w,
                 const Vector<typename P::Scalar>& lambda) {
  using S = typename P::Scalar;
  Vector<S> out_w(p.dim_w()), out_l(p.dim_lambda()), gw, gl;
  const Vector<S> u = random<S>(p.dim_w(), 1.0, 9);
  auto call = [&] {
    switch (oracle) {
      case kMap: p.map(w, lambda, ll, out_w); break;
      case kVjpW: p.map_vjp_w(w, lambda, u, ll, out_w); break;
      case kVjpLambda: p.map_vjp_lambda(w, lambda, u, ll, out_l); break;
      case kOuter: benchmark::DoNotOptimize(p.outer(w, lambda, ul, &gw, &gl)); break;
    }
  };
  // One call before the clock starts: what a call keeps for the next (scratch memory, equilibrium's
  // input injection for this batch) is in place, as it is inside an estimator's loops.
  call();
  for (auto _ : state) {
    call();
    benchmark::ClobberMemory();
  }
}

template <class S>
std::string name(const char* problem, const char* oracle, Index batch, int threads) {
  return fmt::format("{}/{}/{}/batch:{}/threads:{}", problem, oracle, sizeof(S) == 4 ? "float" : "double",
                     batch, threads);
}

// The softmax-regression problems. Per example (p features, c classes): the loss gradient is two
// products with X (4pc flops), the Hessian-vector product three (6pc); logistic-ho's mixed product
// touches no data; data-poisoning's is two products (4pc) plus 4pc per poisoned example in the batch.
// logistic-ho keeps P = softmax(X W) of its last Hessian-vector product (softmax::KeptProbabilities),
// so its repeated map_vjp_w at one (w, batch), as in the LS's loop, is two products (4pc);
// map_vjp_w_new_w alternates two w's, so each call also computes P (6pc): the LS's first product, and
// every product of an LS that draws a new minibatch per step.
template <class S>
void register_softmax(const char* problem, Index batch) {
  const bool poisoning = std::string(problem) == "data_poisoning";
  constexpr Index kPoisoned = 12000;  // the first 20 % of the training set
  for (int o = 0; o < (poisoning ? 4 : 5); ++o)
  for (int threads : kThreadCounts) {
    const std::string title = name<S>(problem, o == 4 ? "map_vjp_w_new_w" : kOracleNames[o], batch, threads);
    benchmark::RegisterBenchmark(title.c_str(), [=](benchmark::State& state) {
      const Data& d = data();
      const ScopedThreadCount at(threads);
      const auto ll = draw(d.train.size(), batch, 1), ul = draw(d.validation.size(), batch, 2);
      const double pc = kFeatures * kClasses, b = static_cast<double>(ll.size()), bu = static_cast<double>(ul.size());
      double poisoned_in_batch = 0;
      for (auto id : ll) poisoned_in_batch += id < static_cast<SampleId>(kPoisoned);
      const double flops[] = {4 * b * pc, (poisoning ? 6 : 4) * b * pc,
                              poisoning ? 4 * b * pc + 4 * poisoned_in_batch * pc : 0.0, 4 * bu * pc, 6 * b * pc};
      const double rows = o == kOuter ? bu : (o == kVjpLambda && !poisoning ? 0.0 : b);
      const Work work{flops[o], rows * kFeatures * sizeof(S)};
      if (poisoning) {
        const auto& p = shared_problem<MinimizationAdapter<DataPoisoning<S>>>([&] {
          return MinimizationAdapter<DataPoisoning<S>>(DataPoisoning<S>(d.train, kPoisoned, d.validation, d.test), S(0.05));
        });
        time_oracle(state, p, static_cast<Oracle>(o), ll, ul, random<S>(p.dim_w(), 0.01, 3), random<S>(p.dim_lambda(), 0.01, 4));
      } else {
        const auto& p = shared_problem<MinimizationAdapter<LogisticHO<S>>>([&] {
          return MinimizationAdapter<LogisticHO<S>>(LogisticHO<S>(d.train, d.validation, d.test), S(0.05));
        });
        const Vector<S> lambda = Vector<S>::Constant(p.dim_lambda(), S(-4));
        if (o < 4) {
          time_oracle(state, p, static_cast<Oracle>(o), ll, ul, random<S>(p.dim_w(), 0.01, 3), lambda);
        } else {
          const Vector<S> ws[] = {random<S>(p.dim_w(), 0.01, 3), random<S>(p.dim_w(), 0.01, 5)};
          const Vector<S> u = random<S>(p.dim_w(), 1.0, 9);
          Vector<S> out(p.dim_w());
          int k = 0;
          p.map_vjp_w(ws[0], lambda, u, ll, out);  // scratch memory and P's buffer, as time_oracle's first call
          for (auto _ : state) {
            p.map_vjp_w(ws[k ^= 1], lambda, u, ll, out);
            benchmark::ClobberMemory();
          }
        }
      }
      report<S>(state, work, threads);
    })->Unit(benchmark::kMillisecond)->UseRealTime();
  }
}

// Equilibrium (h = 200). The input injection B X^T + c (2hp flops per example) is kept between calls at
// one (lambda, batch) (problems/equilibrium.hpp), so repeated calls, as in the LL's and LS's loops, cost:
// the map A Z (2h^2), the w-Jacobian product the pre-activation and A^T (4h^2), the lambda-Jacobian
// product the pre-activation, G Z^T and G X (2h(2h + p)); the outer products touch only Z and C (6hc).
// map_new_lambda alternates two lambdas, so each call also computes the injection (2h(h + p)): the first
// map of every hypergradient.
template <class S>
void register_equilibrium(Index batch) {
  constexpr double h = 200;
  for (int o = 0; o < 5; ++o)
  for (int threads : kThreadCounts) {
    const std::string title = name<S>("equilibrium", o == 4 ? "map_new_lambda" : kOracleNames[o], batch, threads);
    benchmark::RegisterBenchmark(title.c_str(), [=](benchmark::State& state) {
      const Data& d = data();
      const ScopedThreadCount at(threads);
      const auto& p = shared_problem<Equilibrium<S>>([&] { return Equilibrium<S>(d.train, d.validation, d.test, EquilibriumOptions{}); });
      BlockBatchView<Equilibrium<S>> view(p);
      const auto ids = draw(p.num_blocks(), batch, 1);
      view.set_blocks(ids);
      const double b = static_cast<double>(batch), ph = kFeatures;
      const double flops[] = {2 * b * h * h, 4 * b * h * h, 2 * b * h * (2 * h + ph), 6 * b * h * kClasses,
                              2 * b * h * (h + ph)};
      const Work work{flops[o], o == kOuter || o == kMap || o == kVjpW ? 0.0 : b * kFeatures * sizeof(S)};
      const std::vector<SampleId> one{0};
      const Vector<S> w = random<S>(view.dim_w(), 0.1, 3), lambda = p.initial_lambda();
      if (o < 4) {
        time_oracle(state, view, static_cast<Oracle>(o), one, one, w, lambda);
      } else {
        const Vector<S> lambdas[] = {lambda, lambda * S(0.5)};
        Vector<S> out(view.dim_w());
        int k = 0;
        view.map(w, lambdas[0], one, out);  // the injection's memory, as time_oracle's first call
        for (auto _ : state) {
          view.map(w, lambdas[k ^= 1], one, out);
          benchmark::ClobberMemory();
        }
      }
      report<S>(state, work, threads);
    })->Unit(benchmark::kMillisecond)->UseRealTime();
  }
}

// The thin products behind every softmax oracle (core/thin_products.hpp) against Eigen's GEMM on the
// same operands: Z = X W and G = X^T P with X the batch's rows of Fashion-MNIST (784 features) and 10
// columns, 2 b 784 10 flops each, one thread. X^T P also by both of its kernels ("rows": groups of
// rows, the one used without AVX-512; "columns": passes down the rows, used with it), whichever the
// target uses.
template <class S>
void register_products(Index batch) {
  for (const char* product : {"x_times_w", "xt_times_p"})
    for (const char* by : {"thin", "eigen", "rows", "columns"}) {
      const bool transpose = product[1] == 't', thin = by[0] == 't';
      const bool rows = by[0] == 'r', columns = by[0] == 'c';
      if ((rows || columns) && !transpose) continue;
      const std::string title = fmt::format("products/{}/{}/{}/batch:{}", product, sizeof(S) == 4 ? "float" : "double", by, batch);
      benchmark::RegisterBenchmark(title.c_str(), [=](benchmark::State& state) {
        const RowMatrix<S> x = data().train.x.topRows(batch).template cast<S>();
        const Matrix<S> m = Eigen::Map<const Matrix<S>>(random<S>(784 * 10, 0.01, 3).data(), 784, 10);
        const Matrix<S> p = Eigen::Map<const Matrix<S>>(random<S>(batch * 10, 0.1, 4).data(), batch, 10);
        Matrix<S> z(batch, 10), g(784, 10);
        for (auto _ : state) {
          if (transpose && thin) {
            g.setZero();
            thin::add_transpose_times<S>(x, p, g);
          } else if (rows || columns) {
            g.setZero();
            const thin::RowView<S> view(x);
            if (rows)
              thin::detail::add_transpose_times_by_rows<S>(view, p.data(), batch, 10, g.data(), 784);
            else
              thin::detail::add_transpose_times_by_columns<S>(view, p.data(), batch, 10, g.data(), 784);
          } else if (transpose) {
            g.noalias() = x.transpose() * p;
          } else if (thin) {
            thin::times<S>(x, m, z);
          } else {
            z.noalias() = x * m;
          }
          benchmark::ClobberMemory();
        }
        report<S>(state, Work{2.0 * static_cast<double>(batch) * kFeatures * kClasses,
                              static_cast<double>(batch) * kFeatures * sizeof(S)}, 1);
      })->Unit(benchmark::kMillisecond)->UseRealTime();
    }
}

// The spectral-norm clip of equilibrium's UL step (||A||_2 <= 0.5, core/linalg.cpp) on a matrix as a
// run meets it: its singular values spread below the radius, as at the end of a run (0.5, 0.4983,
// 0.4974, ...), with the top two moved just above it by the step. Serial, once per UL iteration.
// Flops: the Gram matrix (2 n^3) and its tridiagonal reduction (4/3 n^3); the eigenpairs above the
// radius and the update are O(n^2) each.
template <class S>
void register_clip(Index n) {
  const std::string title = fmt::format("projection/spectral_clip/{}/n:{}", sizeof(S) == 4 ? "float" : "double", n);
  benchmark::RegisterBenchmark(title.c_str(), [=](benchmark::State& state) {
    constexpr double kRadius = 0.5;
    const auto orthogonal = [n](std::uint64_t seed) -> Matrix<double> {
      const Matrix<double> g = Eigen::Map<const Matrix<double>>(random<double>(n * n, 1.0, seed).data(), n, n);
      return Eigen::HouseholderQR<Matrix<double>>(g).householderQ();
    };
    Vector<double> sigma(n);
    for (Index i = 0; i < n; ++i) sigma(i) = kRadius * (1 - 2.0 * static_cast<double>(i) / static_cast<double>(n));
    sigma(0) = kRadius + 2e-4;
    sigma(1) = kRadius + 1e-4;
    const Matrix<S> start = (orthogonal(5) * sigma.asDiagonal() * orthogonal(6).transpose()).template cast<S>();
    Matrix<S> a = start;
    for (auto _ : state) {
      a = start;
      if (!clip_spectral_norm<S>(a, S(kRadius))) state.SkipWithError("nothing above the radius to clip");
      benchmark::ClobberMemory();
    }
    const double m = static_cast<double>(n);
    report<S>(state, Work{2 * m * m * m + 4.0 / 3 * m * m * m, 0}, 1);
  })->Unit(benchmark::kMillisecond)->UseRealTime();
}

}  // namespace
}  // namespace bilevel::bench

int main(int argc, char** argv) {
  using namespace bilevel::bench;
  std::printf("matrix products: %s\n", bilevel::blas_kernels().c_str());
  const double gemm_float = gemm_flops<float>(), gemm_double = gemm_flops<double>();
  const double peak_float = fma_peak<float>(), peak_double = fma_peak<double>();
  for (int t : kThreadCounts) {
    g_roofs[t] = {triad_bandwidth(t), t * gemm_float, t * gemm_double, t * peak_float, t * peak_double};
    std::printf("roofs at %d thread(s), measured in this process: STREAM triad %.2f GB/s; GEMM %.1f GFLOP/s (float), "
                "%.1f (double); FMA peak %.1f GFLOP/s (float), %.1f (double)%s\n", t, g_roofs[t].bandwidth / 1e9,
                g_roofs[t].gemm_float / 1e9, g_roofs[t].gemm_double / 1e9, g_roofs[t].peak_float / 1e9,
                g_roofs[t].peak_double / 1e9, t > 1 ? " (the one-core rates times the threads)" : "");
    std::printf("machine balance: %.1f flops per byte (float), %.1f (double)\n", g_roofs[t].gemm_float / g_roofs[t].bandwidth,
                g_roofs[t].gemm_double / g_roofs[t].bandwidth);
  }
  // Grouped by problem and precision, so that each problem is built once (shared_problem).
  constexpr bilevel::Index kSoftmaxBatches[] = {64, 256, 4096, 60000}, kEquilibriumBatches[] = {64, 600, 6000, 60000};
  for (const char* problem : {"logistic_ho", "data_poisoning"}) {
    for (const bilevel::Index batch : kSoftmaxBatches) register_softmax<float>(problem, batch);
    for (const bilevel::Index batch : kSoftmaxBatches) register_softmax<double>(problem, batch);
  }
  for (const bilevel::Index batch : kSoftmaxBatches) {
    register_products<float>(batch);
    register_products<double>(batch);
  }
  for (const bilevel::Index batch : kEquilibriumBatches) register_equilibrium<float>(batch);
  for (const bilevel::Index batch : kEquilibriumBatches) register_equilibrium<double>(batch);
  register_clip<float>(200);
  register_clip<double>(200);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
