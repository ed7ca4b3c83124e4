#pragma once
// The machine's limits, measured in the benchmark's own process so that the fractions reported next
// to each oracle compare numbers taken under the same conditions:
//  - memory bandwidth: STREAM's triad a[i] = b[i] + s c[i] on arrays far larger than the caches,
//    bytes = 3 arrays x n x 8 (STREAM's count, without the read a write-allocate cache adds); best pass;
//    at a given number of threads (OpenMP, static schedule, as STREAM);
//  - compute: a large square matrix product with Eigen (2 n^3 flops), the best that the library the
//    oracles use reaches on one core; best of a few. Eigen is single-threaded in this build, so the
//    compute roof of t threads is taken as t times that (an upper bound);
//  - the arithmetic peak: fused multiply-adds in registers (fma_peak), also times the threads.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <vector>

#include "bilevel/core/thin_products.hpp"
#include "bilevel/core/types.hpp"

namespace bilevel::bench {

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Bytes per second at `threads` threads.
inline double triad_bandwidth(int threads, std::size_t n = std::size_t{1} << 25, int repeats = 10) {
  std::vector<double> a(n, 0.0), b(n, 1.0), c(n, 2.0);
  const double s = 3.0;
  double best = 1e300;
  const auto count = static_cast<std::ptrdiff_t>(n);
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    double* __restrict pa = a.data();
    const double* __restrict pb = b.data();
    const double* __restrict pc = c.data();
#pragma omp parallel for schedule(static) num_threads(threads)
    for (std::ptrdiff_t i = 0; i < count; ++i) pa[i] = pb[i] + s * pc[i];
    best = std::min(best, seconds_since(start));
    b[static_cast<std::size_t>(r) % n] = a[static_cast<std::size_t>(r) * 7 % n];  // each pass depends on the last
  }
  return 3.0 * static_cast<double>(n) * sizeof(double) / best;
}

// Flops per second of an n x n x n product, as the oracles' large products run (core/blas.hpp:
// OpenBLAS in the default build, else Eigen).
template <class S>
double gemm_flops(Index n = 1536, int repeats = 3) {
  const Matrix<S> a = Matrix<S>::Random(n, n), b = Matrix<S>::Random(n, n);
  Matrix<S> c(n, n);
  double best = 1e300;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    multiply(c, a, b);
    best = std::min(best, seconds_since(start));
  }
  return 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n) / best;
}

// Flops per second of fused multiply-adds on vectors held in registers (the kernels' own,
// core/thin_products.hpp: 64 bytes with AVX-512, 32 otherwise), the arithmetic peak of one core as the
// oracles' own kernels compute: independent chains enough to cover the FMA latency on every pipe, and
// few enough to stay in the registers with the two factors (12 of AVX2's 16); best of a few.
template <class S>
double fma_peak(int repeats = 5) {
  using V = thin::Vec<S>;
  constexpr int kChains = thin::kVectorBytes == 64 ? 16 : 12;
  constexpr int kLanes = thin::Lanes<S>::kCount;
  constexpr long kSteps = 1L << 23;
  V acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = V{} + static_cast<S>(c);
  const V a = V{} + static_cast<S>(0.999999), b = V{} + static_cast<S>(1e-6);
  double best = 1e300;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < kSteps; ++i)
      for (int c = 0; c < kChains; ++c) acc[c] = acc[c] * a + b;
    best = std::min(best, seconds_since(start));
  }
  S sink = 0;
  for (int c = 0; c < kChains; ++c) sink += acc[c][0];
  asm volatile("" : : "r"(&sink) : "memory");  // the sums are used: the loop is not removed
  return 2.0 * kLanes * kChains * static_cast<double>(kSteps) / best;
}

}  // namespace bilevel::bench
