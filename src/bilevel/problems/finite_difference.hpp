#pragma once
// Finite-difference checks of a problem's oracles in double precision. Each check compares a
// directional derivative computed from the oracle with a central difference of the function it
// differentiates, along random directions:
//   map_vjp_w:      d^T (d_w Phi^T u)       vs  u^T [Phi(w + e d) - Phi(w - e d)] / 2e
//   map_vjp_lambda: d^T (d_lambda Phi^T u)  vs  u^T [Phi(l + e d) - Phi(l - e d)] / 2e
//   outer grad_w / grad_lambda              vs  [E(w + e d) - E(w - e d)] / 2e
// and, for a lower-level minimisation, ll_grad against ll_value, ll_hvp against ll_grad and
// ll_mixed_vjp against ll_grad in lambda. Oracles must also be pure: two equal calls, equal results.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "bilevel/core/rng.hpp"
#include "bilevel/problems/problem.hpp"

namespace bilevel {

struct FiniteDifferenceOptions {
  double epsilon = 1e-5;      // central-difference step (truncation ~eps^2, rounding ~1e-16/eps)
  double tolerance = 1e-6;    // largest relative error accepted
  int directions = 3;         // random directions per oracle
  std::uint64_t seed = 12345;
};

struct FiniteDifferenceCheck {
  std::string oracle;
  double analytic = 0;
  double numeric = 0;
  double relative_error = 0;
  bool passed = false;
};

struct FiniteDifferenceReport {
  std::vector<FiniteDifferenceCheck> checks;
  bool passed() const {
    return !checks.empty() && std::all_of(checks.begin(), checks.end(), [](const auto& c) { return c.passed; });
  }
  double worst_error() const {
    double worst = 0;
    for (const auto& c : checks) worst = std::max(worst, c.relative_error);
    return worst;
  }
  std::string summary() const {
    std::string s;
    for (const auto& c : checks)
      s += fmt::format("{:<22} analytic {:+.10e}  numeric {:+.10e}  rel.err {:.2e} {}\n", c.oracle, c.analytic,
                       c.numeric, c.relative_error, c.passed ? "ok" : "FAILED");
    return s;
  }
};

namespace detail {

class FiniteDifferenceRecorder {
 public:
  explicit FiniteDifferenceRecorder(const FiniteDifferenceOptions& o) : o_(o), rng_(o.seed) {}

  Vector<double> random(Index n) {
    Vector<double> x(n);
    for (Index i = 0; i < n; ++i) x(i) = rng_.normal();
    return x;
  }
  void record(std::string oracle, double analytic, double numeric) {
    const double scale = std::max({std::abs(analytic), std::abs(numeric), 1e-8});
    const double err = std::abs(analytic - numeric) / scale;
    report_.checks.push_back({std::move(oracle), analytic, numeric, err, err <= o_.tolerance && std::isfinite(err)});
  }
  void record_equal(std::string oracle, const Vector<double>& a, const Vector<double>& b) {
    const double diff = (a - b).norm();
    report_.checks.push_back({std::move(oracle), a.norm(), b.norm(), diff, diff == 0.0});
  }
  // Central difference of a vector function along d, projected on u.
  template <class F>
  double directional(F&& f, const Vector<double>& x, const Vector<double>& d, const Vector<double>& u) {
    const double e = o_.epsilon;
    const Vector<double> xp = x + e * d, xm = x - e * d;
    return u.dot(f(xp) - f(xm)) / (2 * e);
  }
  template <class F>
  double directional_scalar(F&& f, const Vector<double>& x, const Vector<double>& d) {
    const double e = o_.epsilon;
    const Vector<double> xp = x + e * d, xm = x - e * d;
    return (f(xp) - f(xm)) / (2 * e);
  }
  const FiniteDifferenceOptions& options() const { return o_; }
  FiniteDifferenceReport take() { return std::move(report_); }

