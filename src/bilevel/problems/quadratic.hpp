#pragma once
// Synthetic quadratic bilevel problems with closed-form w(lambda), f(lambda) and grad f(lambda): the
// ground truth against which every estimator is tested.
//
// Upper level (both forms):  E(w, lambda) = 1/2 w^T P w + w^T Q lambda + 1/2 lambda^T R lambda + p^T w,
//                            R = Q^T P^{-1} Q + mu I, so E is jointly convex in (w, lambda) (its Schur
//                            complement is mu I) and f(lambda) = E(w(lambda), lambda) is mu-strongly
//                            convex: a unique minimiser, and the outer loop has a known target.
// Lower level, two forms:
//   QuadraticMinimization:  g(w, lambda) = 1/2 w^T H w + w^T (K lambda + b),  H symmetric positive definite
//                           (use with MinimizationAdapter: Phi = w - gamma grad_w g, symmetric Jacobian)
//   QuadraticFixedPoint:    Phi(w, lambda) = M w + N lambda + c,  ||M||_2 = q < 1, M not symmetric
//
// Stochastic version: each sample id carries its own Gaussian perturbation of the data (H, K, b or
// M, N, c below; Q, p above), of mean zero and entry variance noise^2 / columns, so every oracle is
// noisy yet unbiased and consistent with its derivatives. A minibatch averages its samples, so the
// noise variance falls as 1/batch. Noisy problems draw from an unbounded stream of samples; exact ones
// have a single example (id 0). A minibatch's perturbed data and the oracles' temporaries live in
// scratch memory (core/scratch.hpp), so the oracles allocate nothing after their first call.
#include <Eigen/Dense>
#include <cmath>
#include <memory>

#include "bilevel/core/constraints.hpp"
#include "bilevel/core/error.hpp"
#include "bilevel/core/rng.hpp"
#include "bilevel/core/sampler.hpp"
#include "bilevel/core/scratch.hpp"
#include "bilevel/problems/problem.hpp"

namespace bilevel {

struct QuadraticOptions {
  Index dim_w = 20;          // dimension of the lower-level variable w
  Index dim_lambda = 5;      // dimension of the upper-level variable lambda
  double contraction = 0.8;  // q = ||d_w Phi||_2 (minimisation form: 1 - mu/L with gamma = 1/L, L = 1)
  double noise_ll = 0.0;     // standard deviation of the lower-level oracles' noise (0 = deterministic)
  double noise_ul = 0.0;     // standard deviation of the upper-level oracles' noise (0 = deterministic)
  double outer_reg = 0.1;    // mu, the strong convexity of f
  std::uint64_t seed = 0;    // draws the problem's data and its noise

