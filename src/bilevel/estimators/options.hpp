#pragma once
// Options of the one hypergradient estimator (DESIGN.md section 2). Every published method is a
// setting of these fields; defaults give deterministic AID with fixed-point iterations.
//
// The estimator computes, at lambda,
//   1. w_t:  t steps  w <- (1 - eta_i) w + eta_i Phi-hat(w, lambda, zeta_i)          (lower level, LL)
//   2. v_k:  k steps of a solver for  v = d_w Phi(w_t)^T v + grad_w E(w_t)            (linear system, LS)
//   3. h  =  grad_lambda E-hat(w_t, lambda, xi) + d_lambda Phi-hat(w_t, lambda, zeta')^T v_k
// with independent minibatches zeta_i, zeta-hat_j (one per LS step), xi and zeta' (J samples): this is
// SID, Algorithm 1 of Grazzi, Pontil, Salzo (JMLR 2023). Reverse mode replaces 2-3 by
// backpropagation through the stored LL trajectory (ITD).
#include <cstdint>
#include <string>
#include <string_view>

#include "bilevel/core/error.hpp"
#include "bilevel/core/sampler.hpp"
#include "bilevel/estimators/step_schedule.hpp"

namespace bilevel {

struct LowerLevelOptions {
  // t (N in the loops paper): lower-level iterations per hypergradient. >= 1.
  int iterations = 100;
  // eta_i of w <- (1 - eta_i) w + eta_i Phi-hat. step 1 with no decay is the plain fixed-point map.
  StepSchedule step{};
  // Minibatch of zeta per iteration; 0 = the whole population (deterministic LL).
  Index batch_size = 0;
  Sampling sampling = Sampling::kWithoutReplacement;
  // Start from the caller's state (the last solution) instead of the cold start point (zero, or the
  // point given to HypergradientEstimator::set_ll_initial_point).
  bool warm_start = false;
  // Continue the step schedule where the previous call stopped (the schedule's own warm start).
  bool warm_start_schedule = false;
  // Stop early once ||Phi-hat(w) - w|| <= tolerance (1 + ||w||); 0 always runs t steps. Meant for
  // deterministic solves (evaluation): on minibatches the residual is noisy.
  double tolerance = 0.0;
};

enum class LinearSystemMethod {
  kFixedPoint,         // v <- (1 - eta_j) v + eta_j (d_w Phi-hat^T v + g): SID; stochastic gradient descent on the LS
  kConjugateGradient,  // CG on (I - d_w Phi^T) v = g; needs a symmetric d_w Phi; one minibatch for all steps
  kNeumann,            // v = eta sum_{q=0..k} (I - eta (I - d_w Phi^T))^q g, fresh minibatch per term (stocBiO, BSA)
  kReverseMode,        // ITD: backpropagation through the stored LL trajectory; no LS solve
};

enum class LinearSystemStart {
  kZero,           // v_0 = 0 (hypertorch)
  kOuterGradient,  // v_0 = grad_w E-hat (the warm-start paper's code)
};

struct LinearSystemOptions {
  LinearSystemMethod method = LinearSystemMethod::kFixedPoint;
  // k (Q in the loops paper): LS iterations, or Neumann terms after the first. Ignored by reverse mode.
  int iterations = 100;
  // eta_j of the fixed-point LS solver; the constant eta of the Neumann series (no decay allowed).
  StepSchedule step{};
  // Minibatch of zeta for each LS step (a fresh one per step); 0 = the whole population.
  Index batch_size = 0;
  Sampling sampling = Sampling::kWithoutReplacement;
  // v_0 when not warm-started.
  LinearSystemStart start = LinearSystemStart::kZero;
  // Start from the caller's state (the last LS solution).
  bool warm_start = false;
  // Draw a fresh minibatch xi (of the configured outer_batch_size) for grad_w E at every LS step instead
  // of one for the whole solve: the LS then averages the outer noise away as it does the LL's.
  bool resample_outer_gradient = false;
  // CG and fixed point: stop once the residual ||(I - d_w Phi^T) v - g|| <= tolerance * ||g||; 0 runs all
  // iterations. Meant for deterministic solves (evaluation): on minibatches the residual is noisy.
  double tolerance = 0.0;
};

struct EstimatorOptions {
  LowerLevelOptions ll;
  LinearSystemOptions ls;
  // Minibatch of xi for E-hat and its gradients; 0 = the whole upper-level population.
  Index outer_batch_size = 0;
  Sampling outer_sampling = Sampling::kWithoutReplacement;
  // J: minibatch of zeta' for the cross term d_lambda Phi-hat^T v; 0 = the whole population.
  Index cross_batch_size = 0;
  Sampling cross_sampling = Sampling::kWithoutReplacement;

  // Throws InvalidOptions naming the field when a value is out of range or does not fit the problem.
  void validate(Index ll_population, Index ul_population, bool jacobian_symmetric) const;
};

std::string_view to_string(LinearSystemMethod m);
std::string_view to_string(LinearSystemStart s);
std::string_view to_string(Sampling s);

}  // namespace bilevel