 private:
  FiniteDifferenceOptions o_;
  Rng rng_;
  FiniteDifferenceReport report_;
};

// The checks of the upper-level oracle, shared by both problem forms.
template <class P>
void check_outer(const P& p, const Vector<double>& w, const Vector<double>& lambda, Batch ul,
                 FiniteDifferenceRecorder& rec) {
  Vector<double> gw(p.dim_w()), gl(p.dim_lambda());
  p.outer(w, lambda, ul, &gw, &gl);
  for (int k = 0; k < rec.options().directions; ++k) {
    const Vector<double> dw = rec.random(p.dim_w()), dl = rec.random(p.dim_lambda());
    rec.record("outer grad_w", gw.dot(dw), rec.directional_scalar([&](const Vector<double>& x) {
      return p.outer(x, lambda, ul, nullptr, nullptr);
    }, w, dw));
    rec.record("outer grad_lambda", gl.dot(dl), rec.directional_scalar([&](const Vector<double>& x) {
      return p.outer(w, x, ul, nullptr, nullptr);
    }, lambda, dl));
  }
  Vector<double> gw2(p.dim_w()), gl2(p.dim_lambda());
  p.outer(w, lambda, ul, &gw2, &gl2);
  rec.record_equal("outer is pure", gw, gw2);
}

}  // namespace detail

// All five oracles of a fixed-point problem at (w, lambda) on the given minibatches.
template <BilevelProblem P>
  requires std::same_as<typename P::Scalar, double>
FiniteDifferenceReport check_oracles(const P& p, const Vector<double>& w, const Vector<double>& lambda, Batch ll,
                                     Batch ul, const FiniteDifferenceOptions& options = {}) {
  detail::FiniteDifferenceRecorder rec(options);
  const Index d = p.dim_w(), m = p.dim_lambda();
  auto phi_of_w = [&](const Vector<double>& x) { Vector<double> o(d); p.map(x, lambda, ll, o); return o; };
  auto phi_of_lambda = [&](const Vector<double>& x) { Vector<double> o(d); p.map(w, x, ll, o); return o; };
  for (int k = 0; k < options.directions; ++k) {
    const Vector<double> u = rec.random(d), dw = rec.random(d), dl = rec.random(m);
    Vector<double> jw(d), jl(m);
    p.map_vjp_w(w, lambda, u, ll, jw);
    p.map_vjp_lambda(w, lambda, u, ll, jl);
    rec.record("map_vjp_w", jw.dot(dw), rec.directional(phi_of_w, w, dw, u));
    rec.record("map_vjp_lambda", jl.dot(dl), rec.directional(phi_of_lambda, lambda, dl, u));
  }
  rec.record_equal("map is pure", phi_of_w(w), phi_of_w(w));
  detail::check_outer(p, w, lambda, ul, rec);
  return rec.take();
}

// The lower-level oracles of a minimisation problem (gradient, Hessian-vector and mixed products) and
// its outer oracle.
template <MinimizationProblem P>
  requires std::same_as<typename P::Scalar, double>
FiniteDifferenceReport check_minimization_oracles(const P& p, const Vector<double>& w, const Vector<double>& lambda,
                                                  Batch ll, Batch ul, const FiniteDifferenceOptions& options = {}) {
  detail::FiniteDifferenceRecorder rec(options);
  const Index d = p.dim_w(), m = p.dim_lambda();
  auto grad_of_w = [&](const Vector<double>& x) { Vector<double> o(d); p.ll_grad(x, lambda, ll, o); return o; };
  auto grad_of_lambda = [&](const Vector<double>& x) { Vector<double> o(d); p.ll_grad(w, x, ll, o); return o; };
  Vector<double> g(d);
  p.ll_grad(w, lambda, ll, g);
  for (int k = 0; k < options.directions; ++k) {
    const Vector<double> u = rec.random(d), dw = rec.random(d), dl = rec.random(m);
    rec.record("ll_grad", g.dot(dw), rec.directional_scalar([&](const Vector<double>& x) {
      return p.ll_value(x, lambda, ll);
    }, w, dw));
    Vector<double> hu(d), mu(m);
    p.ll_hvp(w, lambda, u, ll, hu);
    p.ll_mixed_vjp(w, lambda, u, ll, mu);
    rec.record("ll_hvp", hu.dot(dw), rec.directional(grad_of_w, w, dw, u));
    rec.record("ll_mixed_vjp", mu.dot(dl), rec.directional(grad_of_lambda, lambda, dl, u));
  }
  rec.record_equal("ll_grad is pure", grad_of_w(w), grad_of_w(w));
  detail::check_outer(p, w, lambda, ul, rec);
  return rec.take();
}

}  // namespace bilevel
