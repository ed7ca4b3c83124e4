#include "bilevel/core/linalg.hpp"
#include "bilevel/core/blas.hpp"
#include "bilevel/core/finite.hpp"
#include "bilevel/core/thin_products.hpp"  // kVectorBytes

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>

#include <Eigen/Eigenvalues>

// Singular values come from the symmetric eigenproblem of the Gram matrix G = A^T A (or A A^T, the
// smaller one), solved in A's own precision: sigma_i = sqrt(eig_i(G)). The largest singular values,
// the only ones these functions change or report, keep a relative accuracy of a few rounding units of
// that precision, the accuracy to which A itself is stored. (In double for a float A, the clip of
// equilibrium's 200 x 200 matrix took 1.33 ms, as long as a third of its hypergradient at two threads;
// in float it halves the bytes and doubles the vector width of the reduction, its main cost.) Eigen's
// BDCSVD would do the same work and took over two minutes to compile, the longest file of the build.

// LAPACK's dstemr (from OpenBLAS in the default build, else Debian's liblapack): the eigenpairs of
// a symmetric tridiagonal matrix whose eigenvalues lie in (vl, vu], by the MRRR algorithm. Its
// strength here is that it costs O(n) per eigenpair asked for, and keeps the vectors of close
// eigenvalues orthogonal (after a clip the top ones are all equal).
// Called in double for either precision: the tridiagonal matrix is O(n), and its eigenvalues then
// carry no error of their own beyond the reduction's.
extern "C" void dstemr_(const char* jobz, const char* range, const int* n, double* d, double* e, const double* vl,
                        const double* vu, const int* il, const int* iu, int* m, double* w, double* z, const int* ldz,
                        const int* nzc, int* isuppz, int* tryrac, double* work, const int* lwork, int* iwork,
                        const int* liwork, int* info, std::size_t jobz_length, std::size_t range_length);