  void validate() const {
    if (dim_w <= 0 || dim_lambda <= 0) throw InvalidOptions("quadratic problem: dim_w and dim_lambda must be > 0");
    if (!(contraction >= 0 && contraction < 1))
      throw InvalidOptions("quadratic problem: contraction must be in [0, 1), got " + std::to_string(contraction));
    if (!(noise_ll >= 0) || !(noise_ul >= 0)) throw InvalidOptions("quadratic problem: noise must be >= 0");
    if (!(outer_reg >= 0)) throw InvalidOptions("quadratic problem: outer_reg must be >= 0");
  }
};

namespace detail {

// Adds to each block sigma times the batch mean of per-sample standard-normal matrices whose entries
// are scaled by 1/sqrt(columns) (so a d x d block has spectral norm about 2 sigma).
template <class S, class... Blocks>
void add_batch_noise(std::uint64_t key, Batch batch, double sigma, Blocks&... blocks) {
  if (sigma == 0 || batch.empty()) return;
  const double inv_b = 1.0 / static_cast<double>(batch.size());
  for (SampleId id : batch) {
    Rng rng = sample_rng(key, id);
    auto fill = [&](auto& m) {
      const double scale = sigma * inv_b / std::sqrt(static_cast<double>(m.cols()));
      for (Index j = 0; j < m.cols(); ++j)
        for (Index i = 0; i < m.rows(); ++i) m(i, j) += static_cast<S>(scale * rng.normal());
    };
    (fill(blocks), ...);
  }
}

// A copy of `m` in the calling thread's scratch buffer of Tag: the data a minibatch perturbs.
template <class Tag, class Dense>
ScratchMatrix<typename Dense::Scalar> scratch_copy(const Dense& m) {
  auto copy = scratch_matrix<Tag, typename Dense::Scalar>(m.rows(), m.cols());
  copy = m;
  return copy;
}

inline Matrix<double> gaussian(Rng& rng, Index rows, Index cols, double scale) {
  Matrix<double> m(rows, cols);
  for (Index j = 0; j < cols; ++j)
    for (Index i = 0; i < rows; ++i) m(i, j) = scale * rng.normal();
  return m;
}

inline Matrix<double> random_orthogonal(Rng& rng, Index n) {
  Eigen::HouseholderQR<Matrix<double>> qr(gaussian(rng, n, n, 1.0));
  return qr.householderQ() * Matrix<double>::Identity(n, n);
}

}  // namespace detail

// The upper level shared by both forms.
template <class S>
class QuadraticUpper {
 public:
  QuadraticUpper(const QuadraticOptions& o, Rng& rng, std::uint64_t noise_key)
      : noise_(o.noise_ul), key_(noise_key) {
    const Matrix<double> b = detail::gaussian(rng, o.dim_w, o.dim_w, 1.0 / std::sqrt(double(o.dim_w)));
    P_ = (b * b.transpose() + 0.1 * Matrix<double>::Identity(o.dim_w, o.dim_w)).template cast<S>();
    Q_ = detail::gaussian(rng, o.dim_w, o.dim_lambda, 1.0 / std::sqrt(double(o.dim_lambda))).template cast<S>();
    p_ = detail::gaussian(rng, o.dim_w, 1, 1.0).template cast<S>();
    const Matrix<double> q = Q_.template cast<double>();
    const Matrix<double> r = q.transpose() * P_.template cast<double>().ldlt().solve(q) +
                             o.outer_reg * Matrix<double>::Identity(o.dim_lambda, o.dim_lambda);
    R_ = (0.5 * (r + r.transpose())).template cast<S>();
  }

  Index population() const { return noise_ > 0 ? kUnboundedPopulation : 1; }

  S value_and_grads(ConstVectorRef<S> w, ConstVectorRef<S> lambda, Batch batch, Vector<S>* grad_w,
                    Vector<S>* grad_lambda) const {
    if (noise_ == 0) return evaluate(Q_, p_, w, lambda, grad_w, grad_lambda);
    auto q = detail::scratch_copy<NoisyQ>(Q_);
    auto p = detail::scratch_copy<NoisyP>(p_);
    detail::add_batch_noise<S>(key_, batch, noise_, q, p);
    return evaluate(q, p, w, lambda, grad_w, grad_lambda);
  }

  // The exact solution given the mean fixed-point form Phi(w, lambda) = M w + N lambda + c.
  ExactSolution<S> exact(const Matrix<S>& M, const Matrix<S>& N, const Vector<S>& c, ConstVectorRef<S> lambda) const {
    const Index d = M.rows();
    const Matrix<S> a = Matrix<S>::Identity(d, d) - M;
    ExactSolution<S> x;
    x.w = a.partialPivLu().solve(N * lambda + c);
    Vector<S> gw, gl;
    x.value = evaluate(Q_, p_, x.w, lambda, &gw, &gl);
    x.v = a.transpose().partialPivLu().solve(gw);
    x.hypergradient = gl + N.transpose() * x.v;
    return x;
  }

 private:
  struct NoisyQ;
  struct NoisyP;
  struct Pw;
  struct Ql;
  struct Rl;

  S evaluate(Eigen::Ref<const Matrix<S>> q, Eigen::Ref<const Matrix<S>> p, ConstVectorRef<S> w, ConstVectorRef<S> lambda,
             Vector<S>* grad_w, Vector<S>* grad_lambda) const {
    auto pw = scratch_vector<Pw, S>(w.size());
    auto ql = scratch_vector<Ql, S>(w.size());
    auto rl = scratch_vector<Rl, S>(lambda.size());
    pw.noalias() = P_ * w;
    ql.noalias() = q * lambda;
    rl.noalias() = R_ * lambda;
    if (grad_w) *grad_w = pw + ql + p.col(0);
    if (grad_lambda) {
      grad_lambda->noalias() = q.transpose() * w;
      *grad_lambda += rl;
    }
    return S(0.5) * w.dot(pw) + w.dot(ql) + p.col(0).dot(w) + S(0.5) * lambda.dot(rl);
  }

