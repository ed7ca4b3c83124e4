// multiply() (core/blas.hpp) against a product summed in long double, for every operand layout the
// problems pass (stored, transposed, row-major, blocks with an outer stride), on both sides of the
// size from which it calls OpenBLAS, in float and double, with and without accumulation; and the
// OpenBLAS call itself (detail::blas_multiply) the same way, whichever kernels OpenBLAS chose on this
// machine (multiply() calls it only with AVX-512 kernels; ctest forces those where the CPU has them,
// CMakeLists.txt). lower_gram() and its OpenBLAS call (detail::blas_lower_gram) likewise.
#include "bilevel/core/blas.hpp"

#include <gtest/gtest.h>

#include "bilevel/core/types.hpp"
#include "gaussian_matrix.hpp"

namespace bilevel {
namespace blas_test {

using testing::gaussian_matrix;

template <class S, class A, class B>
Matrix<S> reference(const Matrix<S>& start, const A& a, const B& b, bool add) {
  Matrix<S> c(a.rows(), b.cols());
  for (Index j = 0; j < c.cols(); ++j)
    for (Index i = 0; i < c.rows(); ++i) {
      long double sum = add ? start(i, j) : 0;
      for (Index k = 0; k < a.cols(); ++k) sum += static_cast<long double>(a(i, k)) * b(k, j);
      c(i, j) = static_cast<S>(sum);
    }
  return c;
}

template <class S, class Product>
void expect_all_layouts_multiply(Index m, Index n, Index k, Product product) {
  const double tolerance = (sizeof(S) == 4 ? 1e-5 : 1e-13) * static_cast<double>(k);
  const Matrix<S> a = gaussian_matrix<Matrix<S>>(m, k, 1), at = a.transpose();
  const RowMatrix<S> a_rows = a;                                             // row-major, as data matrices
  const Matrix<S> b = gaussian_matrix<Matrix<S>>(k + 3, n + 2, 2);           // b.block: an outer stride
  const RowMatrix<S> b_rows = gaussian_matrix<RowMatrix<S>>(n + 1, k, 3);    // its transpose, row-major
  const Matrix<S> start = gaussian_matrix<Matrix<S>>(m + 4, n, 4);
  const auto bb = b.block(1, 2, k, n);
  const auto bt = b_rows.topRows(n).transpose();
  for (bool add : {false, true}) {
    Matrix<S> big = start;  // the result is a block of it: an outer stride
    auto c = big.middleRows(2, m);
    const Matrix<S> before = c;
    auto check = [&](const char* what, const Matrix<S>& expected) {
      const double error = static_cast<double>((Matrix<S>(c) - expected).cwiseAbs().maxCoeff());
      EXPECT_LE(error, tolerance) << what << " at " << m << " x " << n << " x " << k << (add ? ", add" : "");
      c = before;
    };
    product(c, a, bb, add);
    check("A B", reference<S>(before, a, bb, add));
    product(c, at.transpose(), bb, add);
    check("(A^T)^T B", reference<S>(before, a, bb, add));
    product(c, a_rows, bt, add);
    check("A (row-major) B^T (row-major)", reference<S>(before, a, bt, add));
    product(c, a_rows.middleCols(0, k), b_rows.topRows(n).transpose(), add);
    check("blocks of row-major matrices", reference<S>(before, a, bt, add));
    EXPECT_EQ(big.topRows(2), start.topRows(2)) << "rows above the result changed";
    EXPECT_EQ(big.bottomRows(2), start.bottomRows(2)) << "rows below the result changed";
  }
}

// The products under test, as generic callables (function templates cannot be passed as such).
const auto kMultiply = [](auto&& c, const auto& a, const auto& b, bool add) { multiply(c, a, b, add); };

TEST(Multiply, EveryLayoutBelowTheBlasSize) {
  expect_all_layouts_multiply<float>(20, 9, 30, kMultiply);
  expect_all_layouts_multiply<double>(20, 9, 30, kMultiply);
}

// 200 x 64 x 200: equilibrium's A Z on a chunk of 64 examples (OpenBLAS in the default build); 100^3,
// the largest product left to Eigen; and just above it.
TEST(Multiply, EveryLayoutAtTheBlasSize) {
  expect_all_layouts_multiply<float>(200, 64, 200, kMultiply);
  expect_all_layouts_multiply<double>(200, 64, 200, kMultiply);
  expect_all_layouts_multiply<float>(100, 100, 100, kMultiply);
  expect_all_layouts_multiply<float>(200, 126, 40, kMultiply);
}

#ifdef BILEVEL_OPENBLAS
TEST(Multiply, OpenBlasGetsEveryLayoutRight) {
  const auto blas = [](auto&& c, const auto& a, const auto& b, bool add) { detail::blas_multiply(c, a, b, add); };
  expect_all_layouts_multiply<float>(20, 9, 30, blas);
  expect_all_layouts_multiply<double>(20, 9, 30, blas);
  expect_all_layouts_multiply<float>(200, 64, 200, blas);
  expect_all_layouts_multiply<double>(200, 64, 200, blas);
}
#endif

// The lower triangle of A^T A against the sums in long double, for a stored A, a block of one with an
// outer stride, and a transposed (row-major) one; the upper triangle must keep what it held.
template <class S, class Gram>
void expect_lower_gram(Index rows, Index cols, Gram gram) {
  const double tolerance = (sizeof(S) == 4 ? 1e-5 : 1e-13) * static_cast<double>(rows);
  const Matrix<S> a = gaussian_matrix<Matrix<S>>(rows, cols, 5);
  const Matrix<S> padded = gaussian_matrix<Matrix<S>>(rows + 3, cols + 1, 6);
  const Matrix<S> at = gaussian_matrix<Matrix<S>>(cols, rows, 7);
  const Matrix<S> start = gaussian_matrix<Matrix<S>>(cols + 2, cols, 8);  // the result: a block of it
  const auto block = padded.block(2, 1, rows, cols);
  auto check = [&](const char* what, const auto& operand) {
    Matrix<S> big = start;
    auto c = big.middleRows(1, cols);
    gram(c, operand);
    const Matrix<S> expected = reference<S>(Matrix<S>::Zero(cols, cols), Matrix<S>(operand.transpose()), operand, false);
    for (Index j = 0; j < cols; ++j)
      for (Index i = 0; i < cols; ++i) {
        const double expect = static_cast<double>(i >= j ? expected(i, j) : start(1 + i, j));
        EXPECT_NEAR(static_cast<double>(c(i, j)), expect, i >= j ? tolerance : 0.0)
            << what << " entry (" << i << ", " << j << ") at " << rows << " x " << cols;
      }
    EXPECT_EQ(big.row(0), start.row(0)) << what << ": the row above the result changed";
    EXPECT_EQ(big.row(cols + 1), start.row(cols + 1)) << what << ": the row below the result changed";
  };
  check("A", a);
  check("a block of A", block);
  check("(A^T)^T", at.transpose());
}

const auto kLowerGram = [](auto&& c, const auto& a) { lower_gram(c, a); };

// 30 x 20: Eigen's rank update; 200 x 200, equilibrium's A (OpenBLAS in the default build).
TEST(LowerGram, EveryLayoutOnBothSidesOfTheBlasSize) {
  expect_lower_gram<float>(30, 20, kLowerGram);
  expect_lower_gram<double>(30, 20, kLowerGram);
  expect_lower_gram<float>(200, 200, kLowerGram);
  expect_lower_gram<double>(120, 90, kLowerGram);
}

#ifdef BILEVEL_OPENBLAS
TEST(LowerGram, OpenBlasGetsEveryLayoutRight) {
  const auto blas = [](auto&& c, const auto& a) { detail::blas_lower_gram(c, a); };
  expect_lower_gram<float>(30, 20, blas);
  expect_lower_gram<double>(30, 20, blas);
  expect_lower_gram<float>(200, 200, blas);
}
#endif

TEST(Multiply, NamesItsKernels) {
  const std::string kernels = blas_kernels();
#ifdef BILEVEL_OPENBLAS
  const std::string core = openblas_get_corename();
  EXPECT_NE(kernels.find(core), std::string::npos) << kernels;
  EXPECT_EQ(kernels.rfind(detail::blas_is_fast() ? "OpenBLAS (" : "Eigen's own kernels", 0), 0u) << kernels;
#else
  EXPECT_EQ(kernels, "Eigen's own kernels");
#endif
}

}  // namespace blas_test
}  // namespace bilevel
