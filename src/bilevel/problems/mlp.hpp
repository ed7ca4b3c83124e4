#pragma once
// A fully connected network with tanh on every layer, as a function of its parameters: the learned
// representation of meta-learning. Examples are rows. Layer l maps A_{l-1} (n x in) to
//   A_l = tanh(A_{l-1} W_l^T + 1 b_l^T),   W_l out x in,
// and the parameters are [W_1 (column-major), b_1, W_2, b_2, ...]. tanh keeps every feature in (-1, 1),
// which bounds the smoothness of whatever is trained on top, for all parameters.
//   backward, cotangent dA_L:  dZ_l = dA_l o (1 - A_l^2),  dW_l = dZ_l^T A_{l-1},  db_l = dZ_l^T 1,
//                              dA_{l-1} = dZ_l W_l
#include <fmt/format.h>

#include <vector>

#include "bilevel/core/error.hpp"
#include "bilevel/core/parallel.hpp"
#include "bilevel/core/rng.hpp"
#include "bilevel/core/scratch.hpp"
#include "bilevel/core/types.hpp"

namespace bilevel {

template <class S>
class TanhMlp {
 public:
  TanhMlp(Index input, std::vector<Index> layers) : sizes_{input} {
    if (input < 1) throw InvalidOptions(fmt::format("network input size must be >= 1, got {}", input));
    if (layers.empty()) throw InvalidOptions("the network needs at least one layer");
    for (Index s : layers) {
      if (s < 1) throw InvalidOptions(fmt::format("network layer sizes must be >= 1, got {}", s));
      sizes_.push_back(s);
    }
  }

  Index input_dim() const { return sizes_.front(); }
  Index output_dim() const { return sizes_.back(); }
  Index num_layers() const { return static_cast<Index>(sizes_.size()) - 1; }
  Index num_parameters() const {
    Index n = 0;
    for (Index l = 1; l <= num_layers(); ++l) n += layer_parameters(l);
    return n;
  }

  // acts[0] = x, acts[l] = layer l's output; acts.back() are the features.
  void forward(ConstVectorRef<S> params, const RowMatrix<S>& x, std::vector<RowMatrix<S>>& acts) const {
    acts.resize(static_cast<std::size_t>(num_layers() + 1));
    acts[0] = x;
    forward(params, acts);
  }

  // The same with the input already in acts[0] (the caller gathers it there). Parallel over chunks of
  // rows (core/parallel.hpp): rows are independent, so every thread count gives the same bits. No
  // allocation once the activations have their sizes.
  void forward(ConstVectorRef<S> params, std::vector<RowMatrix<S>>& acts) const {
    if (acts.empty() || acts[0].cols() != input_dim())
      throw InvalidOptions(fmt::format("network input: {} columns, the network takes {}", acts.empty() ? 0 : acts[0].cols(),
                                       input_dim()));
    const Index n = acts[0].rows();
    acts.resize(static_cast<std::size_t>(num_layers() + 1));
    for (Index l = 1; l <= num_layers(); ++l) acts[static_cast<std::size_t>(l)].resize(n, sizes_[l]);
    for_each_chunk(row_chunks(n), [&](Index, Index begin, Index m) {
      Index offset = 0;
      for (Index l = 1; l <= num_layers(); ++l) {
        auto a = acts[static_cast<std::size_t>(l)].middleRows(begin, m);
        a.noalias() = acts[static_cast<std::size_t>(l - 1)].middleRows(begin, m) * weight(params, l, offset).transpose();
        a.rowwise() += bias(params, l, offset).transpose();
        a = a.array().tanh();
        offset += layer_parameters(l);
      }
    });
  }