  double noise_;
  std::uint64_t key_;
  Matrix<S> P_, Q_, R_;
  Vector<S> p_;
};

// Shared pieces of both forms: options, data streams, the constraint set.
template <class S>
class QuadraticBase {
 public:
  using Scalar = S;
  explicit QuadraticBase(const QuadraticOptions& o)
      : options_((o.validate(), o)),
        data_rng_(RandomStreams(o.seed).stream("quadratic/data")),
        ll_key_(RandomStreams(o.seed).key("quadratic/noise_ll")),
        upper_(o, data_rng_, RandomStreams(o.seed).key("quadratic/noise_ul")),
        constraint_(std::make_shared<Unconstrained<S>>()) {}

  const QuadraticOptions& options() const { return options_; }
  Index dim_w() const { return options_.dim_w; }
  Index dim_lambda() const { return options_.dim_lambda; }
  Index ll_population() const { return options_.noise_ll > 0 ? kUnboundedPopulation : 1; }
  Index ul_population() const { return upper_.population(); }
  const ConstraintSet<S>& constraint() const { return *constraint_; }
  void set_constraint(std::shared_ptr<const ConstraintSet<S>> c) { constraint_ = std::move(c); }

  S outer(ConstVectorRef<S> w, ConstVectorRef<S> lambda, Batch b, Vector<S>* grad_w, Vector<S>* grad_lambda) const {
    return upper_.value_and_grads(w, lambda, b, grad_w, grad_lambda);
  }

 protected:
  QuadraticOptions options_;
  Rng data_rng_;  // used only while the derived constructor draws the data
  std::uint64_t ll_key_;
  QuadraticUpper<S> upper_;
  std::shared_ptr<const ConstraintSet<S>> constraint_;
};

// Lower level g(w, lambda) = 1/2 w^T H w + w^T (K lambda + b), eigenvalues of H evenly spread in
// [1 - q, 1], so that gamma = 1 gives the contraction constant q.
template <class S>
class QuadraticMinimization : public QuadraticBase<S> {
  using Base = QuadraticBase<S>;

 public:
  explicit QuadraticMinimization(const QuadraticOptions& o) : Base(o) {
    const Index d = o.dim_w;
    const Matrix<double> u = detail::random_orthogonal(this->data_rng_, d);
    Vector<double> eig(d);
    for (Index i = 0; i < d; ++i) eig(i) = d == 1 ? 1.0 : 1.0 - o.contraction * double(i) / double(d - 1);
    H_ = (u * eig.asDiagonal() * u.transpose()).template cast<S>();
    H_ = S(0.5) * (H_ + H_.transpose()).eval();
    K_ = detail::gaussian(this->data_rng_, d, o.dim_lambda, 1.0 / std::sqrt(double(o.dim_lambda))).template cast<S>();
    b_ = detail::gaussian(this->data_rng_, d, 1, 1.0).template cast<S>();
  }

  S ll_value(ConstVectorRef<S> w, ConstVectorRef<S> lambda, Batch batch) const {
    return with_noise(batch, [&](const auto& h, const auto& k, const auto& b) {
      auto t = scratch_vector<Product, S>(w.size());
      t.noalias() = h * w;
      S value = S(0.5) * w.dot(t);
      t.noalias() = k * lambda;
      return value + w.dot(t) + w.dot(b.col(0));
    });
  }
  void ll_grad(ConstVectorRef<S> w, ConstVectorRef<S> lambda, Batch batch, VectorRef<S> out) const {
    with_noise(batch, [&](const auto& h, const auto& k, const auto& b) {
      out.noalias() = h * w;
      out.noalias() += k * lambda;
      out += b.col(0);
      return 0;
    });
  }
  void ll_hvp(ConstVectorRef<S>, ConstVectorRef<S>, ConstVectorRef<S> u, Batch batch, VectorRef<S> out) const {
    with_noise(batch, [&](const auto& h, const auto&, const auto&) {
      out.noalias() = h * u;
      return 0;
    });
  }
  void ll_mixed_vjp(ConstVectorRef<S>, ConstVectorRef<S>, ConstVectorRef<S> u, Batch batch, VectorRef<S> out) const {
    with_noise(batch, [&](const auto&, const auto& k, const auto&) {
      out.noalias() = k.transpose() * u;
      return 0;
    });
  }

