#include "bilevel/core/thin_products.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "gaussian_matrix.hpp"

namespace bilevel {
namespace thin_products_test {

using testing::gaussian_matrix;

// Every shape class the kernels branch on: rows below one group of X M (5), a group and a tail (7), a
// block of rows (40) and a tail of 3 (43), several blocks and a tail of 1 (131); d below one vector,
// between one and two vectors and not a multiple of the lane count (the scalar tails); and c below, at
// and beyond one block of columns of X M (5) and of X^T P (10), in both precisions; checked against
// Eigen's product.
template <class S>
void check_shapes(double tolerance) {
  for (Index rows : {1, 2, 4, 7, 43, 64, 131})
    for (Index d : {1, 5, 16, 23, 40, 64, 784})
      for (Index c : {1, 3, 5, 10, 11, 23}) {
        const RowMatrix<S> x = gaussian_matrix<RowMatrix<S>>(rows, d, 1 + static_cast<std::uint64_t>(rows * d));
        const Matrix<S> m = gaussian_matrix<Matrix<S>>(d, c, 2 + static_cast<std::uint64_t>(c));
        const Matrix<S> p = gaussian_matrix<Matrix<S>>(rows, c, 3 + static_cast<std::uint64_t>(c));
        const Matrix<S> g0 = gaussian_matrix<Matrix<S>>(d, c, 4);

        Matrix<S> z(rows, c);
        thin::times<S>(x, m, z);
        const Matrix<S> z_ref = x * m;
        EXPECT_LE((z - z_ref).norm(), tolerance * (1 + z_ref.norm())) << rows << " x " << d << " times " << c;

        Matrix<S> g = g0;
        thin::add_transpose_times<S>(x, p, g);
        const Matrix<S> g_ref = g0 + x.transpose() * p;
        EXPECT_LE((g - g_ref).norm(), tolerance * (1 + g_ref.norm())) << rows << " x " << d << ", " << c << " columns";
      }
}

TEST(ThinProducts, MatchEigenInDouble) { check_shapes<double>(1e-13); }
TEST(ThinProducts, MatchEigenInFloat) { check_shapes<float>(1e-5); }

// Blocks of larger matrices: a block of rows of a data matrix (row stride > d), columns of a wider
// matrix (column stride > d), writing into a block of a taller result.
TEST(ThinProducts, ReadAndWriteThroughStrides) {
  const RowMatrix<double> data = gaussian_matrix<RowMatrix<double>>(50, 40, 5);
  const Matrix<double> wide = gaussian_matrix<Matrix<double>>(60, 12, 6);
  const auto x = data.block(10, 3, 21, 33);  // rows 10..30, features 3..35: row stride 40
  const auto m = wide.block(5, 2, 33, 7);    // column stride 60
  Matrix<double> out = Matrix<double>::Zero(30, 9);
  auto z = out.block(4, 1, 21, 7);
  thin::times<double>(x, m, z);
  EXPECT_LE((out.block(4, 1, 21, 7) - x * m).norm(), 1e-12);
  EXPECT_EQ(out.topRows(4).norm(), 0.0);  // nothing written outside the block
  EXPECT_EQ(out.col(0).norm(), 0.0);

  Matrix<double> g_big = Matrix<double>::Zero(40, 9);
  auto g = g_big.block(3, 1, 33, 7);
  const Matrix<double> p = gaussian_matrix<Matrix<double>>(21, 7, 7);
  thin::add_transpose_times<double>(x, p, g);
  EXPECT_LE((g_big.block(3, 1, 33, 7) - x.transpose() * p).norm(), 1e-12);
  EXPECT_EQ(g_big.topRows(3).norm(), 0.0);
}

// The rounding depends only on the shapes and values: the same inputs give the same bits.
TEST(ThinProducts, SameInputsSameBits) {
  const RowMatrix<float> x = gaussian_matrix<RowMatrix<float>>(97, 784, 8);
  const Matrix<float> m = gaussian_matrix<Matrix<float>>(784, 10, 9);
  Matrix<float> a(97, 10), b(97, 10);
  thin::times<float>(x, m, a);
  thin::times<float>(x, m, b);
  EXPECT_EQ(a, b);
}

// Each entry of X M is one dot product summed in an order that depends on d alone, so a row's logits
// have the same bits whether the row is multiplied in a group of 5, in a tail of 1 to 4, alone, or
// with its columns of M in another block: a minibatch's chunks and blocks change no result.
TEST(ThinProducts, ARowsProductHasTheSameBitsInAnyGroup) {
  const RowMatrix<float> x = gaussian_matrix<RowMatrix<float>>(97, 789, 13);
  const Matrix<float> m = gaussian_matrix<Matrix<float>>(789, 13, 14);
  Matrix<float> all(97, 13);
  thin::times<float>(x, m, all);
  for (Index i = 0; i < x.rows(); ++i) {
    Matrix<float> alone(1, 13);
    thin::times<float>(thin::RowView<float>(x).middle(i, 1), m, alone);
    EXPECT_EQ(alone, all.row(i)) << "row " << i;
    Matrix<float> column(1, 1);
    thin::times<float>(thin::RowView<float>(x).middle(i, 1), m.col(12), column);
    EXPECT_EQ(column(0, 0), all(i, 12)) << "row " << i << ", the last column alone";
  }
}

// Both kernels of G += X^T P (passes down the rows, used with AVX-512; groups of rows, used without)
// add each entry's products in row order, so they give the same bits: on every shape class of either
// (groups of rows and their tail of 1 to 3, vectors of columns and the scalar tail, blocks of columns
// of P and their tail), in both precisions, through a view of chosen rows.
template <class S>
void expect_the_transpose_kernels_agree() {
  for (Index rows : {1, 3, 4, 7, 130})
    for (Index d : {1, 7, 16, 23, 40, 789})
      for (Index c : {1, 4, 10, 13}) {
        const RowMatrix<S> data = gaussian_matrix<RowMatrix<S>>(rows + 5, d, 20 + static_cast<std::uint64_t>(rows * d));
        std::vector<SampleId> ids(static_cast<std::size_t>(rows));
        for (Index i = 0; i < rows; ++i) ids[static_cast<std::size_t>(i)] = static_cast<SampleId>((7 * i + 3) % (rows + 5));
        const thin::RowView<S> x(data.data(), d, d, rows, ids.data());
        const Matrix<S> p = gaussian_matrix<Matrix<S>>(rows, c, 21 + static_cast<std::uint64_t>(c));
        Matrix<S> by_rows = gaussian_matrix<Matrix<S>>(d, c, 22), by_columns = by_rows;
        thin::detail::add_transpose_times_by_rows<S>(x, p.data(), rows, c, by_rows.data(), d);
        thin::detail::add_transpose_times_by_columns<S>(x, p.data(), rows, c, by_columns.data(), d);
        EXPECT_EQ(by_rows, by_columns) << rows << " x " << d << ", " << c << " columns";
      }
}

TEST(ThinProducts, TheTwoTransposeKernelsGiveTheSameBits) {
  expect_the_transpose_kernels_agree<float>();
  expect_the_transpose_kernels_agree<double>();
}

// The products through `view` (x.cols() = 37) equal those of `gathered`, the rows it names copied into
// one matrix, and its middle(2, 3) selects rows 2..4 of the view.
void expect_the_products_of(const thin::RowView<double>& view, const RowMatrix<double>& gathered) {
  const Index rows = gathered.rows();
  const Matrix<double> m = gaussian_matrix<Matrix<double>>(37, 12, 11);
  const Matrix<double> p = gaussian_matrix<Matrix<double>>(rows, 12, 12);
  Matrix<double> z(rows, 12), g = Matrix<double>::Zero(37, 12);
  thin::times(view, m, z);
  thin::add_transpose_times(view, p, g);
  EXPECT_LE((z - gathered * m).norm(), 1e-12);
  EXPECT_LE((g - gathered.transpose() * p).norm(), 1e-12);
  Matrix<double> z_middle(3, 12);
  thin::times(view.middle(2, 3), m, z_middle);
  EXPECT_LE((z_middle - gathered.middleRows(2, 3) * m).norm(), 1e-12);
}

// A view of chosen rows (a minibatch read in place) gives the product of the gathered rows, and its
// middle() selects rows of the view, not of the data.
TEST(ThinProducts, ReadTheRowsAViewOfIdsNames) {
  const RowMatrix<double> data = gaussian_matrix<RowMatrix<double>>(40, 37, 10);
  const std::vector<SampleId> ids{5, 0, 39, 5, 12, 7, 30};
  RowMatrix<double> gathered(static_cast<Index>(ids.size()), data.cols());
  for (std::size_t k = 0; k < ids.size(); ++k) gathered.row(static_cast<Index>(k)) = data.row(static_cast<Index>(ids[k]));
  expect_the_products_of(thin::RowView<double>(data.data(), data.cols(), data.cols(), static_cast<Index>(ids.size()), ids.data()),
                         gathered);
}

// A view of row pointers (rows in different buffers: stored rows and rows built for the call) gives
// the product of the rows it points to, and its middle() selects pointers of the view.
TEST(ThinProducts, ReadTheRowsAViewOfPointersNames) {
  const RowMatrix<double> data = gaussian_matrix<RowMatrix<double>>(40, 37, 15);
  const RowMatrix<double> built = gaussian_matrix<RowMatrix<double>>(3, 37, 16);
  const std::vector<const double*> pointers{data.row(5).data(), built.row(0).data(), data.row(39).data(),
                                            built.row(2).data(), data.row(0).data(), data.row(5).data(),
                                            built.row(1).data()};
  RowMatrix<double> gathered(static_cast<Index>(pointers.size()), 37);
  for (std::size_t k = 0; k < pointers.size(); ++k)
    gathered.row(static_cast<Index>(k)) = Eigen::Map<const RowMatrix<double>>(pointers[k], 1, 37);
  expect_the_products_of(thin::RowView<double>(pointers.data(), 37, static_cast<Index>(pointers.size())), gathered);
}

}  // namespace thin_products_test
}  // namespace bilevel
