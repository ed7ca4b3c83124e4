#pragma once
// Scratch memory for the temporaries of the oracles, so that the hot loop allocates nothing.
//
// Each use names its buffer by a tag type (one per call site). The buffer belongs to the calling
// thread and only grows: once an oracle has run at its largest batch, its later calls reuse the memory.
// The price is that a thread keeps its largest temporaries until it ends (the same trade as PyTorch's
// caching allocator). Buffers are aligned as Eigen aligns its own matrices, so kernels take the same
// vectorised paths, with the same results, as on Eigen-allocated temporaries.
//
// A buffer may be used again only after its previous use has ended: a tag must not be reused by a
// function that can be called while the buffer is still in use (recursion). Buffers shared by the
// threads of a parallel loop (per-chunk partial sums) are taken by the calling thread before the loop.
#include <cstddef>
#include <span>
#include <vector>

#include <Eigen/Core>

#include "bilevel/core/types.hpp"

namespace bilevel {

template <class S>
using ScratchMatrix = Eigen::Map<Matrix<S>, Eigen::AlignedMax>;
template <class S>
using ScratchRows = Eigen::Map<RowMatrix<S>, Eigen::AlignedMax>;
template <class S>
using ScratchVector = Eigen::Map<Vector<S>, Eigen::AlignedMax>;

// Makes v hold at least n values, without copying the old ones (they are about to be overwritten):
// memory that only grows, for scratch buffers and for the values a problem keeps between calls.
template <class T, class Allocator>
void grow_without_copy(std::vector<T, Allocator>& v, std::size_t n) {
  if (v.size() >= n) return;
  v.clear();
  v.resize(n);
}

namespace scratch_detail {
template <class Tag, class S>
S* buffer(Index size) {
  thread_local std::vector<S, Eigen::aligned_allocator<S>> memory;
  grow_without_copy(memory, static_cast<std::size_t>(size));
  return memory.data();
}
}  // namespace scratch_detail

// A rows x cols column-major scratch matrix of the calling thread (contents unspecified).
template <class Tag, class S>
ScratchMatrix<S> scratch_matrix(Index rows, Index cols) {
  return {scratch_detail::buffer<Tag, S>(rows * cols), rows, cols};
}

// A rows x cols row-major scratch matrix of the calling thread (contents unspecified).
template <class Tag, class S>
ScratchRows<S> scratch_rows(Index rows, Index cols) {
  return {scratch_detail::buffer<Tag, S>(rows * cols), rows, cols};
}

// A scratch vector of n values of the calling thread (contents unspecified).
template <class Tag, class S>
ScratchVector<S> scratch_vector(Index n) {
  return {scratch_detail::buffer<Tag, S>(n), n};
}

// n values of T (labels, weights) of the calling thread (contents unspecified).
template <class Tag, class T>
std::span<T> scratch_span(std::size_t n) {
  return {scratch_detail::buffer<Tag, T>(static_cast<Index>(n)), n};
}

// Adds columns 1.. of `parts` into column 0 in order and returns it: the fixed-order reduction of
// per-chunk partial sums kept as columns (core/parallel.hpp).
template <class S>
auto sum_columns_in_order(ScratchMatrix<S>& parts) {
  for (Index c = 1; c < parts.cols(); ++c) parts.col(0) += parts.col(c);
  return parts.col(0);
}

}  // namespace bilevel