namespace bilevel {
namespace {

// The Gram matrix of a matrix and the workspaces of a clip, in the matrix's precision S. One per
// thread and precision, kept between calls: at a fixed shape (every projection of a run) the buffers
// are reused, so the projections of the hot loop allocate nothing.
// The rows of one block of the reduction's kernel: four vectors of one register each (64 bytes with
// AVX-512, 32 otherwise: its 12 vectors of sums and factors then fit AVX2's 16 registers, where pairs
// of registers would spill, as in core/thin_products.hpp).
template <class S>
constexpr Index kReductionRows = 4 * thin::kVectorBytes / static_cast<Index>(sizeof(S));

template <class S>
struct Gram {
  Matrix<S> product;
  bool right = true;  // the Gram matrix is A^T A (else A A^T)
  // The clip: G = Q T Q^T (packed: T and the Householder vectors of Q, with their coefficients tau),
  // then T's eigenpairs above radius^2 (LAPACK, in double), then the pairs in G's basis (basis).
  // `packed` is the bottom n rows of `padded`, and p and w the bottom n values of theirs: the
  // reduction's kernel (update_and_multiply) works on whole blocks of kReductionRows rows, and a block
  // that reaches above the trailing matrix lands in these padding rows or in the upper triangle, which
  // the reduction no longer reads.
  Matrix<S> padded, basis, scaled;
  Vector<S> tau, scale, padded_p, padded_w;
  auto packed() { return padded.bottomRows(padded.rows() - kReductionRows<S>); }
  auto packed() const { return padded.bottomRows(padded.rows() - kReductionRows<S>); }
  Matrix<double> vectors;
  Vector<double> diagonal, subdiagonal, values, work;
  Eigen::VectorXi support, iwork;
};

// The lower triangle of the Gram matrix (lower_gram, core/blas.hpp: a symmetric rank-k update, half
// the flops of the full product), then mirrored into the upper one, so that the finiteness check sees
// every entry.
template <class S>
Gram<S>& gram(const Eigen::Ref<const Matrix<S>>& a) {
  thread_local Gram<S> g;
  g.right = a.rows() >= a.cols();
  const Index n = g.right ? a.cols() : a.rows();
  g.product.resize(n, n);
  if (g.right) lower_gram(g.product, a);
  else lower_gram(g.product, a.transpose());
  g.product.template triangularView<Eigen::StrictlyUpper>() = g.product.transpose();
  return g;
}

// Householder tridiagonalization of the symmetric g.packed, in place, in the layout of Eigen's
// tridiagonalization_inplace (which it replaces): T's diagonal and subdiagonal, and below the
// subdiagonal of column i the essential part of the reflector H_i = I - tau_i v_i v_i^T, v_i = (1, ...).
// Step i is the update A22 <- A22 - v w^T - w v^T of the trailing matrix, w = p - (tau p.v / 2) v with
// p = tau A22 v. It differs from Eigen's (which works on the lower triangle only) in two ways:
// - the matrix is kept whole (both triangles), so that A22 v is a sum of contiguous columns, with no
//   dot product (and its horizontal sum) per column;
// - one pass over the matrix per step: while a column of A22 is updated, it is also added into the
//   next step's product A33 v', whose reflector v' comes from the trailing matrix's first column,
//   updated first. Eigen's reads the trailing matrix twice per step (the product, then the update).
// The whole matrix costs twice the flops of a triangle; even so the clip of equilibrium's 200 x 200 A
// took 0.68 ms against 0.79 ms with Eigen's reduction (projection/spectral_clip, 2026-12-03).
// What it reads afterwards is the lower triangle and the diagonal; the upper triangle above the trailing
// matrix (row i+1 right of the diagonal, after step i) is not read again, and the kernel below uses it
// as scratch.
//
// One step's pass over the trailing matrix below its first row: the m columns c_j (stride `stride`)
// become c_j - v w_j - w v_j, and p = sum_j c_j next_v_j. Block by block of kReductionRows rows, each
// walking along its rows through every column: the block's part of v, w and p stays in registers, so
// that each column is loaded and stored once per step and p not at all. (The kernel it replaced took
// four columns at a time over all rows, loading and storing p once per four columns, plus a scalar
// remainder per column: 0.28-0.29 ms for the reduction of a 200 x 200 float matrix against 0.15 ms
// with this one, a standalone program, 2026-12-06.)
// The blocks end at row m; the first starts up to kReductionRows - 1 rows above row 0, where c, v, w
// and p point into the padding or the upper triangle (Gram's padded buffers): those rows are written
// (c, p) and read (v, w) as the rest, and nothing reads their results.
// GCC's vector extensions, one register wide (thin::kVectorBytes).
using FloatVector = float __attribute__((vector_size(thin::kVectorBytes)));
using DoubleVector = double __attribute__((vector_size(thin::kVectorBytes)));
template <class S>
void update_and_multiply(S* __restrict c, Index stride, Index m, const S* __restrict v, const S* __restrict w,
                         const S* __restrict next_v, S* __restrict p) {
  using V = std::conditional_t<std::is_same_v<S, float>, FloatVector, DoubleVector>;
  constexpr Index kLanes = static_cast<Index>(sizeof(V) / sizeof(S));
  static_assert(4 * kLanes == kReductionRows<S>);
  auto load = [](const S* x) {
    V r;
    std::memcpy(&r, x, sizeof(V));
    return r;
  };
  auto store = [](S* x, const V& r) { std::memcpy(x, &r, sizeof(V)); };
  const Index blocks = (m + kReductionRows<S> - 1) / kReductionRows<S>;
  for (Index r = m - blocks * kReductionRows<S>; r < m; r += kReductionRows<S>) {
    const S* vr = v + r;
    const S* wr = w + r;
    const V v0 = load(vr), v1 = load(vr + kLanes), v2 = load(vr + 2 * kLanes), v3 = load(vr + 3 * kLanes);
    const V w0 = load(wr), w1 = load(wr + kLanes), w2 = load(wr + 2 * kLanes), w3 = load(wr + 3 * kLanes);
    V s0 = {}, s1 = {}, s2 = {}, s3 = {};
    for (Index j = 0; j < m; ++j) {
      S* col = c + j * stride + r;
      const S vj = v[j], wj = w[j], nj = next_v[j];
      const V x0 = load(col) - (v0 * wj + w0 * vj);
      const V x1 = load(col + kLanes) - (v1 * wj + w1 * vj);
      const V x2 = load(col + 2 * kLanes) - (v2 * wj + w2 * vj);
      const V x3 = load(col + 3 * kLanes) - (v3 * wj + w3 * vj);
      store(col, x0);
      store(col + kLanes, x1);
      store(col + 2 * kLanes, x2);
      store(col + 3 * kLanes, x3);
      s0 += x0 * nj;
      s1 += x1 * nj;
      s2 += x2 * nj;
      s3 += x3 * nj;
    }
    S* pr = p + r;
    store(pr, s0);
    store(pr + kLanes, s1);
    store(pr + 2 * kLanes, s2);
    store(pr + 3 * kLanes, s3);
  }
}

template <class S>
void tridiagonalize(Gram<S>& g) {
  auto a = g.packed();
  const Index n = a.rows();
  g.tau.resize(std::max<Index>(n - 1, 0));
  if (n < 2) return;
  constexpr Index kPad = kReductionRows<S>;
  g.padded.topRows(kPad).setZero();  // what the kernel reads there stays finite and small
  if (g.padded_p.size() != n + kPad) g.padded_p.setZero(n + kPad);
  if (g.padded_w.size() != n + kPad) g.padded_w.setZero(n + kPad);
  auto product_v = g.padded_p.tail(n);
  S tau = 0, beta = 0;
  a.col(0).tail(n - 1).makeHouseholderInPlace(tau, beta);
  a(1, 0) = S(1);  // v_0 in place, until its step is done
  product_v.head(n - 1).noalias() = a.bottomRightCorner(n - 1, n - 1) * a.col(0).tail(n - 1);
  for (Index i = 0; i + 1 < n; ++i) {
    const Index m = n - 1 - i;  // the size of the trailing matrix A22 of this step
    const auto v = a.col(i).tail(m);
    auto p = product_v.head(m);
    auto w = g.padded_w.tail(n).head(m);
    p *= tau;
    w = p - (S(0.5) * tau * p.dot(v)) * v;
    auto a22 = a.bottomRightCorner(m, m);
    a22.col(0) -= v * w(0) + w * v(0);
    S next_tau = 0, next_beta = 0;
    if (m >= 2) {
      // The next reflector, from the updated first column, and the next product A33 v' in the same pass.
      auto next_v = a22.col(0).tail(m - 1);
      next_v.makeHouseholderInPlace(next_tau, next_beta);
      next_v(0) = S(1);
      update_and_multiply(&a22(1, 1), a.outerStride(), m - 1, &v(1), &w(1), &next_v(0), product_v.data());
    }
    a(i + 1, i) = beta;
    g.tau(i) = tau;
    tau = next_tau;
    beta = next_beta;
  }
}

// The eigenpairs of g.product with eigenvalues above `bound`, into g.values (ascending) and the first
// columns of g.basis; returns their number. Cost: the tridiagonal reduction (4/3 n^3) plus O(n^2) per
// pair, against about 9 n^3 for the full eigen-decomposition, which a clip needed before: a run's
// projections move one or two singular values (equilibrium models at h = 200). If the reduction
// overflows or LAPACK reports a failure, the full decomposition by Eigen gives the same pairs.
template <class S>
Index eigenpairs_above(Gram<S>& g, double bound) {
  const Index n = g.product.rows();
  if (g.padded.rows() != n + kReductionRows<S> || g.padded.cols() != n) g.padded.setZero(n + kReductionRows<S>, n);
  g.packed() = g.product;
  tridiagonalize(g);
  g.diagonal = g.packed().diagonal().template cast<double>();
  g.subdiagonal.resize(n);
  g.subdiagonal.head(n - 1) = g.packed().diagonal(-1).template cast<double>();
  g.subdiagonal(n - 1) = 0;
  g.values.resize(n);
  g.vectors.resize(n, n);
  g.basis.resize(n, n);
  g.support.resize(2 * n);
  g.work.resize(18 * n);
  g.iwork.resize(10 * n);
  const int size = static_cast<int>(n), lwork = 18 * size, liwork = 10 * size, unused = 0;
  const double upper = std::numeric_limits<double>::max();
  int found = 0, info = 0, high_accuracy = 1;
  // A finite G can still overflow in the reduction (entries near the largest finite value, whose
  // squares the reflectors sum), and dstemr's bisection never ends on the NaN that leaves in T (found
  // by fuzz_state). Nor did it end on a finite T with entries up to 5e303 (d = 4.6e-5, 5.3e303, -1.76,
  // 1.76; e = -2.6e149, 2.7e149, -1.02: fuzz_state again, 2026-12-08). Such a T goes to the full
  // decomposition below, which scales G before it starts; a run's Gram matrices are of order 1.
  // (A comparison with NaN is false and Inf is beyond the bound: one test covers all three cases.)
  constexpr double kLargestForStemr = 1e30;
  const bool reduced = (g.diagonal.array().abs() <= kLargestForStemr).all() &&
                       (g.subdiagonal.array().abs() <= kLargestForStemr).all();
  if (reduced)
    dstemr_("V", "V", &size, g.diagonal.data(), g.subdiagonal.data(), &bound, &upper, &unused, &unused, &found,
            g.values.data(), g.vectors.data(), &size, &size, g.support.data(), &high_accuracy, g.work.data(), &lwork,
            g.iwork.data(), &liwork, &info, 1, 1);
  if (!reduced || info != 0) {
    const Eigen::SelfAdjointEigenSolver<Matrix<S>> full(g.product);
    const Vector<S>& all = full.eigenvalues();
    Index k = 0;
    while (k < n && static_cast<double>(all(n - 1 - k)) > bound) ++k;
    g.values.head(k) = all.tail(k).template cast<double>();
    g.basis.leftCols(k) = full.eigenvectors().rightCols(k);
    return k;
  }
  // Back to G's basis: z <- Q z with Q = H_0 H_1 ... H_{n-2}, the reflector H_i = I - tau_i u_i u_i^T acting
  // on entries i+1.. with u_i = (1, the Householder vector stored below the subdiagonal of column i).
  // Written out because Eigen's HouseholderSequence allocates on this path (test_allocations).
  const auto packed = std::as_const(g).packed();
  const Vector<S>& tau = g.tau;
  g.basis.leftCols(found) = g.vectors.leftCols(found).template cast<S>();
  for (Index j = 0; j < found; ++j) {
    auto z = g.basis.col(j);
    for (Index i = n - 2; i >= 0; --i) {
      const Index length = n - 1 - i;
      auto sub = z.tail(length);
      const auto essential = packed.col(i).tail(length - 1);
      const S dot = sub(0) + essential.dot(sub.tail(length - 1));
      sub(0) -= tau(i) * dot;
      sub.tail(length - 1) -= (tau(i) * dot) * essential;
    }
  }
  return found;
}

}  // namespace

// In double for either precision: a reported figure (the runs' metrics), not a hot path. Eigen's
// float eigen-solver put ||A||_2 of equilibrium's initial A 1.6e-6 (relative) away from the double one.
template <class S>
S spectral_norm(const Eigen::Ref<const Matrix<S>>& a) {
  if (a.size() == 0) return S(0);
  const Gram<double>& g = gram<double>(a.template cast<double>());
  const Eigen::SelfAdjointEigenSolver<Matrix<double>> eig(g.product, Eigen::EigenvaluesOnly);
  return static_cast<S>(std::sqrt(std::max(0.0, eig.eigenvalues().maxCoeff())));
}

template <class S>
bool clip_spectral_norm(Eigen::Ref<Matrix<S>> a, S radius) {
  if (a.size() == 0) return false;
  Gram<S>& g = gram<S>(a);
  // A NaN or an overflow (to Inf in A^T A) would send dstemr's bisection into an endless loop (found
  // by fuzz_state): such an A is left as it is, and the outer loop stops on a lambda that is not finite.
  if (!all_finite(g.product)) return false;
  const double r = static_cast<double>(radius);
  const Index k = eigenpairs_above(g, r * r);
  if (k == 0) return false;
  // With G = V diag(sigma^2) V^T, only the k singular values above radius change (sigma_i ->
  // radius): A - A V_k diag(1 - radius / sigma_i) V_k^T (or the same from the left for a wide A).
  const Index n = g.product.rows();
  const auto v = g.basis.leftCols(k);
  g.scale.resize(n);  // at most n values above radius: full-sized buffers, no allocation as k varies
  auto scale = g.scale.head(k);
  for (Index i = 0; i < k; ++i) scale(i) = static_cast<S>(1.0 - r / std::sqrt(g.values(i)));
  if (g.right) {
    g.scaled.resize(a.rows(), n);
    auto av = g.scaled.leftCols(k);
    av.noalias() = a * v;  // A V_k
    av = av * scale.asDiagonal();
    a.noalias() -= av * v.transpose();
  } else {
    g.scaled.resize(n, a.cols());
    auto ua = g.scaled.topRows(k);
    ua.noalias() = v.transpose() * a;  // U_k^T A
    ua = scale.asDiagonal() * ua;
    a.noalias() -= v * ua;
  }
  return true;
}

double max_eigenvalue_symmetric(const Eigen::Ref<const Matrix<double>>& a) {
  Eigen::SelfAdjointEigenSolver<Matrix<double>> eig(a, Eigen::EigenvaluesOnly);
  return eig.eigenvalues().maxCoeff();
}

template <class S>
double gram_max_eigenvalue(const Eigen::Ref<const RowMatrix<S>>& x) {
  if (x.rows() == 0) return 0;
  constexpr Index kBlock = 1024;
  Matrix<double> gram = Matrix<double>::Zero(x.cols(), x.cols());
  RowMatrix<double> block;
  for (Index begin = 0; begin < x.rows(); begin += kBlock) {
    block = x.middleRows(begin, std::min(kBlock, x.rows() - begin)).template cast<double>();
    gram.selfadjointView<Eigen::Lower>().rankUpdate(block.transpose());  // the lower triangle only
  }
  gram.triangularView<Eigen::StrictlyUpper>() = gram.transpose();
  return max_eigenvalue_symmetric(gram / static_cast<double>(x.rows()));
}

template float spectral_norm<float>(const Eigen::Ref<const Matrix<float>>&);
template double spectral_norm<double>(const Eigen::Ref<const Matrix<double>>&);
template bool clip_spectral_norm<float>(Eigen::Ref<Matrix<float>>, float);
template bool clip_spectral_norm<double>(Eigen::Ref<Matrix<double>>, double);
template double gram_max_eigenvalue<float>(const Eigen::Ref<const RowMatrix<float>>&);
template double gram_max_eigenvalue<double>(const Eigen::Ref<const RowMatrix<double>>&);

}  // namespace bilevel