  // grad (num_parameters) += the parameters' part of the vjp of the features with cotangent d_out
  // (n x output_dim, overwritten), at the activations `acts` of forward. Parallel, and the same bits at
  // every thread count: the activations' cotangents by chunks of rows; each weight gradient
  // dZ_l^T A_{l-1} by chunks of its columns, each chunk summing over all rows (no partial sums to add
  // up, where chunks of rows would each need a copy of the whole gradient). Scratch memory only.
  void backward(ConstVectorRef<S> params, const std::vector<RowMatrix<S>>& acts, Eigen::Ref<RowMatrix<S>> d_out,
                VectorRef<S> grad) const {
    struct Even;
    struct Odd;
    using RowsView = Eigen::Map<RowMatrix<S>, 0, Eigen::OuterStride<>>;
    const Index n = d_out.rows();
    if (d_out.cols() != output_dim() || acts.size() != static_cast<std::size_t>(num_layers() + 1) || acts.back().rows() != n)
      throw InvalidOptions(fmt::format("network backward: a {} x {} cotangent for {} rows of {} features", n, d_out.cols(),
                                       acts.empty() ? 0 : acts.back().rows(), output_dim()));
    const RowChunks rows = row_chunks(n);
    S* d = d_out.data();  // dA_l, then dZ_l (n x sizes_[l], row-major, leading dimension ld)
    Index ld = d_out.outerStride();
    Index offset = num_parameters();
    for (Index l = num_layers(); l >= 1; --l) {
      const std::size_t ul = static_cast<std::size_t>(l);
      offset -= layer_parameters(l);
      const RowsView dz(d, n, sizes_[l], Eigen::OuterStride<>(ld));
      // dA_{l-1}, in the buffer that does not hold dA_l
      auto below = l % 2 ? scratch_rows<Odd, S>(n, l > 1 ? sizes_[l - 1] : 0) : scratch_rows<Even, S>(n, sizes_[l - 1]);
      for_each_chunk(rows, [&](Index, Index begin, Index m) {
        auto dzc = RowsView(d + begin * ld, m, sizes_[l], Eigen::OuterStride<>(ld));
        dzc.array() *= S(1) - acts[ul].middleRows(begin, m).array().square();
        if (l > 1) below.middleRows(begin, m).noalias() = dzc * weight(params, l, offset);
      });
      Eigen::Map<Matrix<S>> dw(grad.data() + offset, sizes_[l], sizes_[l - 1]);
      for_each_chunk(row_chunks(sizes_[l - 1]), [&](Index, Index begin, Index k) {
        dw.middleCols(begin, k).noalias() += dz.transpose() * acts[ul - 1].middleCols(begin, k);
      });
      grad.segment(offset + sizes_[l] * sizes_[l - 1], sizes_[l]) += dz.colwise().sum().transpose();
      d = below.data();
      ld = sizes_[l - 1];
    }
  }

  // Parameters with weights N(0, scale^2 / fan_in) and zero biases.
  Vector<S> initial(std::uint64_t seed, double scale = 1.0) const {
    Rng rng = RandomStreams(seed).stream("mlp/init");
    Vector<S> p = Vector<S>::Zero(num_parameters());
    Index offset = 0;
    for (Index l = 1; l <= num_layers(); ++l) {
      const double sd = scale / std::sqrt(static_cast<double>(sizes_[l - 1]));
      for (Index i = 0; i < sizes_[l] * sizes_[l - 1]; ++i) p(offset + i) = static_cast<S>(sd * rng.normal());
      offset += layer_parameters(l);
    }
    return p;
  }

 private:
  Eigen::Map<const Matrix<S>> weight(ConstVectorRef<S> p, Index l, Index offset) const {
    return {p.data() + offset, sizes_[l], sizes_[l - 1]};
  }
  Eigen::Map<const Vector<S>> bias(ConstVectorRef<S> p, Index l, Index offset) const {
    return {p.data() + offset + sizes_[l] * sizes_[l - 1], sizes_[l]};
  }
  Index layer_parameters(Index l) const { return sizes_[l] * sizes_[l - 1] + sizes_[l]; }  // W_l and b_l
  std::vector<Index> sizes_;  // input, layer 1, ..., layer L
};

}  // namespace bilevel
