#pragma once
// Vector, matrix and sample-id types shared by every layer. The scalar type is a template parameter
// everywhere: float for speed and memory, double for checks.
#include <Eigen/Core>
#include <cstdint>
#include <span>

#include "bilevel/core/blas.hpp"  // how Eigen's products run (OpenBLAS, one thread per call)

namespace bilevel {

using Index = Eigen::Index;

template <class S> using Vector = Eigen::Matrix<S, Eigen::Dynamic, 1>;
template <class S> using Matrix = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;
// Data matrices keep one example per row, contiguous.
template <class S> using RowMatrix = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

template <class S> using VectorRef = Eigen::Ref<Vector<S>>;
template <class S> using ConstVectorRef = Eigen::Ref<const Vector<S>>;

// A sample is named by a 64-bit id: an example index for finite data sets, or a draw from an
// unbounded stream whose randomness the problem derives from the id (see rng.hpp, sample_rng).
using SampleId = std::uint64_t;
// A minibatch is a view of sample ids; oracles average over it.
using Batch = std::span<const SampleId>;

}  // namespace bilevel
