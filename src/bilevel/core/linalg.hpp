#pragma once
// Dense decompositions, compiled once in linalg.cpp (float and double) rather than in every file that
// includes a problem: Eigen's SVD and eigen-solvers are heavy templates.
#include "bilevel/core/types.hpp"

namespace bilevel {

// ||A||_2, the largest singular value (0 for an empty matrix).
template <class S>
S spectral_norm(const Eigen::Ref<const Matrix<S>>& a);

// Replaces A by its nearest matrix (in Frobenius norm) with ||A||_2 <= radius: the singular values
// are clipped at radius. Returns whether anything changed. A matrix with a NaN or Inf (or whose
// Gram matrix overflows) is left unchanged: nothing can be clipped in it, and the caller's finiteness
// check reports it.
template <class S>
bool clip_spectral_norm(Eigen::Ref<Matrix<S>> a, S radius);

// The largest eigenvalue of a symmetric matrix.
double max_eigenvalue_symmetric(const Eigen::Ref<const Matrix<double>>& a);

// lambda_max(X^T X / n) for the n rows of X (0 for no rows): the top eigenvalue of the Gram matrix in
// double, exact where power iteration can stop below it when the top eigenvalues are close. The Gram
// matrix is summed over blocks of rows, so X is never copied whole into double (at 50 000
// Fashion-MNIST rows that copy was 314 MB, the largest allocation of a run).
template <class S>
double gram_max_eigenvalue(const Eigen::Ref<const RowMatrix<S>>& x);

}  // namespace bilevel
