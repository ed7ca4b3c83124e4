#include "bilevel/core/linalg.hpp"

#include <algorithm>
#include <cmath>

#include <Eigen/Eigenvalues>

// Singular values come from the symmetric eigenproblem of the Gram matrix G = A^T A (or A A^T, the
// smaller one), solved in double: sigma_i = sqrt(eig_i(G)). The largest singular values, the only ones
// these functions change or report, keep their relative accuracy (eps / 2). Eigen's BDCSVD would do
// the same work and took over two minutes to compile, the longest file of the build.

namespace bilevel {
namespace {

// The eigen-decomposition of the smaller Gram matrix of a matrix, in double, with the temporaries of the
// clip. One per thread, kept between calls: at a fixed shape (every projection of a run) Eigen reuses
// these matrices' memory, so the projections of the hot loop allocate (almost) nothing.
struct Gram {
  Matrix<double> a, product, scaled;
  Vector<double> scale;
  Eigen::SelfAdjointEigenSolver<Matrix<double>> eig;
  bool right = true;  // the decomposition is of A^T A (else A A^T)
};

template <class S>
Gram& gram(const Eigen::Ref<const Matrix<S>>& a, int options) {
  thread_local Gram g;
  g.a = a.template cast<double>();
  g.right = a.rows() >= a.cols();
  if (g.right) g.product.noalias() = g.a.transpose() * g.a;
  else g.product.noalias() = g.a * g.a.transpose();
  g.eig.compute(g.product, options);
  return g;
}

}  // namespace

template <class S>
S spectral_norm(const Eigen::Ref<const Matrix<S>>& a) {
  if (a.size() == 0) return S(0);
  const Gram& g = gram<S>(a, Eigen::EigenvaluesOnly);
  return static_cast<S>(std::sqrt(std::max(0.0, g.eig.eigenvalues().maxCoeff())));
}

template <class S>
bool clip_spectral_norm(Eigen::Ref<Matrix<S>> a, S radius) {
  if (a.size() == 0) return false;
  // A run's projections are mostly all inside the ball or all outside it. Inside, the eigenvalues
  // alone decide (and Eigen's eigenvector path would allocate a workspace); outside, the eigenvectors
  // are needed, so after a clip the next call computes them at once instead of deciding first. Both
  // paths run the same tridiagonal QR steps on the eigenvalues, so the decision and the result do not
  // depend on which one ran: a clip never depends on the calls before it.
  thread_local bool last_clipped = false;
  const bool with_vectors = last_clipped;
  Gram& g = gram<S>(a, with_vectors ? Eigen::ComputeEigenvectors : Eigen::EigenvaluesOnly);
  last_clipped = std::sqrt(std::max(0.0, g.eig.eigenvalues().maxCoeff())) > static_cast<double>(radius);
  if (!last_clipped) return false;
  if (!with_vectors) g.eig.compute(g.product, Eigen::ComputeEigenvectors);
  // With G = V diag(sigma^2) V^T, only the k singular values above radius change (sigma_i ->
  // radius): A - A V_k diag(1 - radius / sigma_i) V_k^T (or the same from the left for a wide A). The
  // eigenvalues are in increasing order, so V_k is the last k columns.
  const Vector<double>& eigenvalues = g.eig.eigenvalues();
  const Index n = eigenvalues.size();
  Index k = 0;
  while (k < n && std::sqrt(std::max(0.0, eigenvalues(n - 1 - k))) > static_cast<double>(radius)) ++k;
  const auto v = g.eig.eigenvectors().rightCols(k);
  g.scale.resize(n);  // at most n values above radius: full-sized buffers, no allocation as k varies
  auto scale = g.scale.head(k);
  for (Index i = 0; i < k; ++i) scale(i) = 1.0 - static_cast<double>(radius) / std::sqrt(eigenvalues(n - k + i));
  if (g.right) {
    g.scaled.resize(g.a.rows(), n);
    auto av = g.scaled.leftCols(k);
    av.noalias() = g.a * v;  // A V_k
    av = av * scale.asDiagonal();
    g.a.noalias() -= av * v.transpose();
  } else {
    g.scaled.resize(n, g.a.cols());
    auto ua = g.scaled.topRows(k);
    ua.noalias() = v.transpose() * g.a;  // U_k^T A
    ua = scale.asDiagonal() * ua;
    g.a.noalias() -= v * ua;
  }
  a = g.a.template cast<S>();
  return true;
}

double max_eigenvalue_symmetric(const Eigen::Ref<const Matrix<double>>& a) {
  Eigen::SelfAdjointEigenSolver<Matrix<double>> eig(a, Eigen::EigenvaluesOnly);
  return eig.eigenvalues().maxCoeff();
}

template float spectral_norm<float>(const Eigen::Ref<const Matrix<float>>&);
template double spectral_norm<double>(const Eigen::Ref<const Matrix<double>>&);
template bool clip_spectral_norm<float>(Eigen::Ref<Matrix<float>>, float);
template bool clip_spectral_norm<double>(Eigen::Ref<Matrix<double>>, double);

}  // namespace bilevel
