#pragma once
// Products of a tall matrix of examples with thin matrices, the hot path of every linear softmax model:
//
//   Z  = X M       X: n x d examples by rows (row-major), M: d x c (column-major), Z: n x c (column-major)
//   G += X^T P     P: n x c (column-major), G: d x c (column-major)
//
// with c small (the classes of a linear model: 10 for the image datasets). Why not Eigen's GEMM here:
// for these shapes it first copies all of X into its packed panel format, once per product, and that
// copy costs as much as the product itself; its packing buffers also come from the heap once a block
// passes EIGEN_STACK_ALLOCATION_LIMIT, at sizes that depend on the cache sizes the CPU reports, so the
// hot loop allocated on some machines and not on others. These kernels read X in place, keep the
// running sums in registers and allocate nothing (bench/oracles_bench.cpp times them against Eigen:
// docs/performance.md).
//
// They are written with the GCC/Clang vector extension, in vectors of one register where the target
// has AVX-512 (64 bytes: 16 floats or 8 doubles, 32 registers) and of 32 bytes otherwise (one AVX2
// register of 16, two SSE or NEON ones), with blocks of running sums sized to the register file (below,
// kTimesRows). The summation order depends only on the shapes and the target, never on the thread count
// (core/parallel.hpp).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "bilevel/core/types.hpp"  // SampleId

