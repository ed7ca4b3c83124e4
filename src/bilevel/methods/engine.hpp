#pragma once
// Which estimator and evaluator serve a problem: the one HypergradientEstimator directly for a
// BilevelProblem, through a minibatch of blocks for a SeparableProblem (estimators/separable_estimator.hpp).
#include <memory>
#include <type_traits>

#include "bilevel/estimators/hypergradient.hpp"
#include "bilevel/estimators/separable_estimator.hpp"
#include "bilevel/methods/evaluator.hpp"
#include "bilevel/problems/separable.hpp"

namespace bilevel {

template <class P>
concept AnyBilevelProblem = BilevelProblem<P> || SeparableProblem<P>;

// Metrics of a separable problem: the accurate evaluation of the view of all its blocks. Its counts
// give example_evals per block touched, as the estimator's do.
template <SeparableProblem P>
class SeparableEvaluator {
 public:
  using S = typename P::Scalar;

  SeparableEvaluator(const P& problem, EvaluationOptions options)
      : view_(make_full_view(problem)), evaluator_(*view_, options), n_(problem.num_blocks()) {}

  Evaluation<S> evaluate(ConstVectorRef<S> lambda, double alpha) { return evaluator_.evaluate(lambda, alpha); }
  void save(ArchiveWriter& a) const { evaluator_.save(a); }
  void load(ArchiveReader& a) { evaluator_.load(a); }
  OracleCounts counts() const {
    OracleCounts c = evaluator_.counts();
    c.samples_ll *= n_;
    c.samples_ul *= n_;
    c.example_evals *= n_;
    return c;
  }

 private:
  static std::unique_ptr<BlockBatchView<P>> make_full_view(const P& problem) {
    auto v = std::make_unique<BlockBatchView<P>>(problem);
    v->set_all_blocks();
    return v;
  }
  std::unique_ptr<BlockBatchView<P>> view_;  // stable address for the evaluator's reference
  Evaluator<BlockBatchView<P>> evaluator_;
  Index n_;
};

template <class P>
struct EngineFor {
  using Estimator = HypergradientEstimator<P>;
  using Evaluator = bilevel::Evaluator<P>;
  static Index ll_population(const P& p) { return p.ll_population(); }
  static Index ul_population(const P& p) { return p.ul_population(); }
};

template <SeparableProblem P>
struct EngineFor<P> {
  using Estimator = SeparableHypergradientEstimator<P>;
  using Evaluator = SeparableEvaluator<P>;
  static Index ll_population(const P& p) { return p.num_blocks(); }
  static Index ul_population(const P& p) { return p.num_blocks(); }
};

}  // namespace bilevel
