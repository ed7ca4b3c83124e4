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
#include "bilevel/core/rng.hpp"
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
    for (Index l = 1; l <= num_layers(); ++l) n += sizes_[l] * sizes_[l - 1] + sizes_[l];
    return n;
  }

  // acts[0] = x, acts[l] = layer l's output; acts.back() are the features.
  void forward(ConstVectorRef<S> params, const RowMatrix<S>& x, std::vector<RowMatrix<S>>& acts) const {
    acts.resize(static_cast<std::size_t>(num_layers() + 1));
    acts[0] = x;
    Index offset = 0;
    for (Index l = 1; l <= num_layers(); ++l) {
      const auto w = weight(params, l, offset);
      const auto b = bias(params, l, offset);
      RowMatrix<S>& a = acts[static_cast<std::size_t>(l)];
      a.noalias() = acts[static_cast<std::size_t>(l - 1)] * w.transpose();
      a.rowwise() += b.transpose();
      a = a.array().tanh();
      offset += sizes_[l] * sizes_[l - 1] + sizes_[l];
    }
  }

  // grad (num_parameters) += the parameters' part of the vjp of the features with cotangent d_out.
  void backward(ConstVectorRef<S> params, const std::vector<RowMatrix<S>>& acts, RowMatrix<S> d_out,
                VectorRef<S> grad) const {
    std::vector<Index> offsets(static_cast<std::size_t>(num_layers() + 1), 0);
    for (Index l = 1; l <= num_layers(); ++l)
      offsets[static_cast<std::size_t>(l)] = offsets[static_cast<std::size_t>(l - 1)] + sizes_[l] * sizes_[l - 1] + sizes_[l];
    RowMatrix<S>& d = d_out;  // dA_l, then dZ_l
    for (Index l = num_layers(); l >= 1; --l) {
      const std::size_t ul = static_cast<std::size_t>(l);
      const Index offset = offsets[ul - 1];
      d.array() *= S(1) - acts[ul].array().square();
      Eigen::Map<Matrix<S>>(grad.data() + offset, sizes_[l], sizes_[l - 1]).noalias() += d.transpose() * acts[ul - 1];
      grad.segment(offset + sizes_[l] * sizes_[l - 1], sizes_[l]) += d.colwise().sum().transpose();
      if (l > 1) d = d * weight(params, l, offset);
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
      offset += sizes_[l] * sizes_[l - 1] + sizes_[l];
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
  std::vector<Index> sizes_;  // input, layer 1, ..., layer L
};

}  // namespace bilevel
