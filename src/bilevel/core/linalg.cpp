#include "bilevel/core/linalg.hpp"

#include <Eigen/Eigenvalues>
#include <Eigen/SVD>

namespace bilevel {

template <class S>
S spectral_norm(const Eigen::Ref<const Matrix<S>>& a) {
  if (a.size() == 0) return S(0);
  Eigen::BDCSVD<Matrix<S>> svd(a);
  return svd.singularValues()(0);
}

template <class S>
bool clip_spectral_norm(Eigen::Ref<Matrix<S>> a, S radius) {
  if (a.size() == 0) return false;
  Eigen::BDCSVD<Matrix<S>> svd(a, Eigen::ComputeThinU | Eigen::ComputeThinV);
  const auto& sigma = svd.singularValues();
  if (sigma(0) <= radius) return false;  // already inside: nothing to do
  a = svd.matrixU() * sigma.cwiseMin(radius).asDiagonal() * svd.matrixV().transpose();
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
