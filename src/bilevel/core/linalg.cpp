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
  Matrix<double> a, product, scaled, projector, result;
  Vector<double> sigma, scale;
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
  // The eigenvalues alone first: inside the ball (the usual case once a run settles) nothing more is
  // computed, and nothing is allocated; Eigen's eigenvector path allocates a workspace vector.
  if (std::sqrt(std::max(0.0, gram<S>(a, Eigen::EigenvaluesOnly).eig.eigenvalues().maxCoeff())) <=
      static_cast<double>(radius))
    return false;
  Gram& g = gram<S>(a, Eigen::ComputeEigenvectors);
  // Each singular value sigma_i is scaled by min(1, radius / sigma_i): with G = V diag(sigma^2) V^T,
  // A V diag(scale) V^T (or U diag(scale) U^T A) clips the large ones and leaves the others as they are.
  g.sigma = g.eig.eigenvalues().cwiseMax(0.0).cwiseSqrt();
  g.scale.resize(g.sigma.size());
  for (Index i = 0; i < g.sigma.size(); ++i) g.scale(i) = g.sigma(i) > radius ? radius / g.sigma(i) : 1.0;
  const Matrix<double>& v = g.eig.eigenvectors();
  g.scaled.noalias() = v * g.scale.asDiagonal();
  g.projector.noalias() = g.scaled * v.transpose();
  if (g.right) g.result.noalias() = g.a * g.projector;
  else g.result.noalias() = g.projector * g.a;
  a = g.result.template cast<S>();
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
