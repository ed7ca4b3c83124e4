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

// The eigen-decomposition of the smaller Gram matrix of `a`, in double; `right` says it is A^T A.
struct Gram {
  Eigen::SelfAdjointEigenSolver<Matrix<double>> eig;
  bool right = true;
};

template <class S>
Gram gram(const Eigen::Ref<const Matrix<S>>& a, int options) {
  const Matrix<double> ad = a.template cast<double>();
  Gram g;
  g.right = a.rows() >= a.cols();
  const Matrix<double> product = g.right ? Matrix<double>(ad.transpose() * ad) : Matrix<double>(ad * ad.transpose());
  g.eig.compute(product, options);
  return g;
}

}  // namespace

template <class S>
S spectral_norm(const Eigen::Ref<const Matrix<S>>& a) {
  if (a.size() == 0) return S(0);
  const Gram g = gram<S>(a, Eigen::EigenvaluesOnly);
  return static_cast<S>(std::sqrt(std::max(0.0, g.eig.eigenvalues().maxCoeff())));
}

template <class S>
bool clip_spectral_norm(Eigen::Ref<Matrix<S>> a, S radius) {
  if (a.size() == 0) return false;
  const Gram g = gram<S>(a, Eigen::ComputeEigenvectors);
  // Each singular value sigma_i is scaled by min(1, radius / sigma_i): with G = V diag(sigma^2) V^T,
  // A V diag(scale) V^T (or U diag(scale) U^T A) clips the large ones and leaves the others as they are.
  const Vector<double> sigma = g.eig.eigenvalues().cwiseMax(0.0).cwiseSqrt();
  if (sigma.maxCoeff() <= static_cast<double>(radius)) return false;  // already inside: nothing to do
  Vector<double> scale(sigma.size());
  for (Index i = 0; i < sigma.size(); ++i) scale(i) = sigma(i) > radius ? radius / sigma(i) : 1.0;
  const Matrix<double>& v = g.eig.eigenvectors();
  const Matrix<double> projector = v * scale.asDiagonal() * v.transpose();
  const Matrix<double> ad = a.template cast<double>();
  a = (g.right ? Matrix<double>(ad * projector) : Matrix<double>(projector * ad)).template cast<S>();
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