namespace bilevel::thin {

// 64-byte vectors without AVX-512 are pairs of registers, and the AVX-512 blocks of sums (25 and 20
// vectors) then need 40-50 of AVX2's 16: GCC spills them to the stack at every step. On a Zen 3 without
// AVX-512 (2026-12-07) that made the products 20-30x slower (docs/performance.md, "Without AVX-512").
#if defined(__AVX512F__)
inline constexpr int kVectorBytes = 64;
#else
inline constexpr int kVectorBytes = 32;
#endif

template <class S>
struct Lanes {
  static constexpr int kBytes = kVectorBytes;
  static constexpr int kCount = kBytes / static_cast<int>(sizeof(S));
  typedef S Vec __attribute__((vector_size(kBytes)));
  typedef S Half __attribute__((vector_size(kBytes / 2)));
  typedef S Quarter __attribute__((vector_size(kBytes / 4)));
};
template <class S>
using Vec = typename Lanes<S>::Vec;

// Unaligned load and store (memcpy compiles to one vector move).
template <class S>
inline Vec<S> load(const S* p) {
  Vec<S> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <class S>
inline void store(S* p, const Vec<S>& v) {
  std::memcpy(p, &v, sizeof v);
}

// a * b + c for the scalar tails, rounded as the vector sums are: once, where the target has FMA (where
// GCC contracts the vectors' a * b + c to multiply-adds, but a tail loop that is one sum down the rows
// is a reduction it vectorizes in order, products in vectors and then unfused adds: the two X^T P
// kernels then differed in the last bits of the tail columns); twice otherwise, as the vectors are.
template <class S>
inline S multiply_add(S a, S b, S c) {
#if defined(__FMA__)
  return std::fma(a, b, c);
#else
  return a * b + c;
#endif
}

// Keeps v in a register from here on. Where R rows multiply the same vector of M (rows_times_columns),
// GCC folds its load into each of the R multiply-adds as a memory operand: R loads of it from L1 per
// step instead of one, 12 loads per 10 FMAs with 2 rows x 5 columns. An empty asm that takes and
// gives back v in an AVX register makes it load v once. Only where it was measured, AVX2 without
// AVX-512 (on a Zen 3, X M 1.2-1.4x faster: docs/performance.md, "X M's shared loads"; GCC 12's
// AVX-512 kernel loads each vector of M once already); a 32-byte vector is two SSE registers without
// AVX, which the constraint cannot name.
template <class V>
inline void keep_in_register([[maybe_unused]] V& v) {
#if defined(__AVX__) && !defined(__AVX512F__) && (defined(__x86_64__) || defined(__i386__))
  static_assert(sizeof(V) <= 32);
  asm("" : "+x"(v));
#endif
}

// Sum of the lanes by halving (a fixed tree, so a fixed rounding).
template <class S>
inline S sum_lanes(const Vec<S>& v) {
  using L = Lanes<S>;
  typename L::Half a, b;
  std::memcpy(&a, &v, sizeof a);
  std::memcpy(&b, reinterpret_cast<const char*>(&v) + sizeof a, sizeof b);
  a += b;
  typename L::Quarter c, d;
  std::memcpy(&c, &a, sizeof c);
  std::memcpy(&d, reinterpret_cast<const char*>(&a) + sizeof c, sizeof d);
  c += d;
  constexpr int kLeft = L::kCount / 4;  // 4 floats or 2 doubles
  S s[kLeft];
  std::memcpy(s, &c, sizeof s);
  S total = s[0];
  for (int i = 1; i < kLeft; ++i) total += s[i];
  return total;
}

// Rows of a data matrix, examples by rows: rows 0..count-1 of `data` (ids == nullptr), or the rows
// ids[0..count-1] of it, so that a minibatch is read where it lies instead of being copied first
// (a copy of 256 Fashion-MNIST rows is 800 kB of traffic, as much as the product that reads them);
// or rows anywhere, one pointer each (`pointers`), for a batch whose rows are partly stored data and
// partly rows built for the call (data-poisoning's noisy rows).
template <class S>
struct RowView {
  const S* data = nullptr;
  Index stride = 0;  // between consecutive rows of data
  Index cols = 0;
  Index count = 0;
  const SampleId* ids = nullptr;
  const S* const* pointers = nullptr;  // when set, row i is pointers[i] (data, stride and ids unused)

  // All rows of a row-major Eigen matrix, block, Map or Ref (implicit: it is a view of it).
  template <class E>
    requires(bool(E::IsRowMajor) && requires(const E& e) { e.data(); e.outerStride(); })
  RowView(const E& x) : data(x.data()), stride(x.outerStride()), cols(x.cols()), count(x.rows()) {}
  RowView(const S* data_, Index stride_, Index cols_, Index count_, const SampleId* ids_)
      : data(data_), stride(stride_), cols(cols_), count(count_), ids(ids_) {}
  RowView(const S* const* pointers_, Index cols_, Index count_) : cols(cols_), count(count_), pointers(pointers_) {}

  Index rows() const { return count; }
  const S* row(Index i) const {
    if (pointers) return pointers[i];
    return data + (ids ? static_cast<Index>(ids[i]) : i) * stride;
  }
  // Rows begin..begin+n-1 of the view.
  RowView middle(Index begin, Index n) const {
    if (pointers) return RowView(pointers + begin, cols, n);
    return ids ? RowView(data, stride, cols, n, ids + begin) : RowView(data + begin * stride, stride, cols, n, nullptr);
  }
};

namespace detail {

// Z(r, k) for R rows of X and C columns of M: R x C dot products of length d, each accumulated lane by
// lane in a register, then summed across lanes; the last d mod L entries are added one by one.
// ahead[r] is a row to ask the memory for while this one is multiplied, a cache line per vector
// read: spread over the loop like this the prefetches overlap the arithmetic (a burst of them per
// pair of rows, when the kernel took pairs, did less: a full pass over Fashion-MNIST 10.0 against
// 12.2 GB/s, a minibatch of 256 0.091 against 0.081 ms, one core).
template <class S, int R, int C>
inline void rows_times_columns(const S* const* x, const S* const* ahead, Index d, const S* m, Index ldm, S* z,
                               Index ldz) {
  constexpr int L = Lanes<S>::kCount;
  Vec<S> acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int k = 0; k < C; ++k) acc[r][k] = Vec<S>{};
  Index j = 0;
  for (; j + L <= d; j += L) {
    Vec<S> xr[R];
    for (int r = 0; r < R; ++r) {
      xr[r] = load(x[r] + j);
      __builtin_prefetch(ahead[r] + j);
    }
    for (int k = 0; k < C; ++k) {
      Vec<S> mk = load(m + k * ldm + j);
      keep_in_register(mk);
      for (int r = 0; r < R; ++r) acc[r][k] += xr[r] * mk;
    }
  }
  for (int r = 0; r < R; ++r)
    for (int k = 0; k < C; ++k) {
      S s = sum_lanes<S>(acc[r][k]);
      for (Index t = j; t < d; ++t) s = multiply_add(x[r][t], m[k * ldm + t], s);
      z[k * ldz + r] = s;
    }
}

// G(j.., k) += sum_i X(i, j..) P(i, k) for J vectors of columns of X starting at column j (J L columns)
// and C columns of P, over the rows of x: J x C running sums in registers, one pass down the rows.
template <class S, int J, int C>
inline void add_columns_times(const RowView<S>& x, Index j, const S* p, Index ldp, S* g, Index ldg) {
  constexpr int L = Lanes<S>::kCount;
  Vec<S> acc[J][C];
  for (int a = 0; a < J; ++a)
    for (int k = 0; k < C; ++k) acc[a][k] = load(g + k * ldg + a * L);
  for (Index i = 0; i < x.rows(); ++i) {
    const S* xi = x.row(i) + j;
    Vec<S> xa[J];
    for (int a = 0; a < J; ++a) xa[a] = load(xi + a * L);
    for (int k = 0; k < C; ++k) {
      const S pk = p[k * ldp + i];
      for (int a = 0; a < J; ++a) acc[a][k] += xa[a] * pk;
    }
  }
  for (int a = 0; a < J; ++a)
    for (int k = 0; k < C; ++k) store(g + k * ldg + a * L, acc[a][k]);
}

// G(j.., k) += sum_r X(r, j..) P(r, k) for R rows of X at once (x[r], their entries of P in pr[r][k]),
// J vectors of columns of X starting at column j, and C columns of P: the J vectors of each row in
// registers, then for each column k of P a load of G, R multiply-adds and a store. A group of rows
// takes G through L1 once, where the passes above go down all the rows once per J vectors of
// columns, reading J vectors of each row per pass. Each entry of G takes its rows' products one by
// one in row order, as above: the same bits.
template <class S, int R, int J, int C>
inline void add_rows_times(const S* const* x, const S (*pr)[C], Index j, S* g, Index ldg) {
  constexpr int L = Lanes<S>::kCount;
  Vec<S> xa[R][J];
  for (int r = 0; r < R; ++r)
    for (int a = 0; a < J; ++a) xa[r][a] = load(x[r] + j + a * L);
  S* gk = g + j;
  // Unrolled: the loop over k left GCC short of general registers, its counter on the stack.
#pragma GCC unroll 16
  for (int k = 0; k < C; ++k, gk += ldg) {
    Vec<S> acc[J];
    for (int a = 0; a < J; ++a) acc[a] = load(gk + a * L);
    for (int r = 0; r < R; ++r)
      for (int a = 0; a < J; ++a) acc[a] += xa[r][a] * pr[r][k];
    for (int a = 0; a < J; ++a) store(gk + a * L, acc[a]);
  }
}

// Blocks of the kernels, about the most sums the vector registers hold beside the vectors they
// multiply. With AVX-512's 32: X^T P goes down the rows with 2 vectors of columns of X against 10
// columns of P (20 sums); X M takes 5 rows against 5 columns of M (25 sums from 10 loads, where 2 rows
// x 10 columns made 20 sums from 22 loads, GCC folding each load of M into both FMAs:
// docs/performance.md, "X M by groups of 5 rows"). With 16 (AVX2): X^T P takes groups of 4 rows, 2
// vectors of each (8 registers) against a column of P at a time (add_rows_times: on a Zen 3, X^T P
// alone ran 1.3-1.6x faster at 64-256 rows and 2.7-6.6x at 4 096-60 000 rows than with passes down
// the rows of 1 vector against 10 columns of P, which read each row's cache lines in separate
// passes: docs/performance.md, "X^T P by groups of rows"), and X M
// takes 2 rows against 5 columns of M (10 sums, 2 vectors of X and the column of M: 13 registers).
// The column passes stay where AVX-512 holds 20 sums: on a Zen 4 the row groups were as fast in float
// on rows in cache, as the oracles' blocks of up to 128 rows are (1.11x in double at 256 rows, not
// tried), and 1.9-3.6x faster only on rows beyond the L2 cache, which no caller passes
// (docs/performance.md, "X^T P's two kernels with AVX-512").
#if defined(__AVX512F__)
inline constexpr bool kTransposeByRows = false;
inline constexpr int kColumnPassVectors = 2;
inline constexpr int kTimesRows = 5;
#else
inline constexpr bool kTransposeByRows = true;
inline constexpr int kColumnPassVectors = 1;
inline constexpr int kTimesRows = 2;
#endif
inline constexpr int kTransposeColumns = 10;
inline constexpr int kRowGroupRows = 4;     // add_rows_times: rows per group
inline constexpr int kRowGroupVectors = 2;  // and vectors of each row at a time
inline constexpr int kTimesColumns = 5;
// X M takes the rows kTimesRowBlock at a time (8 groups of 5, 125 kB of Fashion-MNIST rows: in L2
// when the next block of columns of M reads them again).
inline constexpr Index kTimesRowBlock = 8 * kTimesRows;

// Calls f.template operator()<K>() with K = min(k, N), for 1 <= k (the kernels' row and column counts
// are compile-time constants, so their sums stay in registers).
template <int N, class F>
inline void with_count(Index k, F&& f) {
  if constexpr (N > 1)
    if (k < N) return with_count<N - 1>(k, f);
  return f.template operator()<N>();
}

}  // namespace detail

// Z = X M: M is x.cols x c with column stride ldm, Z is x.rows x c with column stride ldz. Each entry
// is one dot product summed in the same order whatever the blocks, so the blocks change no bits.
template <class S>
void times(const RowView<S>& x, const S* m, Index ldm, Index c, S* z, Index ldz) {
  constexpr int R = detail::kTimesRows;
  const Index rows = x.rows(), d = x.cols;
  for (Index b0 = 0; b0 < rows; b0 += detail::kTimesRowBlock) {
    const Index b1 = std::min(rows, b0 + detail::kTimesRowBlock);
    for (Index k0 = 0; k0 < c; k0 += detail::kTimesColumns) {
      detail::with_count<detail::kTimesColumns>(c - k0, [&]<int C>() {
        Index i = b0;
        for (; i + R <= b1; i += R) {
          // The next group's rows, while this group is multiplied: a minibatch's rows lie anywhere in
          // memory, where the hardware prefetcher cannot guess them (only the first block of columns
          // reads them from memory; the later ones find them in cache and ask for this group again, a
          // no-op).
          const S* group[R];
          const S* ahead[R];
          for (int r = 0; r < R; ++r) {
            group[r] = x.row(i + r);
            ahead[r] = x.row(k0 == 0 && i + R + r < rows ? i + R + r : i + r);
          }
          detail::rows_times_columns<S, R, C>(group, ahead, d, m + k0 * ldm, ldm, z + k0 * ldz + i, ldz);
        }
        if (i < b1)  // the last rows mod R
          detail::with_count<R - 1>(b1 - i, [&]<int T>() {
            const S* last[T];
            for (int r = 0; r < T; ++r) last[r] = x.row(i + r);
            detail::rows_times_columns<S, T, C>(last, last, d, m + k0 * ldm, ldm, z + k0 * ldz + i, ldz);
          });
      });
    }
  }
}

namespace detail {

// G += X^T P by passes down the rows, kColumnPassVectors vectors of columns of X at a time.
template <class S>
void add_transpose_times_by_columns(const RowView<S>& x, const S* p, Index ldp, Index c, S* g, Index ldg) {
  constexpr int L = Lanes<S>::kCount;
  const Index d = x.cols;
  for (Index k0 = 0; k0 < c; k0 += kTransposeColumns) {
    const S* pk = p + k0 * ldp;
    S* gk = g + k0 * ldg;
    with_count<kTransposeColumns>(c - k0, [&]<int C>() {
      Index j = 0;
      constexpr int J = kColumnPassVectors;
      for (; j + J * L <= d; j += J * L) add_columns_times<S, J, C>(x, j, pk, ldp, gk + j, ldg);
      for (; j + L <= d; j += L) add_columns_times<S, 1, C>(x, j, pk, ldp, gk + j, ldg);
      for (; j < d; ++j)  // the last d mod L columns of X, one by one
        for (int k = 0; k < C; ++k) {
          S s = gk[k * ldg + j];
          for (Index i = 0; i < x.rows(); ++i) s = multiply_add(x.row(i)[j], pk[k * ldp + i], s);
          gk[k * ldg + j] = s;
        }
    });
  }
}

// G += X^T P by groups of kRowGroupRows rows (add_rows_times), the last rows mod kRowGroupRows in
// one smaller group.
template <class S>
void add_transpose_times_by_rows(const RowView<S>& x, const S* p, Index ldp, Index c, S* g, Index ldg) {
  constexpr int L = Lanes<S>::kCount, R = kRowGroupRows;
  const Index rows = x.rows(), d = x.cols;
  for (Index k0 = 0; k0 < c; k0 += kTransposeColumns) {
    const S* pk = p + k0 * ldp;
    S* gk = g + k0 * ldg;
    with_count<kTransposeColumns>(c - k0, [&]<int C>() {
      const auto group = [&]<int T>(Index i) {
        const S* xr[T];
        S pr[T][C];
        for (int r = 0; r < T; ++r) {
          xr[r] = x.row(i + r);
          for (int k = 0; k < C; ++k) pr[r][k] = pk[k * ldp + i + r];
        }
        Index j = 0;
        constexpr int J = kRowGroupVectors;
        for (; j + J * L <= d; j += J * L) add_rows_times<S, T, J, C>(xr, pr, j, gk, ldg);
        for (; j + L <= d; j += L) add_rows_times<S, T, 1, C>(xr, pr, j, gk, ldg);
        for (; j < d; ++j)  // the last d mod L columns of X, one by one
          for (int k = 0; k < C; ++k) {
            S s = gk[k * ldg + j];
            for (int r = 0; r < T; ++r) s = multiply_add(xr[r][j], pr[r][k], s);
            gk[k * ldg + j] = s;
          }
      };
      Index i = 0;
      for (; i + R <= rows; i += R) group.template operator()<R>(i);
      if (i < rows) with_count<R - 1>(rows - i, [&]<int T>() { group.template operator()<T>(i); });
    });
  }
}

}  // namespace detail

// G += X^T P: P is x.rows x c with column stride ldp, G is x.cols x c with column stride ldg. Each
// entry of G adds its rows' products in row order, whatever the kernel or its blocks.
template <class S>
void add_transpose_times(const RowView<S>& x, const S* p, Index ldp, Index c, S* g, Index ldg) {
  if constexpr (detail::kTransposeByRows)
    detail::add_transpose_times_by_rows(x, p, ldp, c, g, ldg);
  else
    detail::add_transpose_times_by_columns(x, p, ldp, c, g, ldg);
}

// The same with M, Z, P and G as column-major Eigen objects.
template <class S, class M, class Z>
void times(const RowView<S>& x, const M& m, Z&& z) {
  static_assert(!M::IsRowMajor && !std::remove_reference_t<Z>::IsRowMajor);
  times(x, m.data(), m.outerStride(), m.cols(), z.data(), z.outerStride());
}
template <class S, class P, class G>
void add_transpose_times(const RowView<S>& x, const P& p, G&& g) {
  static_assert(!P::IsRowMajor && !std::remove_reference_t<G>::IsRowMajor);
  add_transpose_times(x, p.data(), p.outerStride(), p.cols(), g.data(), g.outerStride());
}

}  // namespace bilevel::thin
