#include "bilevel/core/linalg.hpp"
#include "bilevel/core/finite.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

#include <Eigen/Eigenvalues>

// Singular values come from the symmetric eigenproblem of the Gram matrix G = A^T A (or A A^T, the
// smaller one), solved in A's own precision: sigma_i = sqrt(eig_i(G)). The largest singular values,
// the only ones these functions change or report, keep a relative accuracy of a few rounding units of
// that precision, the accuracy to which A itself is stored. (In double for a float A, the clip of
// equilibrium's 200 x 200 matrix took 1.33 ms, as long as a third of its hypergradient at two threads;
// in float it halves the bytes and doubles the vector width of the reduction, its main cost.) Eigen's
// BDCSVD would do the same work and took over two minutes to compile, the longest file of the build.

// LAPACK (Debian's liblapack): the eigenpairs of a symmetric tridiagonal matrix whose eigenvalues lie
// in (vl, vu], by the MRRR algorithm. Its strength here is that it costs O(n) per eigenpair asked for,
// and keeps the vectors of close eigenvalues orthogonal (after a clip the top ones are all equal).
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
template <class S>
struct Gram {
  Matrix<S> product;
  bool right = true;  // the Gram matrix is A^T A (else A A^T)
  // The clip: G = Q T Q^T (packed: T and the Householder vectors of Q, with their coefficients tau),
  // then T's eigenpairs above radius^2 (LAPACK, in double), then the pairs in G's basis (basis).
  Matrix<S> packed, basis, scaled;
  Vector<S> tau, scale;
  Matrix<double> vectors;
  Vector<double> diagonal, subdiagonal, values, work;
  Eigen::VectorXi support, iwork;
};

// The lower triangle of the Gram matrix (a symmetric rank-k update: half the flops of the full
// product), then mirrored into the upper one, so that the finiteness check sees every entry.
template <class S>
Gram<S>& gram(const Eigen::Ref<const Matrix<S>>& a) {
  thread_local Gram<S> g;
  g.right = a.rows() >= a.cols();
  const Index n = g.right ? a.cols() : a.rows();
  g.product.setZero(n, n);
  if (g.right) g.product.template selfadjointView<Eigen::Lower>().rankUpdate(a.transpose());
  else g.product.template selfadjointView<Eigen::Lower>().rankUpdate(a);
  g.product.template triangularView<Eigen::StrictlyUpper>() = g.product.transpose();
  return g;
}

// The eigenpairs of g.product with eigenvalues above `bound`, into g.values (ascending) and the first
// columns of g.basis; returns their number. Cost: the tridiagonal reduction (4/3 n^3) plus O(n^2) per
// pair, against about 9 n^3 for the full eigen-decomposition, which a clip needed before: a run's
// projections move one or two singular values (equilibrium models at h = 200). If LAPACK reports a
// failure, the full decomposition by Eigen gives the same pairs.
template <class S>
Index eigenpairs_above(Gram<S>& g, double bound) {
  const Index n = g.product.rows();
  // Eigen's in-place reduction, as its Tridiagonalization class runs it: the class's accessor of tau
  // returns a copy, which would allocate in every clip.
  g.packed = g.product;
  g.tau.resize(n - 1);
  Eigen::internal::tridiagonalization_inplace(g.packed, g.tau);
  g.diagonal = g.packed.diagonal().template cast<double>();
  g.subdiagonal.resize(n);
  g.subdiagonal.head(n - 1) = g.packed.diagonal(-1).template cast<double>();
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
  dstemr_("V", "V", &size, g.diagonal.data(), g.subdiagonal.data(), &bound, &upper, &unused, &unused, &found,
          g.values.data(), g.vectors.data(), &size, &size, g.support.data(), &high_accuracy, g.work.data(), &lwork,
          g.iwork.data(), &liwork, &info, 1, 1);
  if (info != 0) {
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
  const Matrix<S>& packed = g.packed;
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