  // Exact solution of the fixed-point form Phi = w - gamma grad_w g.
  ExactSolution<S> exact(ConstVectorRef<S> lambda, S gamma) const {
    const Index d = H_.rows();
    const Matrix<S> m = Matrix<S>::Identity(d, d) - gamma * H_;
    return this->upper_.exact(m, Matrix<S>(-gamma * K_), Vector<S>(-gamma * b_), lambda);
  }
  const Matrix<S>& hessian() const { return H_; }

 private:
  template <class F>
  auto with_noise(Batch batch, F&& f) const {
    if (this->options_.noise_ll == 0) return f(H_, K_, b_);
    auto e = scratch_matrix<NoiseH, S>(H_.rows(), H_.cols());
    e.setZero();
    auto k = detail::scratch_copy<NoisyK>(K_);
    auto b = detail::scratch_copy<NoisyB>(b_);
    detail::add_batch_noise<S>(this->ll_key_, batch, this->options_.noise_ll, e, k, b);
    auto h = scratch_matrix<NoisyH, S>(H_.rows(), H_.cols());
    h = H_ + S(0.5) * (e + e.transpose());  // symmetric noise keeps g a quadratic
    return f(h, k, b);
  }

  struct NoiseH;
  struct NoisyH;
  struct NoisyK;
  struct NoisyB;
  struct Product;

  Matrix<S> H_, K_;
  Vector<S> b_;
};

// Lower level Phi(w, lambda) = M w + N lambda + c with M a random non-symmetric matrix of spectral
// norm q: exercises the transposes that a symmetric Jacobian would hide.
template <class S>
class QuadraticFixedPoint : public QuadraticBase<S> {
  using Base = QuadraticBase<S>;

 public:
  explicit QuadraticFixedPoint(const QuadraticOptions& o) : Base(o) {
    const Index d = o.dim_w;
    const Matrix<double> u = detail::random_orthogonal(this->data_rng_, d);
    const Matrix<double> v = detail::random_orthogonal(this->data_rng_, d);
    Vector<double> s(d);
    for (Index i = 0; i < d; ++i) s(i) = d == 1 ? o.contraction : o.contraction * (1.0 - 0.9 * double(i) / double(d - 1));
    M_ = (u * s.asDiagonal() * v.transpose()).template cast<S>();
    N_ = detail::gaussian(this->data_rng_, d, o.dim_lambda, 1.0 / std::sqrt(double(o.dim_lambda))).template cast<S>();
    c_ = detail::gaussian(this->data_rng_, d, 1, 1.0).template cast<S>();
  }

  bool jacobian_w_symmetric() const { return false; }

  void map(ConstVectorRef<S> w, ConstVectorRef<S> lambda, Batch batch, VectorRef<S> out) const {
    with_noise(batch, [&](const auto& m, const auto& n, const auto& c) {
      out.noalias() = m * w;
      out.noalias() += n * lambda;
      out += c.col(0);
    });
  }
  void map_vjp_w(ConstVectorRef<S>, ConstVectorRef<S>, ConstVectorRef<S> u, Batch batch, VectorRef<S> out) const {
    with_noise(batch, [&](const auto& m, const auto&, const auto&) { out.noalias() = m.transpose() * u; });
  }
  void map_vjp_lambda(ConstVectorRef<S>, ConstVectorRef<S>, ConstVectorRef<S> u, Batch batch, VectorRef<S> out) const {
    with_noise(batch, [&](const auto&, const auto& n, const auto&) { out.noalias() = n.transpose() * u; });
  }

  ExactSolution<S> exact(ConstVectorRef<S> lambda) const { return this->upper_.exact(M_, N_, c_, lambda); }

 private:
  template <class F>
  void with_noise(Batch batch, F&& f) const {
    if (this->options_.noise_ll == 0) return f(M_, N_, c_);
    auto m = detail::scratch_copy<NoisyM>(M_);
    auto n = detail::scratch_copy<NoisyN>(N_);
    auto c = detail::scratch_copy<NoisyC>(c_);
    detail::add_batch_noise<S>(this->ll_key_, batch, this->options_.noise_ll, m, n, c);
    f(m, n, c);
  }

  struct NoisyM;
  struct NoisyN;
  struct NoisyC;

  Matrix<S> M_, N_;
  Vector<S> c_;
};

}  // namespace bilevel
